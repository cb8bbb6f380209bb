// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

/// @title BaselineEscrow — a straightforward milestone escrow, for the gas benchmark only.
/// @notice Keeps each engagement as a struct in storage with a dynamic array of milestone structs,
///         plain uint256 fields, pull payments and a fee to a treasury: the way such a contract is
///         usually first written. ETH only; enough of the lifecycle to compare create, accept,
///         create-from-a-signed-offer, submit, approve and withdraw with SkillEscrow. The accept and
///         offer functions are the plain version too: a bool in the struct, OpenZeppelin's EIP712 and
///         ECDSA, and a use counter per offer hash.
contract BaselineEscrow is EIP712 {
    struct Milestone {
        uint256 amount;
        uint256 dueDate;
        uint256 releasableAt;
        uint8 status; // 0 funded, 1 submitted, 2 released
    }

    struct Engagement {
        address client;
        address provider;
        address payer;
        address token;
        address arbiter;
        uint256 feeBps;
        uint256 reviewWindow;
        bool disputed;
        bool accepted;
        bytes32 termsDigest;
        Milestone[] milestones;
    }

    struct Offer {
        address provider;
        address client;
        address token;
        uint256[] amounts;
        uint64[] dueDates;
        uint32 sessionLength;
        uint32 grace;
        uint32 minNotice;
        uint32 horizon;
        uint32 reviewWindow;
        address arbiter;
        bytes32 termsDigest;
        uint256 nonce;
        uint32 uses;
        uint64 validUntil;
    }

    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(address provider,address client,address token,uint256[] amounts,uint64[] dueDates,uint32 sessionLength,uint32 grace,uint32 minNotice,uint32 horizon,uint32 reviewWindow,address arbiter,bytes32 termsDigest,uint256 nonce,uint32 uses,uint64 validUntil)"
    );
    mapping(bytes32 => uint256) public offerUses;

    mapping(uint256 => Engagement) internal engagements;
    mapping(address => uint256) public owed;
    uint256 public nextId;
    address public treasury;
    uint256 public feeBps = 250;

    event EngagementCreated(
        uint256 indexed id,
        address indexed client,
        address indexed provider,
        address arbiter,
        uint256 feeBps,
        uint256 reviewWindow,
        uint256[] amounts,
        uint64[] dueDates,
        bytes32 termsDigest
    );
    event MilestoneSubmitted(uint256 indexed id, uint256 index, bytes32 deliverableDigest, uint256 releasableAt);
    event MilestoneReleased(uint256 indexed id, uint256 index, uint256 amount, uint256 fee);
    event Withdrawn(address indexed account, uint256 amount);
    event EngagementAccepted(uint256 indexed id);
    event OfferUsed(uint256 indexed id, address indexed provider, uint256 nonce, bytes32 bookingRef);

    constructor(address treasury_) EIP712("BaselineEscrow", "1") {
        treasury = treasury_;
    }

    /// @notice Creates an ETH engagement funded by the caller (a request: the provider accepts it).
    function createEngagement(
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] calldata dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest
    ) external payable returns (uint256 id) {
        uint64[] memory dues = dueDates;
        id = _create(provider, token, amounts, dues, reviewWindow, arbiter, termsDigest, false);
    }

    /// @notice The provider accepts a request.
    function acceptEngagement(uint256 id) external {
        Engagement storage e = engagements[id];
        require(msg.sender == e.provider, "provider");
        require(!e.accepted, "accepted");
        for (uint256 i; i < e.milestones.length; ++i) {
            require(e.milestones[i].dueDate >= block.timestamp, "late");
        }
        e.accepted = true;
        emit EngagementAccepted(id);
    }

    /// @notice Funds an offer the provider signed; accepted from the start.
    function createEngagementWithOffer(
        Offer calldata offer,
        bytes calldata signature,
        uint64 startsAt,
        bytes32 bookingRef,
        uint64 deadline
    ) external payable returns (uint256 id) {
        require(block.timestamp <= deadline, "deadline");
        require(block.timestamp <= offer.validUntil, "expired");
        require(offer.client == address(0) || offer.client == msg.sender, "client");
        bytes32 structHash = keccak256(
            abi.encode(
                OFFER_TYPEHASH,
                offer.provider,
                offer.client,
                offer.token,
                keccak256(abi.encodePacked(offer.amounts)),
                keccak256(abi.encodePacked(offer.dueDates)),
                offer.sessionLength,
                offer.grace,
                offer.minNotice,
                offer.horizon,
                offer.reviewWindow,
                offer.arbiter,
                offer.termsDigest,
                offer.nonce,
                offer.uses,
                offer.validUntil
            )
        );
        bytes32 digest = _hashTypedDataV4(structHash);
        require(ECDSA.recover(digest, signature) == offer.provider, "signature");
        require(offerUses[digest] < offer.uses, "used up");
        offerUses[digest] += 1;
        uint64[] memory dues;
        if (offer.sessionLength == 0) {
            dues = offer.dueDates;
        } else {
            require(startsAt >= block.timestamp + offer.minNotice, "notice");
            require(offer.horizon == 0 || startsAt <= block.timestamp + offer.horizon, "horizon");
            dues = new uint64[](1);
            dues[0] = startsAt + offer.sessionLength + offer.grace;
        }
        id = _create(
            offer.provider, offer.token, offer.amounts, dues, offer.reviewWindow, offer.arbiter, offer.termsDigest, true
        );
        emit OfferUsed(id, offer.provider, offer.nonce, bookingRef);
    }

    function _create(
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] memory dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest,
        bool accepted
    ) internal returns (uint256 id) {
        require(provider != msg.sender, "self");
        require(token == address(0), "eth only");
        require(amounts.length == dueDates.length && amounts.length > 0, "lengths");
        id = ++nextId;
        Engagement storage e = engagements[id];
        e.client = msg.sender;
        e.provider = provider;
        e.payer = msg.sender;
        e.token = token;
        e.arbiter = arbiter;
        e.feeBps = feeBps;
        e.reviewWindow = reviewWindow;
        e.termsDigest = termsDigest;
        e.accepted = accepted;
        uint256 total;
        for (uint256 i; i < amounts.length; ++i) {
            require(dueDates[i] > block.timestamp, "due");
            e.milestones.push(Milestone(amounts[i], dueDates[i], 0, 0));
            total += amounts[i];
        }
        require(msg.value == total, "value");
        emit EngagementCreated(id, msg.sender, provider, arbiter, e.feeBps, reviewWindow, amounts, dueDates, termsDigest);
    }

    /// @notice Provider submits a milestone.
    function submitMilestone(uint256 id, uint256 index, bytes32 deliverableDigest) external {
        Engagement storage e = engagements[id];
        require(msg.sender == e.provider, "provider");
        require(e.accepted, "not accepted");
        require(!e.disputed, "disputed");
        Milestone storage m = e.milestones[index];
        require(m.status == 0, "status");
        m.status = 1;
        m.releasableAt = block.timestamp + e.reviewWindow;
        emit MilestoneSubmitted(id, index, deliverableDigest, m.releasableAt);
    }

    /// @notice Client approves a milestone.
    function approveMilestone(uint256 id, uint256 index) external {
        Engagement storage e = engagements[id];
        require(msg.sender == e.client, "client");
        require(e.accepted, "not accepted");
        require(!e.disputed, "disputed");
        Milestone storage m = e.milestones[index];
        require(m.status < 2, "status");
        m.status = 2;
        uint256 fee = m.amount * e.feeBps / 10_000;
        owed[e.provider] += m.amount - fee;
        owed[treasury] += fee;
        emit MilestoneReleased(id, index, m.amount - fee, fee);
    }

    /// @notice Pull payment.
    function withdraw() external {
        uint256 amount = owed[msg.sender];
        require(amount > 0, "nothing");
        owed[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = msg.sender.call{value: amount}("");
        require(ok, "send");
    }
}
