// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
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
///      slot stays empty for ETH. Hence the bounds: amounts below 2^96, due dates before 2106, at most
///      255 arbiters ever granted (the `accepted` flag shares slot 0 with the arbiter id, so accepting
///      a request rewrites a slot that is already set).
///      The EIP-712 domain ("SkillEscrow", "2", chain id, this contract) is built here rather than by
///      OpenZeppelin's EIP712, whose ShortStrings constructor Slither 0.11 cannot analyse beside
///      ReentrancyGuardTransient (it then loses the whole creation path); the domain is the standard one.
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

    /// @notice EIP-712 type hash of `Offer`.
    bytes32 public constant OFFER_TYPEHASH = keccak256(
        "Offer(address provider,address client,address token,uint256[] amounts,uint64[] dueDates,uint32 sessionLength,uint32 grace,uint32 minNotice,uint32 horizon,uint32 reviewWindow,address arbiter,bytes32 termsDigest,uint256 nonce,uint32 uses,uint64 validUntil)"
    );

    bytes32 private constant _DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 private constant _NAME_HASH = keccak256("SkillEscrow");
    bytes32 private constant _VERSION_HASH = keccak256("2");
    uint256 private constant BPS = 10_000;
    uint256 private constant CANCELLED = type(uint256).max;

    struct Engagement {
        // slot 0
        address client; // receives the service, approves milestones
        uint16 feeBps; // fixed at creation
        uint24 reviewWindow; // seconds after a submission (at most MAX_REVIEW_WINDOW)
        uint8 milestoneCount; // 1..MAX_MILESTONES
        uint8 arbiterId; // index into _arbiters
        bool accepted; // the provider agreed (accepted the request, or signed the offer)
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
        bool frozen; // covered by the open dispute
        uint16 providerShareBps; // Resolved only: the arbiter's provider share
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
    // The domain separator for the chain id at deployment; rebuilt on the fly after a fork changes it.
    bytes32 private immutable _cachedDomainSeparator;
    uint256 private immutable _cachedChainId;
    /// @dev An arbiter's small id and whether it holds ARBITER_ROLE now, in one slot, so creating an
    ///      engagement checks the role and finds the id with one read (kept in step by the role hooks).
    struct ArbiterInfo {
        uint8 id; // assigned at the first grant, never reused
        bool active; // mirrors ARBITER_ROLE
    }

    mapping(address arbiter => ArbiterInfo) private _arbiterInfo;
    address[] private _arbiters;
    // Single-use offers (uses == 1) and cancellations: one bit per nonce, 256 nonces per word.
    mapping(address provider => mapping(uint256 word => uint256 bits)) private _offerNonceBits;
    // Standing offers (uses > 1): engagements funded so far, CANCELLED once cancelled.
    mapping(address provider => mapping(uint256 nonce => uint256 used)) private _offerUses;

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
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _buildDomainSeparator();
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
        id = _create(
            msg.sender, msg.sender, provider, token, amounts, dueDates, reviewWindow, arbiter, termsDigest, 0, false
        );
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
        _useExternalRef(externalRef);
        id = _create(
            client, msg.sender, provider, token, amounts, dueDates, reviewWindow, arbiter, termsDigest, externalRef, false
        );
    }

    /// @inheritdoc ISkillEscrow
    function createEngagementWithOffer(
        Offer calldata offer,
        bytes calldata signature,
        uint64 startsAt,
        bytes32 bookingRef,
        uint64 deadline
    ) external payable nonReentrant returns (uint256 id) {
        id = _createFromOffer(offer, signature, msg.sender, msg.sender, startsAt, bookingRef, deadline, 0);
    }

    /// @inheritdoc ISkillEscrow
    function fundForWithOffer(
        Offer calldata offer,
        bytes calldata signature,
        address client,
        uint64 startsAt,
        bytes32 bookingRef,
        uint64 deadline,
        bytes32 externalRef
    ) external payable nonReentrant onlyRole(FUNDER_ROLE) returns (uint256 id) {
        _useExternalRef(externalRef);
        id = _createFromOffer(offer, signature, client, msg.sender, startsAt, bookingRef, deadline, externalRef);
    }

    /// @inheritdoc ISkillEscrow
    function cancelOffer(uint256 nonce) external {
        // Both tracks: whichever kind of offer carries this nonce can no longer be used.
        _offerNonceBits[msg.sender][nonce >> 8] |= 1 << (nonce & 0xff);
        _offerUses[msg.sender][nonce] = CANCELLED;
        emit OfferCancelled(msg.sender, nonce);
    }

    function _useExternalRef(bytes32 externalRef) private {
        if (externalRef == bytes32(0)) revert EscrowZeroExternalRef();
        if (_usedExternalRefs[externalRef]) revert EscrowExternalRefUsed(externalRef);
        _usedExternalRefs[externalRef] = true;
    }

    function _createFromOffer(
        Offer calldata offer,
        bytes calldata signature,
        address client,
        address payer,
        uint64 startsAt,
        bytes32 bookingRef,
        uint64 deadline,
        bytes32 externalRef
    ) private returns (uint256 id) {
        if (block.timestamp > deadline) revert EscrowDeadlinePassed(deadline);
        if (block.timestamp > offer.validUntil) revert EscrowOfferExpired(offer.validUntil);
        if (offer.client != address(0) && offer.client != client) revert EscrowOfferNotForCaller(offer.client, client);
        if (offer.uses == 0) revert EscrowInvalidOffer();
        // The EIP-712 domain binds the chain id and this contract. A low-s ECDSA signature by the
        // provider's key (no malleable twin) is checked first, without touching the provider's account;
        // otherwise the provider must be a contract wallet that answers EIP-1271 for this digest.
        bytes32 digest = MessageHashUtils.toTypedDataHash(_domainSeparator(), _offerHash(offer));
        // The third value only details a failure (which argument was bad); `err` already says it failed.
        // slither-disable-next-line unused-return
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(digest, signature);
        bool byKey = err == ECDSA.RecoverError.NoError && signer == offer.provider;
        if (!byKey && !SignatureChecker.isValidERC1271SignatureNow(offer.provider, digest, signature)) {
            revert EscrowInvalidSignature(offer.provider);
        }
        _useOffer(offer.provider, offer.nonce, offer.uses);

        uint64[] memory due;
        if (offer.sessionLength == 0) {
            if (startsAt != 0) revert EscrowInvalidStart(startsAt, 0, 0);
            due = offer.dueDates;
        } else {
            if (offer.amounts.length != 1 || offer.dueDates.length != 0) revert EscrowInvalidOffer();
            uint256 earliest = block.timestamp + offer.minNotice;
            uint256 latest = offer.horizon == 0 ? type(uint32).max : block.timestamp + offer.horizon;
            if (startsAt < earliest || startsAt > latest) revert EscrowInvalidStart(startsAt, earliest, latest);
            due = new uint64[](1);
            due[0] = startsAt + offer.sessionLength + offer.grace;
        }
        id = _create(
            client,
            payer,
            offer.provider,
            offer.token,
            offer.amounts,
            due,
            offer.reviewWindow,
            offer.arbiter,
            offer.termsDigest,
            externalRef,
            true
        );
        emit OfferUsed(id, offer.provider, offer.nonce, bookingRef, offer.sessionLength == 0 ? 0 : startsAt);
    }

    /// @dev Single-use offers take one bit (cheap when the word is already in use); standing offers a
    ///      counter. `cancelOffer` marks both.
    function _useOffer(address provider, uint256 nonce, uint256 uses) private {
        if (uses == 1) {
            uint256 bit = 1 << (nonce & 0xff);
            uint256 bits = _offerNonceBits[provider][nonce >> 8];
            if (bits & bit != 0) {
                if (_offerUses[provider][nonce] == CANCELLED) revert EscrowOfferCancelled(provider, nonce);
                revert EscrowOfferUsedUp(provider, nonce, uses);
            }
            _offerNonceBits[provider][nonce >> 8] = bits | bit;
        } else {
            uint256 used = _offerUses[provider][nonce];
            if (used == CANCELLED) revert EscrowOfferCancelled(provider, nonce);
            if (used >= uses) revert EscrowOfferUsedUp(provider, nonce, uses);
            _offerUses[provider][nonce] = used + 1;
        }
    }

    function _domainSeparator() private view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _buildDomainSeparator();
    }

    function _buildDomainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH, block.chainid, address(this)));
    }

    function _offerHash(Offer calldata o) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                OFFER_TYPEHASH,
                o.provider,
                o.client,
                o.token,
                keccak256(abi.encodePacked(o.amounts)),
                keccak256(abi.encodePacked(o.dueDates)),
                o.sessionLength,
                o.grace,
                o.minNotice,
                o.horizon,
                o.reviewWindow,
                o.arbiter,
                o.termsDigest,
                o.nonce,
                o.uses,
                o.validUntil
            )
        );
    }

    function _create(
        address client,
        address payer,
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] memory dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest,
        bytes32 externalRef,
        bool accepted
    ) private returns (uint256 id) {
        if (_paused) revert EscrowPaused();
        if (client == address(0) || provider == address(0)) revert EscrowZeroAddress();
        if (client == provider) revert EscrowSelfEngagement(client);
        // The arbiter must be neutral: never the client, the provider or whoever holds the money's claim.
        if (arbiter == client || arbiter == provider || arbiter == payer) revert EscrowArbiterIsParty(arbiter);
        ArbiterInfo memory arbiterInfo = _arbiterInfo[arbiter];
        if (!arbiterInfo.active) revert EscrowNotAnArbiter(arbiter);
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
                Milestone storage m = _milestones[id][i];
                m.amount = uint96(amount);
                m.dueDate = uint32(due);
            }
        }

        uint16 fee = _feeBps;
        Engagement storage e = _engagements[id];
        e.client = client;
        e.feeBps = fee;
        e.reviewWindow = uint24(reviewWindow);
        e.milestoneCount = uint8(count);
        e.arbiterId = arbiterInfo.id;
        e.accepted = accepted;
        e.firstDueDate = uint32(dueDates[0]);
        e.provider = provider;
        e.firstAmount = uint96(amounts[0]);
        if (token != address(0)) e.token = token;
        if (payer != client) e.payer = payer;

        emit EngagementCreated(
            id,
            client,
            provider,
            payer,
            token,
            arbiter,
            fee,
            reviewWindow,
            amounts,
            dueDates,
            termsDigest,
            externalRef
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

    // ---------------------------------------------------------------- consent

    /// @inheritdoc ISkillEscrow
    function acceptEngagement(uint256 id) external {
        Engagement storage e = _existing(id);
        if (msg.sender != e.provider) revert EscrowUnauthorizedCaller(id, msg.sender);
        if (e.accepted) revert EscrowAlreadyAccepted(id);
        if (_progress(id).closedMilestones != 0) revert EscrowNotPending(id);
        // Accepting work already overdue would hand the client a cancel (or a dispute) at once.
        uint256 count = e.milestoneCount;
        for (uint256 i; i < count; ++i) {
            uint256 due = _dueDateOf(e, _milestones[id][i], i);
            if (block.timestamp > due) revert EscrowAcceptTooLate(id, due);
        }
        e.accepted = true;
        emit EngagementAccepted(id, msg.sender);
    }

    /// @inheritdoc ISkillEscrow
    function withdrawRequest(uint256 id) external {
        Engagement storage e = _existing(id);
        address payer = _payerOf(e);
        if (msg.sender != e.client && msg.sender != payer) revert EscrowUnauthorizedCaller(id, msg.sender);
        if (e.accepted) revert EscrowAlreadyAccepted(id);
        Milestone storage progress = _progress(id);
        if (progress.closedMilestones != 0) revert EscrowNotPending(id);
        // Before acceptance nothing can have been submitted, released or disputed: every milestone is Funded.
        uint256 count = e.milestoneCount;
        uint256 refunded = 0;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            uint256 amount = _amountOf(e, m, i);
            m.state = MilestoneState.Refunded;
            refunded += amount;
            emit MilestoneRefunded(id, i, payer, amount);
        }
        progress.closedMilestones = uint8(count);
        _owed[e.token][payer] += refunded;
        emit RequestWithdrawn(id, msg.sender, refunded);
    }

    // ---------------------------------------------------------------- milestones

    /// @inheritdoc ISkillEscrow
    function submitMilestone(uint256 id, uint256 index, bytes32 deliverableDigest) external {
        Engagement storage e = _accepted(id);
        if (msg.sender != e.provider) revert EscrowUnauthorizedCaller(id, msg.sender);
        Milestone storage m = _milestone(e, id, index);
        if (m.frozen) revert EscrowMilestoneFrozen(id, index);
        if (m.state != MilestoneState.Funded) revert EscrowInvalidMilestoneState(id, index, m.state);
        // A late submission is allowed (see the interface): it only loses the timeout rule's protection.
        uint40 releasableAt = uint40(block.timestamp) + e.reviewWindow;
        m.state = MilestoneState.Submitted;
        m.releasableAt = releasableAt;
        emit MilestoneSubmitted(id, index, deliverableDigest, releasableAt);
    }

    /// @inheritdoc ISkillEscrow
    function approveMilestone(uint256 id, uint256 index) external {
        Engagement storage e = _accepted(id);
        if (msg.sender != e.client) revert EscrowUnauthorizedCaller(id, msg.sender);
        Milestone storage m = _milestone(e, id, index);
        if (m.frozen) revert EscrowMilestoneFrozen(id, index);
        if (m.state != MilestoneState.Funded && m.state != MilestoneState.Submitted) {
            revert EscrowInvalidMilestoneState(id, index, m.state);
        }
        _release(e, m, id, index);
    }

    /// @inheritdoc ISkillEscrow
    function autoRelease(uint256 id, uint256 index) external {
        Engagement storage e = _existing(id);
        Milestone storage m = _milestone(e, id, index);
        if (m.frozen) revert EscrowMilestoneFrozen(id, index);
        if (m.state != MilestoneState.Submitted) revert EscrowInvalidMilestoneState(id, index, m.state);
        if (block.timestamp < m.releasableAt) revert EscrowNotYetReleasable(id, index, m.releasableAt);
        _release(e, m, id, index);
    }

    // ---------------------------------------------------------------- disputes

    /// @inheritdoc ISkillEscrow
    function raiseDispute(uint256 id) external {
        Engagement storage e = _accepted(id);
        address payer = _payerOf(e);
        // The client's side: the client, or the card payer (the relayer acting on a chargeback).
        bool clientSide = msg.sender == e.client || (msg.sender == payer && hasRole(FUNDER_ROLE, msg.sender));
        if (!clientSide && msg.sender != e.provider) revert EscrowUnauthorizedCaller(id, msg.sender);
        Milestone storage progress = _progress(id);

        // Only what is in question freezes: work delivered and still under review (the client's side
        // contests it), or money for work that is overdue (either side). A milestone not yet due cannot
        // be disputed, so a dispute can neither stop the provider delivering nor shorten a review window.
        // While a dispute is open, newly eligible milestones join it (and the arbiter's time restarts):
        // otherwise work submitted during a dispute would auto-release with no way to contest it.
        uint256 count = e.milestoneCount;
        uint16 mask = 0;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            if (m.frozen) continue;
            MilestoneState s = m.state;
            bool eligible = (s == MilestoneState.Submitted && clientSide && block.timestamp < m.releasableAt)
                || (s == MilestoneState.Funded && block.timestamp > _dueDateOf(e, m, i));
            if (eligible) {
                m.frozen = true;
                mask |= uint16(1 << i);
            }
        }
        if (mask == 0) revert EscrowNothingToDispute(id);
        uint40 now_ = uint40(block.timestamp);
        progress.disputedAt = now_;
        emit DisputeRaised(id, msg.sender, now_, now_ + DISPUTE_TIMEOUT, mask);
    }

    /// @inheritdoc ISkillEscrow
    function resolveDispute(uint256 id, uint16 providerShareBps) external {
        Engagement storage e = _existing(id);
        if (_progress(id).disputedAt == 0) revert EscrowNoOpenDispute(id);
        if (msg.sender != _arbiters[e.arbiterId] || !hasRole(ARBITER_ROLE, msg.sender)) {
            revert EscrowUnauthorizedCaller(id, msg.sender);
        }
        if (providerShareBps > BPS) revert EscrowInvalidShare(providerShareBps);

        uint256 feeBps_ = e.feeBps;
        uint256 providerGross = 0;
        uint256 fee = 0;
        uint256 payerAmount = 0;
        uint256 closed = 0;
        uint256 count = e.milestoneCount;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            if (!m.frozen) continue;
            uint256 amount = _amountOf(e, m, i);
            // Per milestone, so the fee never exceeds what releasing each share on its own would charge.
            uint256 gross = amount * providerShareBps / BPS;
            providerGross += gross;
            // The fee is a share of what the provider receives, so it is computed from that share.
            // slither-disable-next-line divide-before-multiply
            fee += gross * feeBps_ / BPS;
            payerAmount += amount - gross;
            m.frozen = false;
            m.state = MilestoneState.Resolved;
            m.providerShareBps = providerShareBps;
            ++closed;
        }
        _settleDispute(e, id, providerShareBps, providerGross, fee, payerAmount, closed, false);
    }

    /// @inheritdoc ISkillEscrow
    function settleExpiredDispute(uint256 id) external {
        Engagement storage e = _existing(id);
        uint256 disputedAt = _progress(id).disputedAt;
        if (disputedAt == 0) revert EscrowNoOpenDispute(id);
        uint256 timeoutAt = disputedAt + DISPUTE_TIMEOUT;
        if (block.timestamp < timeoutAt) revert EscrowDisputeNotTimedOut(id, timeoutAt);

        // Default rule: work submitted on time (and, being frozen, before the dispute) is paid; every
        // other frozen milestone — overdue and never delivered, or delivered late — goes back.
        uint256 feeBps_ = e.feeBps;
        uint256 providerGross = 0;
        uint256 fee = 0;
        uint256 payerAmount = 0;
        uint256 closed = 0;
        uint256 count = e.milestoneCount;
        address payer = _payerOf(e);
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            if (!m.frozen) continue;
            uint256 amount = _amountOf(e, m, i);
            m.frozen = false;
            ++closed;
            if (m.state == MilestoneState.Submitted && m.releasableAt - e.reviewWindow <= _dueDateOf(e, m, i)) {
                uint256 f = amount * feeBps_ / BPS;
                providerGross += amount;
                fee += f;
                m.state = MilestoneState.Released;
                emit MilestoneReleased(id, i, e.provider, amount - f, f);
            } else {
                payerAmount += amount;
                m.state = MilestoneState.Refunded;
                emit MilestoneRefunded(id, i, payer, amount);
            }
        }
        uint256 frozen = providerGross + payerAmount;
        uint16 share = frozen == 0 ? 0 : uint16(providerGross * BPS / frozen);
        _settleDispute(e, id, share, providerGross, fee, payerAmount, closed, true);
    }

    function _settleDispute(
        Engagement storage e,
        uint256 id,
        uint16 shareBps,
        uint256 providerGross,
        uint256 fee,
        uint256 payerAmount,
        uint256 closed,
        bool byTimeout
    ) private {
        address token = e.token;
        uint256 providerAmount = providerGross - fee;
        Milestone storage progress = _progress(id);
        progress.disputedAt = 0;
        progress.closedMilestones += uint8(closed);
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
        bool byProvider = msg.sender == e.provider;
        if (!byProvider && msg.sender != e.client) revert EscrowUnauthorizedCaller(id, msg.sender);
        // Before acceptance the client's way out is withdrawRequest; the provider's cancel is a decline.
        if (!byProvider && !e.accepted) revert EscrowNotAccepted(id);

        address payer = _payerOf(e);
        address token = e.token;
        uint256 refunded = 0;
        uint256 count = e.milestoneCount;
        uint256 closed = 0;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            if (m.frozen) continue; // the arbiter's now
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
            accepted: e.accepted,
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
            state: m.state,
            frozen: m.frozen,
            providerShareBps: m.providerShareBps
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
        return (e.client, e.provider, e.accepted && progress.closedMilestones == e.milestoneCount, progress.paid);
    }

    /// @inheritdoc ISkillEscrow
    function settlementOf(uint256 id) external view returns (Settlement memory s) {
        Engagement storage e = _existing(id);
        uint256 count = e.milestoneCount;
        Milestone storage progress = _progress(id);
        s.client = e.client;
        s.provider = e.provider;
        s.token = e.token;
        s.accepted = e.accepted;
        s.settled = progress.closedMilestones == count;
        s.paid = progress.paid;
        for (uint256 i; i < count; ++i) {
            Milestone storage m = _milestones[id][i];
            uint256 amount = _amountOf(e, m, i);
            s.value += amount;
            MilestoneState state = m.state;
            if (state == MilestoneState.Released) {
                s.providerGross += amount;
            } else if (state == MilestoneState.Resolved) {
                s.providerGross += amount * m.providerShareBps / BPS;
                s.arbitrated = true;
            }
        }
    }

    /// @inheritdoc ISkillEscrow
    function offerUses(address provider, uint256 nonce) external view returns (uint256) {
        return _offerUses[provider][nonce];
    }

    /// @inheritdoc ISkillEscrow
    function isOfferNonceUsed(address provider, uint256 nonce) external view returns (bool) {
        return _offerNonceBits[provider][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc ISkillEscrow
    function offerDigest(Offer calldata offer) external view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(_domainSeparator(), _offerHash(offer));
    }

    // ---------------------------------------------------------------- internals

    function _existing(uint256 id) private view returns (Engagement storage e) {
        e = _engagements[id];
        if (e.client == address(0)) revert EscrowUnknownEngagement(id);
    }

    function _accepted(uint256 id) private view returns (Engagement storage e) {
        e = _existing(id);
        if (!e.accepted) revert EscrowNotAccepted(id);
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

    /// @dev Gives each new arbiter a small id so engagements store 1 byte instead of an address.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (role == ARBITER_ROLE) {
            ArbiterInfo storage info = _arbiterInfo[account];
            if (info.id == 0) {
                if (_arbiters.length > type(uint8).max) revert EscrowTooManyArbiters();
                info.id = uint8(_arbiters.length);
                _arbiters.push(account);
            }
            info.active = true;
        }
    }

    /// @dev A revoked (or renounced) arbiter keeps its id, so its past engagements stay attributed.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (role == ARBITER_ROLE) _arbiterInfo[account].active = false;
    }
}
