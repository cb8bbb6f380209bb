// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ISkillEscrow} from "./interfaces/ISkillEscrow.sol";

/// @title SkillEscrow — milestone escrow for skill engagements, paid in ETH or allow-listed ERC-20s
/// @notice Immutable (no proxy). Money moves only into internal balances (`owed`) and leaves through
///         `withdraw` / `withdrawTo`, so a recipient that reverts can never block anyone else.
/// @dev Storage is packed for cheap creation — two fresh slots for a one-milestone ETH engagement:
///      slot 0 holds the client, the terms and the first milestone's due date, slot 1 the provider and
///      the first milestone's amount. Everything that starts at zero (milestone states, the count of
///      closed milestones, `paid`, the open dispute) is written later, and the engagement's progress
///      shares the slot of milestone 0's progress. The arbiter is stored as a small id assigned when
///      ARBITER_ROLE is first granted, the payer only when it differs from the client, and the token
///      slot stays empty for ETH. Hence the bounds: amounts below 2^96, due dates before 2106.
contract SkillEscrow is ISkillEscrow, AccessControlDefaultAdminRules, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice May resolve the disputes of engagements that name it.
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    /// @notice May create engagements on behalf of clients (`fundFor`): the card-payment relayer.
    bytes32 public constant FUNDER_ROLE = keccak256("FUNDER_ROLE");
    /// @notice May pause and resume new engagements.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Highest protocol fee, in basis points.
    uint16 public constant MAX_FEE_BPS = 1_000;
    /// @notice Most milestones per engagement.
    uint256 public constant MAX_MILESTONES = 16;
    /// @notice Shortest review window.
    uint32 public constant MIN_REVIEW_WINDOW = 1 hours;
    /// @notice Longest review window.
    uint32 public constant MAX_REVIEW_WINDOW = 30 days;
    /// @notice Time the arbiter has before anyone may settle a dispute by the default rule.
    uint40 public constant DISPUTE_TIMEOUT = 14 days;

    uint256 private constant BPS = 10_000;

    struct Engagement {
        // slot 0
        address client; // receives the service, approves milestones
        uint16 feeBps; // fixed at creation
        uint24 reviewWindow; // seconds after a submission (at most MAX_REVIEW_WINDOW)
        uint8 milestoneCount; // 1..MAX_MILESTONES
        uint16 arbiterId; // index into _arbiters
        uint32 firstDueDate; // milestone 0's due date (unix seconds)
        // slot 1
        address provider; // delivers and is paid
        uint96 firstAmount; // milestone 0's amount, fee included
        // slot 2
        address token; // address(0) for ETH
        // slot 3
        address payer; // address(0) when the client paid
    }

    /// @dev Milestone 0 keeps its amount and due date in the engagement (above) and only its progress
    ///      here; its slot also carries the engagement's progress (the last three fields), so the
    ///      first submission and every later change touch one slot.
    struct Milestone {
        uint96 amount; // fee included (index >= 1)
        uint32 dueDate; // unix seconds (index >= 1)
        uint40 releasableAt; // set on submission
        MilestoneState state;
        uint8 closedMilestones; // slot 0 only: milestones released, refunded or resolved
        bool paid; // slot 0 only: something reached the provider
        uint40 disputedAt; // slot 0 only: open dispute's start, 0 when none
    }

    // One packed configuration slot, read once per creation.
    uint64 private _lastId;
    uint16 private _feeBps;
    bool private _paused;
    address private _treasury;

    mapping(uint256 id => Engagement) private _engagements;
    mapping(uint256 id => mapping(uint256 index => Milestone)) private _milestones;
    mapping(address token => mapping(address account => uint256)) private _owed;
    mapping(address token => bool) private _allowedTokens;
    mapping(bytes32 externalRef => bool) private _usedExternalRefs;
    mapping(address arbiter => uint16) private _arbiterIds;
    address[] private _arbiters;

    /// @param admin DEFAULT_ADMIN_ROLE holder (two-step handover with `adminDelay`)
    /// @param adminDelay seconds a new admin must wait before accepting the role
    /// @param initialTreasury receives the protocol fees
    /// @param initialFeeBps protocol fee for new engagements
    constructor(address admin, uint48 adminDelay, address initialTreasury, uint16 initialFeeBps)
        AccessControlDefaultAdminRules(adminDelay, admin)
    {
        if (initialTreasury == address(0)) revert EscrowZeroAddress();
        if (initialFeeBps > MAX_FEE_BPS) revert EscrowFeeTooHigh(initialFeeBps, MAX_FEE_BPS);
        _treasury = initialTreasury;
        _feeBps = initialFeeBps;
        // Announced so an indexer knows where fees go without reading storage.
        emit TreasuryUpdated(initialTreasury);
        emit FeeUpdated(initialFeeBps);
        _arbiters.push(address(0)); // id 0 means "no arbiter"
    }

    // ---------------------------------------------------------------- creation

    /// @inheritdoc ISkillEscrow
    function createEngagement(
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] calldata dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest
    ) external payable nonReentrant returns (uint256 id) {
        id = _create(msg.sender, msg.sender, provider, token, amounts, dueDates, reviewWindow, arbiter, termsDigest, 0);
    }

    /// @inheritdoc ISkillEscrow
    function fundFor(
        address client,
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] calldata dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest,
        bytes32 externalRef
    ) external payable nonReentrant onlyRole(FUNDER_ROLE) returns (uint256 id) {
        if (externalRef == bytes32(0)) revert EscrowZeroExternalRef();
        if (_usedExternalRefs[externalRef]) revert EscrowExternalRefUsed(externalRef);
        _usedExternalRefs[externalRef] = true;
        id = _create(
            client, msg.sender, provider, token, amounts, dueDates, reviewWindow, arbiter, termsDigest, externalRef
        );
    }

    function _create(
        address client,
        address payer,
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] calldata dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest,
        bytes32 externalRef
    ) private returns (uint256 id) {
        if (_paused) revert EscrowPaused();
        if (client == address(0) || provider == address(0)) revert EscrowZeroAddress();
        if (client == provider) revert EscrowSelfEngagement(client);
        // The arbiter must be neutral: never the client, the provider or whoever holds the money's claim.
        if (arbiter == client || arbiter == provider || arbiter == payer) revert EscrowArbiterIsParty(arbiter);
        if (!hasRole(ARBITER_ROLE, arbiter)) revert EscrowNotAnArbiter(arbiter);
        if (token != address(0) && !_allowedTokens[token]) revert EscrowTokenNotAllowed(token);
        uint256 count = amounts.length;
        if (count == 0 || count > MAX_MILESTONES) revert EscrowMilestoneCount(count, MAX_MILESTONES);
        if (dueDates.length != count) revert EscrowLengthMismatch(count, dueDates.length);
        if (reviewWindow < MIN_REVIEW_WINDOW || reviewWindow > MAX_REVIEW_WINDOW) {
            revert EscrowReviewWindowOutOfBounds(reviewWindow, MIN_REVIEW_WINDOW, MAX_REVIEW_WINDOW);
        }

        id = ++_lastId;
        uint256 total = 0;
        for (uint256 i; i < count; ++i) {
            uint256 amount = amounts[i];
            uint256 due = dueDates[i];
            if (amount == 0 || amount > type(uint96).max) revert EscrowInvalidAmount(i, amount);
            if (due <= block.timestamp || due > type(uint32).max) revert EscrowInvalidDueDate(i, due, block.timestamp);
            total += amount;
            // Milestone 0's terms live in the engagement; its progress starts at zero (Funded).
            if (i != 0) {
                _milestones[id][i] = Milestone({
                    amount: uint96(amount),
                    dueDate: uint32(due),
                    releasableAt: 0,
                    state: MilestoneState.Funded,
                    closedMilestones: 0,
                    paid: false,
                    disputedAt: 0
                });
            }
        }

        uint16 fee = _feeBps;
        Engagement storage e = _engagements[id];
        e.client = client;
        e.feeBps = fee;
        e.reviewWindow = uint24(reviewWindow);
        e.milestoneCount = uint8(count);
        e.arbiterId = _arbiterIds[arbiter];
        e.firstDueDate = uint32(dueDates[0]);
        e.provider = provider;
        e.firstAmount = uint96(amounts[0]);
        if (token != address(0)) e.token = token;
        if (payer != client) e.payer = payer;

        emit EngagementCreated(
            id, client, provider, payer, token, arbiter, fee, reviewWindow, amounts, dueDates, termsDigest, externalRef
        );

        // Interactions last: pull the funds and check that exactly `total` arrived.
        if (token == address(0)) {
            if (msg.value != total) revert EscrowWrongValue(msg.value, total);
        } else {
            if (msg.value != 0) revert EscrowWrongValue(msg.value, 0);
            uint256 before = IERC20(token).balanceOf(address(this));
            IERC20(token).safeTransferFrom(payer, address(this), total);
            uint256 received = IERC20(token).balanceOf(address(this)) - before;
            if (received != total) revert EscrowFeeOnTransferToken(token, total, received);
        }
    }

    // ---------------------------------------------------------------- milestones

    /// @inheritdoc ISkillEscrow
    function submitMilestone(uint256 id, uint256 index, bytes32 deliverableDigest) external {
        Engagement storage e = _existing(id);
        if (msg.sender != e.provider) revert EscrowUnauthorizedCaller(id, msg.sender);
        if (_progress(id).disputedAt != 0) revert EscrowDisputeOpen(id);
        Milestone storage m = _milestone(e, id, index);
        if (m.state != MilestoneState.Funded) revert EscrowInvalidMilestoneState(id, index, m.state);
        uint40 releasableAt = uint40(block.timestamp) + e.reviewWindow;
        m.state = MilestoneState.Submitted;
        m.releasableAt = releasableAt;
        emit MilestoneSubmitted(id, index, deliverableDigest, releasableAt);
    }

    /// @inheritdoc ISkillEscrow
    function approveMilestone(uint256 id, uint256 index) external {
        Engagement storage e = _existing(id);
        if (msg.sender != e.client) revert EscrowUnauthorizedCaller(id, msg.sender);
        if (_progress(id).disputedAt != 0) revert EscrowDisputeOpen(id);
        Milestone storage m = _milestone(e, id, index);
        if (m.state != MilestoneState.Funded && m.state != MilestoneState.Submitted) {
            revert EscrowInvalidMilestoneState(id, index, m.state);
        }
        _release(e, m, id, index);
    }

    /// @inheritdoc ISkillEscrow
    function autoRelease(uint256 id, uint256 index) external {
        Engagement storage e = _existing(id);
        if (_progress(id).disputedAt != 0) revert EscrowDisputeOpen(id);
        Milestone storage m = _milestone(e, id, index);
        if (m.state != MilestoneState.Submitted) revert EscrowInvalidMilestoneState(id, index, m.state);
        if (block.timestamp < m.releasableAt) revert EscrowNotYetReleasable(id, index, m.releasableAt);
        _release(e, m, id, index);
    }

    // ---------------------------------------------------------------- disputes

    /// @inheritdoc ISkillEscrow
    function raiseDispute(uint256 id) external {
        Engagement storage e = _existing(id);
        address payer = _payerOf(e);
        bool allowed = msg.sender == e.client || msg.sender == e.provider
            || (msg.sender == payer && hasRole(FUNDER_ROLE, msg.sender));
        if (!allowed) revert EscrowUnauthorizedCaller(id, msg.sender);
        Milestone storage progress = _progress(id);
        if (progress.disputedAt != 0) revert EscrowDisputeOpen(id);

        uint256 count = e.milestoneCount;
        bool disputable = false;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            if (m.state == MilestoneState.Funded) {
                disputable = true;
            } else if (m.state == MilestoneState.Submitted) {
                // A submission whose review window has ended belongs to the provider: pay it now
                // rather than let a late dispute freeze it.
                if (block.timestamp >= m.releasableAt) _release(e, m, id, i);
                else disputable = true;
            }
        }
        if (!disputable) revert EscrowNothingToDispute(id);
        uint40 now_ = uint40(block.timestamp);
        progress.disputedAt = now_;
        emit DisputeRaised(id, msg.sender, now_, now_ + DISPUTE_TIMEOUT);
    }

    /// @inheritdoc ISkillEscrow
    function resolveDispute(uint256 id, uint16 providerShareBps) external {
        Engagement storage e = _existing(id);
        if (_progress(id).disputedAt == 0) revert EscrowNoOpenDispute(id);
        if (msg.sender != _arbiters[e.arbiterId] || !hasRole(ARBITER_ROLE, msg.sender)) {
            revert EscrowUnauthorizedCaller(id, msg.sender);
        }
        if (providerShareBps > BPS) revert EscrowInvalidShare(providerShareBps);

        uint256 frozen = 0;
        uint256 count = e.milestoneCount;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            if (m.state == MilestoneState.Funded || m.state == MilestoneState.Submitted) {
                frozen += _amountOf(e, m, i);
                m.state = MilestoneState.Resolved;
            }
        }
        uint256 providerGross = frozen * providerShareBps / BPS;
        _settleDispute(e, id, providerShareBps, providerGross, frozen - providerGross, false);
    }

    /// @inheritdoc ISkillEscrow
    function settleExpiredDispute(uint256 id) external {
        Engagement storage e = _existing(id);
        uint256 disputedAt = _progress(id).disputedAt;
        if (disputedAt == 0) revert EscrowNoOpenDispute(id);
        uint256 timeoutAt = disputedAt + DISPUTE_TIMEOUT;
        if (block.timestamp < timeoutAt) revert EscrowDisputeNotTimedOut(id, timeoutAt);

        // Default rule: submitted work is paid, unsubmitted work is refunded.
        uint256 providerGross = 0;
        uint256 payerAmount = 0;
        uint256 count = e.milestoneCount;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            if (m.state == MilestoneState.Submitted) {
                providerGross += _amountOf(e, m, i);
                m.state = MilestoneState.Resolved;
            } else if (m.state == MilestoneState.Funded) {
                payerAmount += _amountOf(e, m, i);
                m.state = MilestoneState.Resolved;
            }
        }
        uint256 frozen = providerGross + payerAmount;
        uint16 share = frozen == 0 ? 0 : uint16(providerGross * BPS / frozen);
        _settleDispute(e, id, share, providerGross, payerAmount, true);
    }

    function _settleDispute(
        Engagement storage e,
        uint256 id,
        uint16 shareBps,
        uint256 providerGross,
        uint256 payerAmount,
        bool byTimeout
    ) private {
        address token = e.token;
        uint256 fee = providerGross * e.feeBps / BPS;
        uint256 providerAmount = providerGross - fee;
        Milestone storage progress = _progress(id);
        progress.disputedAt = 0;
        progress.closedMilestones = e.milestoneCount; // every milestone still open was frozen and is now resolved
        if (providerGross != 0) {
            progress.paid = true;
            _owed[token][e.provider] += providerAmount;
            if (fee != 0) _owed[token][_treasury] += fee;
        }
        if (payerAmount != 0) _owed[token][_payerOf(e)] += payerAmount;
        emit DisputeResolved(id, msg.sender, shareBps, providerAmount, payerAmount, fee, byTimeout);
    }

    // ---------------------------------------------------------------- cancellation

    /// @inheritdoc ISkillEscrow
    function cancel(uint256 id) external {
        Engagement storage e = _existing(id);
        if (_progress(id).disputedAt != 0) revert EscrowDisputeOpen(id);
        bool byProvider = msg.sender == e.provider;
        if (!byProvider && msg.sender != e.client) revert EscrowUnauthorizedCaller(id, msg.sender);

        address payer = _payerOf(e);
        address token = e.token;
        uint256 refunded = 0;
        uint256 count = e.milestoneCount;
        uint256 closed = 0;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            MilestoneState s = m.state;
            // The provider may hand back anything unreleased; the client only what was never
            // delivered and is past its due date.
            bool refundable = byProvider
                ? (s == MilestoneState.Funded || s == MilestoneState.Submitted)
                : (s == MilestoneState.Funded && block.timestamp > _dueDateOf(e, m, i));
            if (refundable) {
                uint256 amount = _amountOf(e, m, i);
                m.state = MilestoneState.Refunded;
                refunded += amount;
                ++closed;
                emit MilestoneRefunded(id, i, payer, amount);
            }
        }
        if (closed == 0) revert EscrowNothingToCancel(id);
        _progress(id).closedMilestones += uint8(closed);
        _owed[token][payer] += refunded;
        emit EngagementCancelled(id, msg.sender, refunded);
    }

    // ---------------------------------------------------------------- withdrawals

    /// @inheritdoc ISkillEscrow
    function withdraw(address token) external nonReentrant {
        _withdraw(token, msg.sender);
    }

    /// @inheritdoc ISkillEscrow
    function withdrawTo(address token, address to) external nonReentrant {
        if (to == address(0)) revert EscrowZeroAddress();
        _withdraw(token, to);
    }

    function _withdraw(address token, address to) private {
        uint256 amount = _owed[token][msg.sender];
        if (amount == 0) revert EscrowNothingToWithdraw(msg.sender, token);
        _owed[token][msg.sender] = 0;
        emit Withdrawn(msg.sender, token, to, amount);
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            if (!ok) revert EscrowEthTransferFailed(to, amount);
        } else {
            IERC20(token).safeTransfer(to, amount);
        }
    }

    // ---------------------------------------------------------------- admin

    /// @notice Adds `token` to (or removes it from) the allow-list for new engagements.
    /// @dev Removing a token never affects existing engagements or balances.
    function setTokenAllowed(address token, bool allowed) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (token == address(0)) revert EscrowZeroAddress();
        _allowedTokens[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    /// @notice Sets the fee for engagements created from now on (existing ones keep theirs).
    function setFee(uint16 newFeeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newFeeBps > MAX_FEE_BPS) revert EscrowFeeTooHigh(newFeeBps, MAX_FEE_BPS);
        _feeBps = newFeeBps;
        emit FeeUpdated(newFeeBps);
    }

    /// @notice Sets the treasury credited with fees from now on.
    function setTreasury(address newTreasury) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (newTreasury == address(0)) revert EscrowZeroAddress();
        _treasury = newTreasury;
        emit TreasuryUpdated(newTreasury);
    }

    /// @notice Pauses (true) or resumes (false) new engagements. Nothing else is ever paused.
    function setPaused(bool paused_) external onlyRole(PAUSER_ROLE) {
        _paused = paused_;
        emit PauseChanged(paused_);
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether new engagements are paused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice Current fee for new engagements, in basis points.
    function feeBps() external view returns (uint16) {
        return _feeBps;
    }

    /// @notice Account credited with fees.
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @notice Whether `token` may be used by new engagements.
    function isTokenAllowed(address token) external view returns (bool) {
        return token == address(0) || _allowedTokens[token];
    }

    /// @notice Whether `externalRef` has funded an engagement.
    function isExternalRefUsed(bytes32 externalRef) external view returns (bool) {
        return _usedExternalRefs[externalRef];
    }

    /// @notice Number of engagements created so far (ids run from 1 to this).
    function engagementCount() external view returns (uint256) {
        return _lastId;
    }

    /// @inheritdoc ISkillEscrow
    function owed(address token, address account) external view returns (uint256) {
        return _owed[token][account];
    }

    /// @inheritdoc ISkillEscrow
    function getEngagement(uint256 id) external view returns (EngagementView memory v) {
        Engagement storage e = _existing(id);
        Milestone storage progress = _progress(id);
        v = EngagementView({
            client: e.client,
            provider: e.provider,
            payer: _payerOf(e),
            token: e.token,
            arbiter: _arbiters[e.arbiterId],
            feeBps: e.feeBps,
            reviewWindow: e.reviewWindow,
            milestoneCount: e.milestoneCount,
            openMilestones: e.milestoneCount - progress.closedMilestones,
            paid: progress.paid,
            disputedAt: progress.disputedAt
        });
    }

    /// @inheritdoc ISkillEscrow
    function getMilestone(uint256 id, uint256 index) external view returns (MilestoneView memory) {
        Engagement storage e = _existing(id);
        Milestone storage m = _milestone(e, id, index);
        return MilestoneView({
            amount: uint128(_amountOf(e, m, index)),
            dueDate: uint40(_dueDateOf(e, m, index)),
            releasableAt: m.releasableAt,
            state: m.state
        });
    }

    /// @inheritdoc ISkillEscrow
    function engagementStatus(uint256 id)
        external
        view
        returns (address client, address provider, bool settled, bool paid)
    {
        Engagement storage e = _existing(id);
        Milestone storage progress = _progress(id);
        return (e.client, e.provider, progress.closedMilestones == e.milestoneCount, progress.paid);
    }

    /// @inheritdoc ISkillEscrow
    function settlementOf(uint256 id)
        external
        view
        returns (address client, address provider, address token, uint256 value, bool settled, bool paid)
    {
        Engagement storage e = _existing(id);
        uint256 count = e.milestoneCount;
        value = e.firstAmount;
        for (uint256 i = 1; i < count; ++i) {
            value += _milestones[id][i].amount;
        }
        Milestone storage progress = _progress(id);
        return (e.client, e.provider, e.token, value, progress.closedMilestones == count, progress.paid);
    }

    // ---------------------------------------------------------------- internals

    function _existing(uint256 id) private view returns (Engagement storage e) {
        e = _engagements[id];
        if (e.client == address(0)) revert EscrowUnknownEngagement(id);
    }

    function _milestone(Engagement storage e, uint256 id, uint256 index) private view returns (Milestone storage) {
        if (index >= e.milestoneCount) revert EscrowUnknownMilestone(id, index);
        return _milestones[id][index];
    }

    /// @dev The engagement's progress (closed count, paid, open dispute) shares milestone 0's slot.
    function _progress(uint256 id) private view returns (Milestone storage) {
        return _milestones[id][0];
    }

    function _amountOf(Engagement storage e, Milestone storage m, uint256 index) private view returns (uint256) {
        return index == 0 ? e.firstAmount : m.amount;
    }

    function _dueDateOf(Engagement storage e, Milestone storage m, uint256 index) private view returns (uint256) {
        return index == 0 ? e.firstDueDate : m.dueDate;
    }

    function _payerOf(Engagement storage e) private view returns (address payer) {
        payer = e.payer;
        if (payer == address(0)) payer = e.client;
    }

    /// @dev Effects only: credits the provider and the treasury; money leaves through withdraw.
    function _release(Engagement storage e, Milestone storage m, uint256 id, uint256 index) private {
        uint256 amount = _amountOf(e, m, index);
        uint256 fee = amount * e.feeBps / BPS;
        address token = e.token;
        address provider = e.provider;
        m.state = MilestoneState.Released;
        Milestone storage progress = _progress(id);
        progress.closedMilestones += 1;
        progress.paid = true;
        _owed[token][provider] += amount - fee;
        if (fee != 0) _owed[token][_treasury] += fee;
        emit MilestoneReleased(id, index, provider, amount - fee, fee);
    }

    /// @dev Gives each new arbiter a small id so engagements store 2 bytes instead of an address.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (role == ARBITER_ROLE && _arbiterIds[account] == 0) {
            if (_arbiters.length > type(uint16).max) revert EscrowTooManyArbiters();
            _arbiterIds[account] = uint16(_arbiters.length);
            _arbiters.push(account);
        }
    }
}
