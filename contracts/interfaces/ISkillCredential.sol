// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title ISkillCredential — soulbound ERC-721 (EIP-5192) skill credentials
/// @notice A credential's token id IS the sha2-256 digest of its metadata document (<= 256 KiB), so
///         `tokenURI` is derived from the id — `ipfs://` + the CIDv1 (raw codec, sha2-256) that
///         `ipfs add --cid-version 1 --raw-leaves` prints for the file — and nothing per token is a string.
///         The metadata names its holder and issuance, so each credential has its own digest.
interface ISkillCredential {
    /// @notice EIP-712 voucher an issuer signs so that anyone may mint the credential for the recipient.
    struct Voucher {
        address issuer; // the ISSUER_ROLE holder whose signature this is (binds the signature to it)
        address recipient; // receives the credential
        bytes32 skillId; // keccak256 of the skill's canonical slug
        bytes32 metadataDigest; // sha2-256 of the metadata document; becomes the token id
        uint64 expiresAt; // unix seconds, 0 for never
        uint256 engagementId; // SkillEscrow engagement it came from, 0 for none
        uint256 nonce; // issuer-chosen, single use, cancellable
        uint64 validUntil; // the voucher expires after this time
    }

    /// @notice Everything a verifier needs, in one call.
    struct Verification {
        bool exists; // minted and not burned
        address holder; // current holder
        address issuer; // who issued it
        bytes32 skillId; // skill proven
        uint64 issuedAt; // unix seconds
        uint64 expiresAt; // unix seconds, 0 for never
        bool revoked; // revoked by its issuer or the admin
        bool valid; // exists, not revoked, not expired
        bool issuerAccredited; // the issuer still holds ISSUER_ROLE (shown separately: policy is the verifier's)
        uint256 engagementId; // the SkillEscrow engagement backing it, 0 for none
    }

    /// @notice Every transfer path of a soulbound token reverts.
    error CredentialSoulbound(uint256 tokenId);
    /// @notice The caller (or the voucher's signer) does not hold ISSUER_ROLE.
    error CredentialNotIssuer(address account);
    /// @notice A credential with this metadata digest already exists.
    error CredentialAlreadyIssued(uint256 tokenId);
    /// @notice The recipient is the zero address.
    error CredentialInvalidRecipient(address recipient);
    /// @notice The expiry is in the past (use 0 for "never").
    error CredentialInvalidExpiry(uint64 expiresAt);
    /// @notice The engagement does not back this credential.
    /// @param reason 1 the issuer was not its provider, 2 the holder was not its client, 3 it is not
    ///        accepted and settled, 4 nothing was ever released to the provider
    error CredentialEngagementMismatch(uint256 engagementId, uint8 reason);
    /// @notice The voucher's signature is not the named issuer's.
    error CredentialInvalidSignature(address issuer);
    /// @notice The voucher's validity period is over.
    error CredentialVoucherExpired(uint64 validUntil);
    /// @notice The issuer already used or cancelled this nonce.
    error CredentialNonceUsed(address issuer, uint256 nonce);
    /// @notice Only the credential's issuer or the admin may revoke it.
    error CredentialUnauthorizedRevoker(uint256 tokenId, address caller);
    /// @notice Only the holder may burn a credential.
    error CredentialNotHolder(uint256 tokenId, address caller);
    /// @notice The voucher names another issuer than the one given.
    error CredentialVoucherIssuerMismatch(address voucherIssuer, address issuer);
    /// @notice This token id (metadata digest) was revoked once; it can never be issued again.
    error CredentialRevokedForever(uint256 tokenId);
    /// @notice The engagement already backs a credential for this skill.
    error CredentialEngagementUsed(uint256 engagementId, bytes32 skillId);
    /// @notice The credential is already revoked.
    error CredentialAlreadyRevoked(uint256 tokenId);
    /// @notice New credentials are paused.
    error CredentialPaused();
    /// @notice An address that must be set is zero.
    error CredentialZeroAddress();

    /// @notice A credential was issued (alongside ERC-721 `Transfer` and EIP-5192 `Locked`).
    /// @param tokenId the metadata digest as a number
    /// @param engagementId backing engagement, 0 for none
    event CredentialIssued(
        uint256 indexed tokenId,
        address indexed holder,
        address indexed issuer,
        bytes32 skillId,
        uint64 issuedAt,
        uint64 expiresAt,
        uint256 engagementId
    );

    /// @notice A credential was revoked; the reason document is on IPFS.
    event CredentialRevoked(uint256 indexed tokenId, address indexed by, bytes32 reasonDigest);

    /// @notice An issuer cancelled a voucher nonce before anyone redeemed it.
    event VoucherCancelled(address indexed issuer, uint256 nonce);

    /// @notice New credentials were paused (true) or resumed (false).
    event PauseChanged(bool paused);

    /// @notice Issues a credential to `to` (ISSUER_ROLE). `engagementId` (0 for none) must be an
    ///         accepted, settled SkillEscrow engagement with something released, provided by the caller to
    ///         `to`, and not yet backing a credential for `skillId`. A revoked token id never comes back.
    /// @return tokenId the new token id (= uint256(metadataDigest))
    function issue(address to, bytes32 skillId, bytes32 metadataDigest, uint64 expiresAt, uint256 engagementId)
        external
        returns (uint256 tokenId);

    /// @notice Mints the credential a voucher describes to its recipient; anyone may submit it.
    /// @param issuer the ISSUER_ROLE holder who signed (an EOA, or a contract wallet via EIP-1271)
    /// @param signature EIP-712 signature over the voucher
    /// @return tokenId the new token id
    function issueWithVoucher(Voucher calldata voucher, address issuer, bytes calldata signature)
        external
        returns (uint256 tokenId);

    /// @notice The caller (an issuer) cancels a voucher nonce so the voucher can never be redeemed.
    function cancelVoucher(uint256 nonce) external;

    /// @notice Revokes a credential for good: its issuer while accredited, or the admin. Never blocked by
    ///         pausing; burning the token afterwards does not clear the revocation.
    /// @param reasonDigest sha2-256 of the reason document on IPFS
    function revoke(uint256 tokenId, bytes32 reasonDigest) external;

    /// @notice The holder drops a credential. Never blocked by pausing.
    function burn(uint256 tokenId) external;

    /// @notice One view for verifiers; never reverts (a missing credential has `exists == false`).
    function verify(uint256 tokenId) external view returns (Verification memory);

    /// @notice Whether token id `tokenId` was ever revoked (burned tokens included).
    function isRevoked(uint256 tokenId) external view returns (bool);

    /// @notice Whether the issuer has used or cancelled `nonce`.
    function isNonceUsed(address issuer, uint256 nonce) external view returns (bool);

    /// @notice EIP-712 digest of a voucher, as the issuer's wallet signs it.
    function voucherDigest(Voucher calldata voucher) external view returns (bytes32);
}
