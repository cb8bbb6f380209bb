// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISkillEscrow — paid engagements between a client and a provider, in ETH or an allow-listed ERC-20
/// @notice Every milestone is funded up front. Money leaves only through pull payments (`withdraw`).
///         Pausing stops new engagements only; releases, refunds, disputes and withdrawals always work.
/// @dev Consent: an engagement counts only once its provider agreed. A *request*
///      (`createEngagement`, `fundFor`) waits for `acceptEngagement`; until then the client (or card
///      payer) may `withdrawRequest` and the provider may `cancel` (decline), and nothing else works.
///      An *offer* the provider signed (EIP-712, `createEngagementWithOffer`, `fundForWithOffer`) is
///      accepted from the start. The contract cannot see a mentor's calendar: a booking taken from a
///      standing offer outside the app is valid here, and the mentor may decline it with `cancel`
///      (full refund to the payer, no fee, and — nothing having reached the provider — no review).
///
///      Disputes freeze only the milestones they are about: submitted ones still in their review
///      window (raised by the client or the card payer) and funded ones past their due date (either
///      party); a milestone that becomes eligible while a dispute is open joins it (restarting the
///      arbiter's time), so work submitted during a dispute can still be contested. If the arbiter has
///      not resolved within `DISPUTE_TIMEOUT` of the last addition, anyone may call
///      `settleExpiredDispute`: a frozen milestone submitted on time (at or before its due date) is
///      released to the provider, every other frozen milestone is refunded to the payer.
///
///      A submission after the due date is accepted while the milestone is still funded (the client may
///      still want the work and approve it): it stops the client's `cancel` of that milestone, but not
///      the client's dispute, and a late submission the arbiter leaves undecided is refunded.
interface ISkillEscrow {
    /// @notice Lifecycle of one milestone. `Funded` is the state at creation.
    enum MilestoneState {
        Funded, // money escrowed, nothing delivered yet
        Submitted, // provider delivered; the client may approve or dispute until releasableAt
        Released, // paid to the provider (minus the fee)
        Refunded, // returned to the payer
        Resolved // settled by a dispute resolution (split between provider and payer)
    }

    /// @notice One engagement as stored (the schedule of milestones is read with `getMilestone`).
    struct EngagementView {
        address client; // who receives the service and approves milestones
        address provider; // who delivers and is paid
        address payer; // who funded the escrow; every refund goes here
        address token; // ERC-20 paid in, or address(0) for ETH
        address arbiter; // ARBITER_ROLE holder named at creation, never a party
        uint16 feeBps; // protocol fee on what the provider receives, fixed at creation
        uint32 reviewWindow; // seconds the client has to approve or dispute after a submission
        uint8 milestoneCount; // number of milestones
        uint8 openMilestones; // milestones neither released, refunded nor resolved
        bool accepted; // the provider agreed (accepted the request, or signed the offer)
        bool paid; // at least one milestone (or a dispute share) reached the provider
        uint40 disputedAt; // when the open dispute was raised, 0 when none is open
    }

    /// @notice One milestone as stored.
    struct MilestoneView {
        uint128 amount; // escrowed amount, fee included
        uint40 dueDate; // the provider should submit by then; afterwards the client may take it back
        uint40 releasableAt; // submission time + reviewWindow, 0 before submission
        MilestoneState state; // lifecycle state
        bool frozen; // covered by the open dispute
        uint16 providerShareBps; // for a Resolved milestone: the arbiter's provider share
    }

    /// @notice What Reputation and SkillCredential need to know about an engagement (`settlementOf`).
    struct Settlement {
        address client; // the client
        address provider; // the provider
        address token; // address(0) for ETH
        uint256 value; // total escrowed over all milestones
        uint256 providerGross; // what reached the provider, fee included (releases and arbiter shares)
        bool accepted; // the provider agreed
        bool settled; // every milestone is released, refunded or resolved
        bool paid; // something reached the provider
        bool arbitrated; // the arbiter ended a dispute on it with `resolveDispute` (never the timeout)
    }

    /// @notice Terms a provider signs once (EIP-712) so that a client can fund them without a
    ///         transaction from the provider. Either a custom engagement (`dueDates` given,
    ///         `sessionLength == 0`) or a session offer (`sessionLength > 0`, one amount, no due dates:
    ///         the due date is `startsAt + sessionLength + grace`).
    struct Offer {
        address provider; // who signed and will deliver
        address client; // the only client who may take it, or address(0) for any learner
        address token; // ERC-20 paid in, address(0) for ETH
        uint256[] amounts; // one amount per milestone, fee included
        uint64[] dueDates; // custom offer: one due date per milestone; session offer: empty
        uint32 sessionLength; // session offer: seconds the session lasts; 0 for a custom offer
        uint32 grace; // session offer: seconds after the session's end before it is due (reschedule grace)
        uint32 minNotice; // session offer: a session starts at least this many seconds after funding
        uint32 horizon; // session offer: a session starts at most this many seconds after funding (0: no limit)
        uint32 reviewWindow; // seconds the client has to approve or dispute after each submission
        address arbiter; // ARBITER_ROLE holder who is not a party
        bytes32 termsDigest; // sha2-256 digest of the terms document on IPFS
        uint256 nonce; // provider-chosen, one per offer (a single-use and a standing offer sharing a nonce are tracked apart); `cancelOffer(nonce)` ends both
        uint32 uses; // how many engagements the offer may fund (1 for a one-off offer)
        uint64 validUntil; // the offer cannot be used after this time
    }

    // ---------------------------------------------------------------- errors

    /// @notice The client and the provider are the same account.
    error EscrowSelfEngagement(address account);
    /// @notice The named arbiter is the client, the provider or the payer.
    error EscrowArbiterIsParty(address arbiter);
    /// @notice The named arbiter does not hold ARBITER_ROLE.
    error EscrowNotAnArbiter(address arbiter);
    /// @notice The token is not on the allow-list.
    error EscrowTokenNotAllowed(address token);
    /// @notice The token delivered less than the amount asked (fee-on-transfer or rebasing token).
    error EscrowFeeOnTransferToken(address token, uint256 expected, uint256 received);
    /// @notice No milestones, or more than `MAX_MILESTONES`.
    error EscrowMilestoneCount(uint256 count, uint256 max);
    /// @notice `amounts` and `dueDates` differ in length.
    error EscrowLengthMismatch(uint256 amounts, uint256 dueDates);
    /// @notice The review window is outside [MIN_REVIEW_WINDOW, MAX_REVIEW_WINDOW].
    error EscrowReviewWindowOutOfBounds(uint256 reviewWindow, uint256 min, uint256 max);
    /// @notice A milestone's due date is not in the future (or beyond uint32: the year 2106).
    error EscrowInvalidDueDate(uint256 index, uint256 dueDate, uint256 timestamp);
    /// @notice A milestone amount is zero or does not fit in uint96 (7.9e28 base units).
    error EscrowInvalidAmount(uint256 index, uint256 amount);
    /// @notice Every one of the 255 arbiter ids is taken (ids are never reused; a new deployment lifts it).
    error EscrowTooManyArbiters();
    /// @notice `msg.value` does not match what the engagement needs (the ETH total, or 0 for a token).
    error EscrowWrongValue(uint256 sent, uint256 expected);
    /// @notice This external payment reference already funded an engagement.
    error EscrowExternalRefUsed(bytes32 externalRef);
    /// @notice `fundFor` needs a non-zero external payment reference.
    error EscrowZeroExternalRef();
    /// @notice An address that must be set is zero.
    error EscrowZeroAddress();
    /// @notice No engagement has this id.
    error EscrowUnknownEngagement(uint256 id);
    /// @notice The engagement has no milestone at this index.
    error EscrowUnknownMilestone(uint256 id, uint256 index);
    /// @notice The caller may not do this on this engagement.
    error EscrowUnauthorizedCaller(uint256 id, address caller);
    /// @notice The milestone is not in a state that allows this action.
    error EscrowInvalidMilestoneState(uint256 id, uint256 index, MilestoneState state);
    /// @notice The review window of a submitted milestone has not ended yet.
    error EscrowNotYetReleasable(uint256 id, uint256 index, uint256 releasableAt);
    /// @notice There is no open dispute on the engagement.
    error EscrowNoOpenDispute(uint256 id);
    /// @notice Nothing on the engagement can still be disputed.
    error EscrowNothingToDispute(uint256 id);
    /// @notice Nothing on the engagement can be cancelled by this caller now.
    error EscrowNothingToCancel(uint256 id);
    /// @notice The arbiter still has time to resolve the dispute.
    error EscrowDisputeNotTimedOut(uint256 id, uint256 timeoutAt);
    /// @notice The provider's share is above 10,000 basis points.
    error EscrowInvalidShare(uint256 providerShareBps);
    /// @notice The fee is above `MAX_FEE_BPS`.
    error EscrowFeeTooHigh(uint256 feeBps, uint256 max);
    /// @notice The account has nothing to withdraw in this token.
    error EscrowNothingToWithdraw(address account, address token);
    /// @notice The engagement is not (yet) accepted by its provider.
    error EscrowNotAccepted(uint256 id);
    /// @notice The engagement was already accepted (or came from a signed offer).
    error EscrowAlreadyAccepted(uint256 id);
    /// @notice The request is no longer pending (it was withdrawn or declined).
    error EscrowNotPending(uint256 id);
    /// @notice A request cannot be accepted once one of its due dates has passed.
    error EscrowAcceptTooLate(uint256 id, uint256 dueDate);
    /// @notice The milestone is frozen by the open dispute.
    error EscrowMilestoneFrozen(uint256 id, uint256 index);
    /// @notice The offer's signature is not its provider's (ECDSA low-s, or EIP-1271).
    error EscrowInvalidSignature(address provider);
    /// @notice The offer's `validUntil` has passed.
    error EscrowOfferExpired(uint256 validUntil);
    /// @notice The transaction's `deadline` (the booking hold's expiry) has passed.
    error EscrowDeadlinePassed(uint256 deadline);
    /// @notice The offer names another client.
    error EscrowOfferNotForCaller(address client, address caller);
    /// @notice Every use of the offer is taken.
    error EscrowOfferUsedUp(address provider, uint256 nonce, uint256 uses);
    /// @notice The provider cancelled this offer nonce.
    error EscrowOfferCancelled(address provider, uint256 nonce);
    /// @notice The offer's shape is inconsistent (uses 0, or a session offer with due dates or
    ///         several amounts).
    error EscrowInvalidOffer();
    /// @notice `startsAt` is inside the minimum notice, past the booking horizon, or given for a
    ///         custom offer (which must pass 0).
    error EscrowInvalidStart(uint256 startsAt, uint256 earliest, uint256 latest);
    /// @notice Sending ETH to the recipient failed; the balance stays owed.
    error EscrowEthTransferFailed(address to, uint256 amount);
    /// @notice New engagements are paused.
    error EscrowPaused();

    // ---------------------------------------------------------------- events

    /// @notice An engagement was created and fully funded.
    /// @param id engagement id (sequential from 1)
    /// @param client who receives the service
    /// @param provider who delivers and is paid
    /// @param payer who funded it (client, or the card-payment relayer)
    /// @param token ERC-20 paid in, address(0) for ETH
    /// @param arbiter who resolves disputes
    /// @param feeBps protocol fee on provider receipts, fixed for this engagement
    /// @param reviewWindow seconds to approve or dispute after a submission
    /// @param amounts milestone amounts, fee included
    /// @param dueDates milestone due dates (unix seconds)
    /// @param termsDigest sha2-256 digest of the terms document on IPFS
    /// @param externalRef card payment reference (keccak256 of the Stripe session id), 0 for wallet funding
    ///      An engagement created from a signed offer is accepted from the start: `OfferUsed` follows in
    ///      the same transaction. Any other is a request until `EngagementAccepted`.
    event EngagementCreated(
        uint256 indexed id,
        address indexed client,
        address indexed provider,
        address payer,
        address token,
        address arbiter,
        uint16 feeBps,
        uint32 reviewWindow,
        uint256[] amounts,
        uint64[] dueDates,
        bytes32 termsDigest,
        bytes32 externalRef
    );

    /// @notice The provider accepted a funded request.
    event EngagementAccepted(uint256 indexed id, address indexed provider);

    /// @notice The client (or card payer) withdrew a request before the provider accepted it; all of
    ///         it was refunded to the payer (each milestone also emits MilestoneRefunded).
    event RequestWithdrawn(uint256 indexed id, address indexed by, uint256 refunded);

    /// @notice Engagement `id` was created from the provider's signed offer `nonce`.
    /// @param bookingRef the off-chain booking this engagement pays for (0 for none)
    /// @param startsAt the session's start for a session offer, 0 for a custom offer
    event OfferUsed(
        uint256 indexed id, address indexed provider, uint256 nonce, bytes32 indexed bookingRef, uint64 startsAt
    );

    /// @notice The provider cancelled an offer nonce: no engagement can be funded from it any more.
    event OfferCancelled(address indexed provider, uint256 nonce);

    /// @notice The provider submitted a milestone; it becomes auto-releasable at `releasableAt`.
    event MilestoneSubmitted(uint256 indexed id, uint256 index, bytes32 deliverableDigest, uint64 releasableAt);

    /// @notice A milestone was released: `amount` credited to the provider, `fee` to the treasury.
    event MilestoneReleased(uint256 indexed id, uint256 index, address indexed provider, uint256 amount, uint256 fee);

    /// @notice A milestone was returned to the payer.
    event MilestoneRefunded(uint256 indexed id, uint256 index, address indexed payer, uint256 amount);

    /// @notice A dispute froze the milestones in `frozenMask` (bit i = milestone i; on a dispute already
    ///         open, the ones added now); the arbiter decides until `timeoutAt`.
    event DisputeRaised(uint256 indexed id, address indexed by, uint64 raisedAt, uint64 timeoutAt, uint16 frozenMask);

    /// @notice A dispute was settled over its frozen milestones: by the arbiter (state `Resolved`), or by
    ///         the timeout rule (each frozen milestone `Released` or `Refunded`, with its own event).
    /// @param providerAmount credited to the provider (fee deducted)
    /// @param payerAmount credited to the payer
    /// @param fee credited to the treasury
    /// @param byTimeout true when settled by the default rule after `DISPUTE_TIMEOUT`
    event DisputeResolved(
        uint256 indexed id,
        address indexed by,
        uint16 providerShareBps,
        uint256 providerAmount,
        uint256 payerAmount,
        uint256 fee,
        bool byTimeout
    );

    /// @notice A cancel call refunded `refunded` to the payer (its milestones also emit MilestoneRefunded).
    event EngagementCancelled(uint256 indexed id, address indexed by, uint256 refunded);

    /// @notice `account` withdrew `amount` of `token` to `to`.
    event Withdrawn(address indexed account, address indexed token, address indexed to, uint256 amount);

    /// @notice The admin added or removed a token from the allow-list.
    event TokenAllowed(address indexed token, bool allowed);
    /// @notice The admin changed the fee for new engagements.
    event FeeUpdated(uint16 feeBps);
    /// @notice The admin changed the treasury that receives fees.
    event TreasuryUpdated(address indexed treasury);
    /// @notice New engagements were paused (true) or resumed (false).
    event PauseChanged(bool paused);

    // ---------------------------------------------------------------- functions

    /// @notice Creates an engagement funded by the caller (the client). ETH: `token == address(0)`
    ///         and `msg.value` equals the sum of `amounts`; ERC-20: approve the sum first, `msg.value == 0`.
    /// @param provider who delivers; must differ from the caller
    /// @param token allow-listed ERC-20 or address(0) for ETH
    /// @param amounts one amount per milestone (fee included), each > 0
    /// @param dueDates one future due date per milestone
    /// @param reviewWindow seconds the client has to approve or dispute after each submission
    /// @param arbiter ARBITER_ROLE holder who is not a party
    /// @param termsDigest sha2-256 digest of the terms on IPFS
    /// @return id the new engagement id
    function createEngagement(
        address provider,
        address token,
        uint256[] calldata amounts,
        uint64[] calldata dueDates,
        uint32 reviewWindow,
        address arbiter,
        bytes32 termsDigest
    ) external payable returns (uint256 id);

    /// @notice Creates an engagement for `client`, funded by the caller (FUNDER_ROLE, the card-payment
    ///         relayer), who becomes the payer. `externalRef` can fund at most one engagement.
    /// @return id the new engagement id
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
    ) external payable returns (uint256 id);

    /// @notice Funds the provider's signed offer as the client (the caller). Accepted from the start.
    /// @param offer the terms the provider signed
    /// @param signature the provider's EIP-712 signature (65-byte ECDSA, low-s) or EIP-1271 proof
    /// @param startsAt session offer: the session's start (within notice and horizon); custom offer: 0
    /// @param bookingRef the off-chain booking id, emitted in `OfferUsed` (0 for none)
    /// @param deadline the call reverts after this time (the booking hold's expiry)
    /// @return id the new engagement id
    function createEngagementWithOffer(
        Offer calldata offer,
        bytes calldata signature,
        uint64 startsAt,
        bytes32 bookingRef,
        uint64 deadline
    ) external payable returns (uint256 id);

    /// @notice Funds the provider's signed offer for `client` (FUNDER_ROLE: the card-payment relayer,
    ///         which becomes the payer). `externalRef` can fund at most one engagement.
    /// @return id the new engagement id
    function fundForWithOffer(
        Offer calldata offer,
        bytes calldata signature,
        address client,
        uint64 startsAt,
        bytes32 bookingRef,
        uint64 deadline,
        bytes32 externalRef
    ) external payable returns (uint256 id);

    /// @notice The provider cancels an offer nonce (single-use or standing) before it is used up.
    function cancelOffer(uint256 nonce) external;

    /// @notice The provider accepts a funded request. Reverts once any of its due dates has passed.
    function acceptEngagement(uint256 id) external;

    /// @notice The client or the card payer takes a request back before the provider accepted it:
    ///         everything to the payer, no fee.
    function withdrawRequest(uint256 id) external;

    /// @notice Provider marks a milestone delivered; the client then has `reviewWindow` seconds.
    function submitMilestone(uint256 id, uint256 index, bytes32 deliverableDigest) external;

    /// @notice Client releases a funded or submitted milestone to the provider (minus the fee).
    function approveMilestone(uint256 id, uint256 index) external;

    /// @notice Anyone releases a submitted milestone once `block.timestamp >= releasableAt`, unless the open
    ///         dispute froze it.
    function autoRelease(uint256 id, uint256 index) external;

    /// @notice Freezes, for the arbiter, the milestones that can be disputed now: submitted ones still in
    ///         their review window (client or card payer only) and funded ones past their due date (client,
    ///         card payer or provider). Reverts when none is eligible. While a dispute is open, a new call
    ///         adds the newly eligible milestones to it and restarts the arbiter's `DISPUTE_TIMEOUT`.
    function raiseDispute(uint256 id) external;

    /// @notice The engagement's arbiter splits each frozen milestone: `providerShareBps` of it to the
    ///         provider (minus the fee), the rest to the payer. Once.
    function resolveDispute(uint256 id, uint16 providerShareBps) external;

    /// @notice Anyone settles a dispute the arbiter left open for `DISPUTE_TIMEOUT` by the default
    ///         rule (see the contract documentation).
    function settleExpiredDispute(uint256 id) external;

    /// @notice Provider (any time, also to decline a request): everything unreleased and not frozen goes
    ///         back to the payer. Client of an accepted engagement: every never-submitted, unfrozen milestone
    ///         whose due date has passed goes back to the payer.
    function cancel(uint256 id) external;

    /// @notice Sends the caller everything owed to it in `token` (address(0) for ETH).
    function withdraw(address token) external;

    /// @notice Sends everything owed to the caller in `token` to `to`.
    function withdrawTo(address token, address to) external;

    /// @notice Amount of `token` owed to `account`, withdrawable now.
    function owed(address token, address account) external view returns (uint256);

    /// @notice The stored engagement.
    function getEngagement(uint256 id) external view returns (EngagementView memory);

    /// @notice One stored milestone.
    function getMilestone(uint256 id, uint256 index) external view returns (MilestoneView memory);

    /// @notice The parties and settlement state of an engagement (cheap: no loop over milestones).
    /// @return client the client
    /// @return provider the provider
    /// @return settled the provider accepted and every milestone is released, refunded or resolved
    /// @return paid something reached the provider
    function engagementStatus(uint256 id)
        external
        view
        returns (address client, address provider, bool settled, bool paid);

    /// @notice What Reputation needs to know about an engagement (one loop over its milestones).
    function settlementOf(uint256 id) external view returns (Settlement memory);

    /// @notice How many engagements `provider`'s offer `nonce` has funded (type(uint256).max once cancelled;
    ///         single-use offers are tracked in a bitmap: see `isOfferNonceUsed`).
    function offerUses(address provider, uint256 nonce) external view returns (uint256);

    /// @notice Whether a single-use offer `nonce` of `provider` was used or cancelled.
    function isOfferNonceUsed(address provider, uint256 nonce) external view returns (bool);

    /// @notice EIP-712 digest of an offer, as the provider's wallet signs it.
    function offerDigest(Offer calldata offer) external view returns (bytes32);
}
