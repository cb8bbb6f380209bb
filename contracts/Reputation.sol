// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IReputation} from "./interfaces/IReputation.sol";
import {ISkillEscrow} from "./interfaces/ISkillEscrow.sol";

/// @title Reputation — on-chain reviews backed by settled SkillEscrow engagements
/// @notice Immutable (no proxy). Comment texts live on IPFS; only their digests are recorded.
contract Reputation is IReputation, AccessControlDefaultAdminRules {
    /// @notice The escrow whose engagements may be reviewed.
    ISkillEscrow public immutable escrow;

    mapping(address subject => Aggregate) private _aggregates;
    // bit 0: the client reviewed, bit 1: the provider reviewed
    mapping(uint256 engagementId => uint8) private _reviewedSides;
    mapping(address token => uint256) private _minimums;

    /// @param admin DEFAULT_ADMIN_ROLE holder (two-step handover with `adminDelay`)
    /// @param adminDelay seconds a new admin must wait before accepting the role
    /// @param escrow_ the SkillEscrow deployment
    constructor(address admin, uint48 adminDelay, ISkillEscrow escrow_)
        AccessControlDefaultAdminRules(adminDelay, admin)
    {
        if (address(escrow_) == address(0)) revert ReputationZeroAddress();
        escrow = escrow_;
    }

    /// @inheritdoc IReputation
    function review(uint256 engagementId, uint8 rating, bytes32 commentDigest) external {
        if (rating < 1 || rating > 5) revert ReputationInvalidRating(rating);
        ISkillEscrow.Settlement memory s = escrow.settlementOf(engagementId);

        bool byClient = msg.sender == s.client;
        if (!byClient && msg.sender != s.provider) revert ReputationNotParty(engagementId, msg.sender);
        (address subject, Role role, uint8 side) =
            byClient ? (s.provider, Role.Provider, uint8(1)) : (s.client, Role.Client, uint8(2));
        // Consent first: an engagement the provider never agreed to says nothing about the provider.
        if (!s.accepted) revert ReputationNotAccepted(engagementId);
        if (!s.settled) revert ReputationNotSettled(engagementId);
        uint256 minimum = _minimums[s.token];
        if (minimum == 0) revert ReputationNoMinimum(s.token);
        // Real work: at least the minimum reached the provider (so a fake review costs the fee on it),
        // or the arbiter weighed a dispute over it. A refund alone — a cancel, a withdrawn request, a
        // dispute settled by the timeout — never makes an engagement reviewable.
        if (s.arbitrated) {
            // The arbiter weighed it, but it must still have been real money: a 1-wei engagement left to
            // go overdue and disputed does not buy a review.
            if (s.value < minimum) revert ReputationBelowMinimum(engagementId, s.token, s.value, minimum);
        } else if (s.providerGross < minimum) {
            revert ReputationBelowMinimum(engagementId, s.token, s.providerGross, minimum);
        }
        uint8 sides = _reviewedSides[engagementId];
        if (sides & side != 0) revert ReputationAlreadyReviewed(engagementId, msg.sender);

        _reviewedSides[engagementId] = sides | side;
        Aggregate storage a = _aggregates[subject];
        if (role == Role.Provider) {
            a.providerCount += 1;
            a.providerSum += rating;
        } else {
            a.clientCount += 1;
            a.clientSum += rating;
        }
        emit ReviewSubmitted(engagementId, msg.sender, subject, role, rating, commentDigest);
    }

    /// @notice Sets the smallest amount (in `token` units, fee included; address(0) for ETH) that must
    ///         reach the provider for its engagement to be reviewable. 0 makes the token unreviewable.
    function setReviewMinimum(address token, uint256 minimum) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _minimums[token] = minimum;
        emit ReviewMinimumSet(token, minimum);
    }

    /// @notice The smallest amount that must reach the provider for a review, per token (0: none allowed).
    function reviewMinimum(address token) external view returns (uint256) {
        return _minimums[token];
    }

    /// @inheritdoc IReputation
    function reputationOf(address subject)
        external
        view
        returns (uint256 providerCount, uint256 providerSum, uint256 clientCount, uint256 clientSum)
    {
        Aggregate storage a = _aggregates[subject];
        return (a.providerCount, a.providerSum, a.clientCount, a.clientSum);
    }

    /// @inheritdoc IReputation
    function hasReviewed(uint256 engagementId, address reviewer) external view returns (bool) {
        // Only the parties are needed here; the settlement state is irrelevant to "has reviewed".
        // slither-disable-next-line unused-return
        (address client, address provider,,) = escrow.engagementStatus(engagementId);
        uint8 sides = _reviewedSides[engagementId];
        if (reviewer == client) return sides & 1 != 0;
        if (reviewer == provider) return sides & 2 != 0;
        return false;
    }
}
