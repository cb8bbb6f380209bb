// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title BaselineEscrow — a straightforward milestone escrow, for the gas benchmark only.
/// @notice Keeps each engagement as a struct in storage with a dynamic array of milestone structs,
///         plain uint256 fields, pull payments and a fee to a treasury: the way such a contract is
///         usually first written. ETH only; enough of the lifecycle to compare create, submit,
///         approve and withdraw with SkillEscrow.
contract BaselineEscrow {
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
        bytes32 termsDigest;
        Milestone[] milestones;
    }

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

    constructor(address treasury_) {
        treasury = treasury_;
    }

    /// @notice Creates an ETH engagement funded by the caller.
    function createEngagement(
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] calldata dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest
    ) external payable returns (uint256 id) {
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
