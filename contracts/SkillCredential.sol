// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControlDefaultAdminRules} from
    "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC5192} from "./interfaces/IERC5192.sol";
import {ISkillCredential} from "./interfaces/ISkillCredential.sol";
import {ISkillEscrow} from "./interfaces/ISkillEscrow.sol";

/// @title SkillCredential — soulbound skill credentials (ERC-721 + EIP-5192) with vouchers and revocation
/// @notice Immutable (no proxy). Issuers hold ISSUER_ROLE (accreditation by the admin); they may be EOAs
///         or contract wallets (EIP-1271). Pausing stops new credentials only; revoke and burn always work.
/// @dev Written for cheap issuance: the token id is the metadata digest (so tokenURI needs no storage),
///      holder, issue time, expiry and issuer id share one slot, and the skill id takes one more.
///      Transfers are impossible, so no approval state exists. Invariant for overriders: a token's slot
///      is written only by `_issue` and cleared only by `burn`.
contract SkillCredential is
    ISkillCredential,
    IERC721Metadata,
    IERC721Errors,
    IERC5192,
    AccessControlDefaultAdminRules,
    EIP712
{
    /// @notice Accredited issuers.
    bytes32 public constant ISSUER_ROLE = keccak256("ISSUER_ROLE");
    /// @notice May pause and resume new credentials.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice EIP-712 type hash of `Voucher`.
    bytes32 public constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address issuer,address recipient,bytes32 skillId,bytes32 metadataDigest,uint64 expiresAt,uint256 engagementId,uint256 nonce,uint64 validUntil)"
    );

    /// @notice The escrow whose engagements can back credentials.
    ISkillEscrow public immutable escrow;

    bytes4 private constant _ERC5192_ID = 0xb45a3c0e;
    // CIDv1 header: version 1, raw codec (0x55), sha2-256 multihash (0x12), 32-byte digest (0x20).
    bytes4 private constant _CID_PREFIX = 0x01551220;
    bytes private constant _BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

    struct Token {
        address holder; // current holder
        uint32 issuedAt; // unix seconds
        uint32 expiresAt; // unix seconds, 0 for never
        uint32 issuerId; // index into _issuerById
    }

    struct IssuerInfo {
        uint32 id; // assigned when first accredited, never reused
        bool accredited; // mirrors ISSUER_ROLE, read in the same slot as the id
    }

    mapping(uint256 tokenId => Token) private _tokens;
    mapping(uint256 tokenId => bytes32) private _skills;
    // Never cleared, not even by burn: a revoked token id (= metadata digest) stays revoked for good.
    mapping(uint256 tokenId => bool) private _revoked;
    // Written only for engagement-backed credentials.
    mapping(uint256 tokenId => uint256 engagementId) private _engagementOf;
    mapping(bytes32 engagementAndSkill => bool) private _engagementBacked;
    mapping(address holder => uint256) private _balances;
    mapping(address issuer => IssuerInfo) private _issuerInfo;
    mapping(address issuer => mapping(uint256 word => uint256 bits)) private _usedNonces;
    address[] private _issuerById;
    bool private _paused;

    /// @param admin DEFAULT_ADMIN_ROLE holder (two-step handover with `adminDelay`)
    /// @param adminDelay seconds a new admin must wait before accepting the role
    /// @param escrow_ the SkillEscrow deployment
    constructor(address admin, uint48 adminDelay, ISkillEscrow escrow_)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("SkillCredential", "1")
    {
        if (address(escrow_) == address(0)) revert CredentialZeroAddress();
        escrow = escrow_;
        _issuerById.push(address(0)); // id 0 means "none"
    }

    // ---------------------------------------------------------------- issuing

    /// @inheritdoc ISkillCredential
    function issue(address to, bytes32 skillId, bytes32 metadataDigest, uint64 expiresAt, uint256 engagementId)
        external
        returns (uint256 tokenId)
    {
        tokenId = _issue(msg.sender, to, skillId, metadataDigest, expiresAt, engagementId);
    }

    /// @inheritdoc ISkillCredential
    function issueWithVoucher(Voucher calldata voucher, address issuer, bytes calldata signature)
        external
        returns (uint256 tokenId)
    {
        if (block.timestamp > voucher.validUntil) revert CredentialVoucherExpired(voucher.validUntil);
        // The signed voucher names its issuer, so one owner's signature cannot serve another of its
        // wallets (an EIP-1271 wallet that checks its owner's signature over the raw hash).
        if (voucher.issuer != issuer) revert CredentialVoucherIssuerMismatch(voucher.issuer, issuer);
        _useNonce(issuer, voucher.nonce);
        // ECDSA (low-s only, so no malleable twin) for EOAs, EIP-1271 for contract wallets. The digest
        // binds this chain id and this contract's address through the EIP-712 domain.
        if (!SignatureChecker.isValidSignatureNow(issuer, _hashTypedDataV4(_voucherHash(voucher)), signature)) {
            revert CredentialInvalidSignature(issuer);
        }
        tokenId = _issue(
            issuer,
            voucher.recipient,
            voucher.skillId,
            voucher.metadataDigest,
            voucher.expiresAt,
            voucher.engagementId
        );
    }

    /// @inheritdoc ISkillCredential
    function cancelVoucher(uint256 nonce) external {
        _useNonce(msg.sender, nonce);
        emit VoucherCancelled(msg.sender, nonce);
    }

    function _issue(
        address issuer,
        address to,
        bytes32 skillId,
        bytes32 metadataDigest,
        uint64 expiresAt,
        uint256 engagementId
    ) private returns (uint256 tokenId) {
        if (_paused) revert CredentialPaused();
        IssuerInfo memory info = _issuerInfo[issuer];
        if (!info.accredited) revert CredentialNotIssuer(issuer);
        if (to == address(0)) revert CredentialInvalidRecipient(to);
        if (expiresAt != 0 && (expiresAt <= block.timestamp || expiresAt > type(uint32).max)) {
            revert CredentialInvalidExpiry(expiresAt);
        }
        tokenId = uint256(metadataDigest);
        if (_tokens[tokenId].holder != address(0)) revert CredentialAlreadyIssued(tokenId);
        if (_revoked[tokenId]) revert CredentialRevokedForever(tokenId);
        if (engagementId != 0) {
            _checkEngagement(engagementId, issuer, to);
            bytes32 key = keccak256(abi.encode(engagementId, skillId));
            if (_engagementBacked[key]) revert CredentialEngagementUsed(engagementId, skillId);
            _engagementBacked[key] = true;
            _engagementOf[tokenId] = engagementId;
        }

        _tokens[tokenId] = Token({
            holder: to,
            issuedAt: uint32(block.timestamp),
            expiresAt: uint32(expiresAt),
            issuerId: info.id
        });
        _skills[tokenId] = skillId;
        unchecked {
            _balances[to] += 1; // cannot overflow: one token per distinct 256-bit digest
        }
        emit Transfer(address(0), to, tokenId);
        emit Locked(tokenId);
        emit CredentialIssued(tokenId, to, issuer, skillId, uint64(block.timestamp), expiresAt, engagementId);
    }

    /// @dev The engagement must be provided by the issuer to the holder, settled, with something released.
    function _checkEngagement(uint256 engagementId, address issuer, address holder) private view {
        (address client, address provider, bool settled, bool paid) = escrow.engagementStatus(engagementId);
        if (provider != issuer) revert CredentialEngagementMismatch(engagementId, 1);
        if (client != holder) revert CredentialEngagementMismatch(engagementId, 2);
        if (!settled) revert CredentialEngagementMismatch(engagementId, 3);
        if (!paid) revert CredentialEngagementMismatch(engagementId, 4);
    }

    function _useNonce(address issuer, uint256 nonce) private {
        uint256 bit = 1 << (nonce & 0xff);
        uint256 bits = _usedNonces[issuer][nonce >> 8];
        if (bits & bit != 0) revert CredentialNonceUsed(issuer, nonce);
        _usedNonces[issuer][nonce >> 8] = bits | bit;
    }

    function _voucherHash(Voucher calldata v) private pure returns (bytes32) {
        return keccak256(
            abi.encode(
                VOUCHER_TYPEHASH,
                v.issuer,
                v.recipient,
                v.skillId,
                v.metadataDigest,
                v.expiresAt,
                v.engagementId,
                v.nonce,
                v.validUntil
            )
        );
    }

    // ---------------------------------------------------------------- revoking and burning

    /// @inheritdoc ISkillCredential
    function revoke(uint256 tokenId, bytes32 reasonDigest) external {
        Token storage t = _existing(tokenId);
        // An issuer whose accreditation was withdrawn (say, a compromised key) can no longer revoke.
        bool byIssuer = msg.sender == _issuerById[t.issuerId] && _issuerInfo[msg.sender].accredited;
        if (!byIssuer && !hasRole(DEFAULT_ADMIN_ROLE, msg.sender)) {
            revert CredentialUnauthorizedRevoker(tokenId, msg.sender);
        }
        if (_revoked[tokenId]) revert CredentialAlreadyRevoked(tokenId);
        _revoked[tokenId] = true;
        emit CredentialRevoked(tokenId, msg.sender, reasonDigest);
    }

    /// @inheritdoc ISkillCredential
    function burn(uint256 tokenId) external {
        address holder = _existing(tokenId).holder;
        if (msg.sender != holder) revert CredentialNotHolder(tokenId, msg.sender);
        delete _tokens[tokenId];
        delete _skills[tokenId];
        // _revoked stays: burning must never launder a revocation. _engagementOf and _engagementBacked
        // stay too: an engagement backs one credential per skill, once.
        unchecked {
            _balances[holder] -= 1;
        }
        emit Transfer(holder, address(0), tokenId);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ISkillCredential
    function verify(uint256 tokenId) external view returns (Verification memory v) {
        Token memory t = _tokens[tokenId];
        if (t.holder == address(0)) return v;
        address issuer = _issuerById[t.issuerId];
        bool revoked = _revoked[tokenId];
        bool expired = t.expiresAt != 0 && block.timestamp >= t.expiresAt;
        v = Verification({
            exists: true,
            holder: t.holder,
            issuer: issuer,
            skillId: _skills[tokenId],
            issuedAt: t.issuedAt,
            expiresAt: t.expiresAt,
            revoked: revoked,
            valid: !revoked && !expired,
            issuerAccredited: _issuerInfo[issuer].accredited,
            engagementId: _engagementOf[tokenId]
        });
    }

    /// @inheritdoc ISkillCredential
    function isRevoked(uint256 tokenId) external view returns (bool) {
        return _revoked[tokenId];
    }

    /// @inheritdoc ISkillCredential
    function isNonceUsed(address issuer, uint256 nonce) external view returns (bool) {
        return _usedNonces[issuer][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc ISkillCredential
    function voucherDigest(Voucher calldata voucher) external view returns (bytes32) {
        return _hashTypedDataV4(_voucherHash(voucher));
    }

    /// @notice Whether new credentials are paused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @notice Pauses (true) or resumes (false) new credentials. Revoke and burn are never paused.
    function setPaused(bool paused_) external onlyRole(PAUSER_ROLE) {
        _paused = paused_;
        emit PauseChanged(paused_);
    }

    // ---------------------------------------------------------------- ERC-721 / EIP-5192

    /// @inheritdoc IERC721Metadata
    function name() external pure returns (string memory) {
        return "Skillchain Credential";
    }

    /// @inheritdoc IERC721Metadata
    function symbol() external pure returns (string memory) {
        return "SKILL";
    }

    /// @notice `ipfs://` + the CIDv1 (base32, raw codec, sha2-256) of the metadata whose digest is `tokenId`.
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        _existing(tokenId);
        bytes memory cid = abi.encodePacked(_CID_PREFIX, bytes32(tokenId)); // 36 bytes
        bytes memory out = new bytes(8 + 58); // "ipfs://b" + ceil(288 / 5) base32 characters
        bytes memory prefix = "ipfs://b";
        for (uint256 i; i < 8; ++i) {
            out[i] = prefix[i];
        }
        uint256 buffer = 0;
        uint256 bits = 0;
        uint256 o = 8;
        for (uint256 i; i < 36; ++i) {
            buffer = (buffer << 8) | uint8(cid[i]);
            bits += 8;
            while (bits >= 5) {
                bits -= 5;
                out[o++] = _BASE32[(buffer >> bits) & 31];
            }
        }
        if (bits > 0) out[o] = _BASE32[(buffer << (5 - bits)) & 31];
        return string(out);
    }

    /// @inheritdoc IERC5192
    function locked(uint256 tokenId) external view returns (bool) {
        _existing(tokenId);
        return true;
    }

    /// @inheritdoc IERC721
    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ERC721InvalidOwner(address(0));
        return _balances[owner];
    }

    /// @inheritdoc IERC721
    function ownerOf(uint256 tokenId) external view returns (address) {
        return _existing(tokenId).holder;
    }

    /// @notice Soulbound: always reverts.
    function safeTransferFrom(address, address, uint256 tokenId, bytes calldata) external pure {
        revert CredentialSoulbound(tokenId);
    }

    /// @notice Soulbound: always reverts.
    function safeTransferFrom(address, address, uint256 tokenId) external pure {
        revert CredentialSoulbound(tokenId);
    }

    /// @notice Soulbound: always reverts.
    function transferFrom(address, address, uint256 tokenId) external pure {
        revert CredentialSoulbound(tokenId);
    }

    /// @notice Soulbound: approvals are meaningless and always revert.
    function approve(address, uint256 tokenId) external pure {
        revert CredentialSoulbound(tokenId);
    }

    /// @notice Soulbound: approvals are meaningless and always revert.
    function setApprovalForAll(address, bool) external pure {
        revert CredentialSoulbound(0);
    }

    /// @notice Always the zero address (nothing can be approved); reverts for a missing token.
    function getApproved(uint256 tokenId) external view returns (address) {
        _existing(tokenId);
        return address(0);
    }

    /// @notice Always false: nothing can be approved.
    function isApprovedForAll(address, address) external pure returns (bool) {
        return false;
    }

    /// @notice ERC-165: ERC-721, ERC-721 Metadata, EIP-5192, and the access-control interfaces.
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(AccessControlDefaultAdminRules, IERC165)
        returns (bool)
    {
        return interfaceId == type(IERC721).interfaceId || interfaceId == type(IERC721Metadata).interfaceId
            || interfaceId == _ERC5192_ID || super.supportsInterface(interfaceId);
    }

    // ---------------------------------------------------------------- internals

    function _existing(uint256 tokenId) private view returns (Token storage t) {
        t = _tokens[tokenId];
        if (t.holder == address(0)) revert ERC721NonexistentToken(tokenId);
    }

    /// @dev Keeps the packed issuer record in step with ISSUER_ROLE.
    function _grantRole(bytes32 role, address account) internal override returns (bool granted) {
        granted = super._grantRole(role, account);
        if (role == ISSUER_ROLE) {
            IssuerInfo storage info = _issuerInfo[account];
            if (info.id == 0) {
                info.id = uint32(_issuerById.length);
                _issuerById.push(account);
            }
            info.accredited = true;
        }
    }

    /// @dev Revoking accreditation keeps the issuer id: its past credentials stay attributed.
    function _revokeRole(bytes32 role, address account) internal override returns (bool revoked) {
        revoked = super._revokeRole(role, account);
        if (role == ISSUER_ROLE) _issuerInfo[account].accredited = false;
    }
}
