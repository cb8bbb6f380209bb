// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IReputation — reviews that only real, settled engagements can produce
/// @notice The client and the provider of an accepted engagement whose every milestone is settled may
///         each review the other once, when at least the admin-set minimum for its token (fee included)
///         reached the provider, or when the engagement's arbiter resolved a dispute on it. A token
///         without a minimum is not reviewable. Aggregates are kept per role: as a provider and as a client.
interface IReputation {
    /// @notice The role in which the reviewed account took part in the engagement.
    enum Role {
        Provider, // the subject delivered the work
        Client // the subject received the work
    }

    /// @notice Review counts and rating sums of one account, per role.
    struct Aggregate {
        uint64 providerCount; // reviews received as a provider
        uint64 providerSum; // sum of their ratings
        uint64 clientCount; // reviews received as a client
        uint64 clientSum; // sum of their ratings
    }

    /// @notice The caller is neither the client nor the provider of the engagement.
    error ReputationNotParty(uint256 engagementId, address caller);
    /// @notice The provider never accepted the engagement.
    error ReputationNotAccepted(uint256 engagementId);
    /// @notice No review minimum is set for the token, so its engagements are not reviewable.
    error ReputationNoMinimum(address token);
    /// @notice Some milestone of the engagement is still open.
    error ReputationNotSettled(uint256 engagementId);
    /// @notice Less than the review minimum for its token reached the provider (`paid`, fee included), or,
    ///         for an engagement the arbiter resolved, was escrowed.
    error ReputationBelowMinimum(uint256 engagementId, address token, uint256 paid, uint256 minimum);
    /// @notice This side of the engagement has already reviewed.
    error ReputationAlreadyReviewed(uint256 engagementId, address reviewer);
    /// @notice The rating is not between 1 and 5.
    error ReputationInvalidRating(uint8 rating);
    /// @notice An address that must be set is zero.
    error ReputationZeroAddress();

    /// @notice `reviewer` rated `subject`, who took part as `role`, in engagement `engagementId`.
    /// @param commentDigest sha2-256 digest of the comment document on IPFS (0 for none)
    event ReviewSubmitted(
        uint256 indexed engagementId,
        address indexed reviewer,
        address indexed subject,
        Role role,
        uint8 rating,
        bytes32 commentDigest
    );

    /// @notice The admin set the smallest amount that must reach a provider for a review, per token.
    event ReviewMinimumSet(address indexed token, uint256 minimum);

    /// @notice Reviews the other party of an accepted, settled engagement with real payment (or an
    ///         arbiter's decision), once per side.
    /// @param engagementId the SkillEscrow engagement
    /// @param rating 1 (worst) to 5 (best)
    /// @param commentDigest sha2-256 digest of the comment on IPFS, 0 for none
    function review(uint256 engagementId, uint8 rating, bytes32 commentDigest) external;

    /// @notice Review counts and rating sums of `subject` as a provider and as a client.
    function reputationOf(address subject)
        external
        view
        returns (uint256 providerCount, uint256 providerSum, uint256 clientCount, uint256 clientSum);

    /// @notice Whether `reviewer` has reviewed engagement `engagementId`.
    function hasReviewed(uint256 engagementId, address reviewer) external view returns (bool);
}
