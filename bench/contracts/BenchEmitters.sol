// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Bench-only emitters: Skillchain's event signatures in bulk, forming coherent engagement
///        lifecycles (create, submit, release, review, credential), so the indexer's projections do
///        their real work. Never deployed outside benchmarks.

contract EscrowEventEmitter {
    event TreasuryUpdated(address indexed treasury);
    event EngagementCreated(
        uint256 indexed id, address indexed client, address indexed provider, address payer, address token,
        address arbiter, uint16 feeBps, uint32 reviewWindow, uint256[] amounts, uint64[] dueDates,
        bytes32 termsDigest, bytes32 externalRef
    );
    event MilestoneSubmitted(uint256 indexed id, uint256 index, bytes32 deliverableDigest, uint64 releasableAt);
    event MilestoneReleased(uint256 indexed id, uint256 index, address indexed provider, uint256 amount, uint256 fee);

    constructor(address treasury) {
        emit TreasuryUpdated(treasury);
    }

    /// @notice Emits create, submit and release for engagements [first, first + n).
    function lifecycles(uint256 first, uint256 n) external {
        uint256[] memory amounts = new uint256[](1);
        uint64[] memory dues = new uint64[](1);
        for (uint256 id = first; id < first + n; ++id) {
            address client = address(uint160(0x1000 + id % 5000));
            address provider = address(uint160(0x9000 + id % 1000));
            amounts[0] = 1e18 + id;
            dues[0] = uint64(block.timestamp + 7 days);
            emit EngagementCreated(id, client, provider, client, address(0), address(0xA), 250, 86400, amounts, dues,
                bytes32(id), bytes32(0));
            emit MilestoneSubmitted(id, 0, bytes32(id + 1), uint64(block.timestamp + 1 days));
            uint256 fee = amounts[0] * 250 / 10_000;
            emit MilestoneReleased(id, 0, provider, amounts[0] - fee, fee);
        }
    }
}

contract ReputationEventEmitter {
    event ReviewSubmitted(
        uint256 indexed engagementId, address indexed reviewer, address indexed subject, uint8 role, uint8 rating,
        bytes32 commentDigest
    );

    /// @notice The client reviews the provider of engagements [first, first + n).
    function reviews(uint256 first, uint256 n) external {
        for (uint256 id = first; id < first + n; ++id) {
            emit ReviewSubmitted(id, address(uint160(0x1000 + id % 5000)), address(uint160(0x9000 + id % 1000)), 0,
                uint8(1 + id % 5), bytes32(id));
        }
    }
}

contract CredentialEventEmitter {
    event CredentialIssued(
        uint256 indexed tokenId, address indexed holder, address indexed issuer, bytes32 skillId, uint64 issuedAt,
        uint64 expiresAt, uint256 engagementId
    );

    /// @notice The provider certifies the client of engagements [first, first + n).
    function credentials(uint256 first, uint256 n) external {
        for (uint256 id = first; id < first + n; ++id) {
            emit CredentialIssued(uint256(keccak256(abi.encode(id))), address(uint160(0x1000 + id % 5000)),
                address(uint160(0x9000 + id % 1000)), bytes32(id % 50), uint64(block.timestamp), 0, id);
        }
    }
}
