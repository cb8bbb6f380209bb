"""SkillCredential: issuing, verification, expiry, revocation, vouchers, EIP-1271 issuers, soulbound rules."""

from __future__ import annotations

import hashlib
from typing import Any

import ape
import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from chain.vouchers import voucher_typed_data
from tests.contracts.conftest import DAY

SKILL = hashlib.sha3_256(b"unused").digest()  # any 32 bytes; the API derives it from the slug
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
ONE = 10**18


def digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def token_id(d: bytes) -> int:
    return int.from_bytes(d, "big")


def voucher_data(credential: Any, chain_id: int, voucher: dict[str, Any]) -> dict[str, Any]:
    return voucher_typed_data(chain_id, credential.address, voucher)


def sign_voucher(key: str, credential: Any, voucher: dict[str, Any], chain_id: int = 31337) -> bytes:
    signed = Account.sign_message(
        encode_typed_data(full_message=voucher_data(credential, chain_id, voucher)), key
    )
    return bytes(signed.signature)


def make_voucher(
    recipient: Any, text: str, chain: Any, nonce: int = 1, *, issuer: Any, **overrides: Any
) -> dict[str, Any]:
    voucher = {
        "issuer": issuer.address,
        "recipient": recipient.address,
        "skillId": SKILL,
        "metadataDigest": digest(text),
        "expiresAt": 0,
        "engagementId": 0,
        "nonce": nonce,
        "validUntil": chain.pending_timestamp + DAY,
    }
    return voucher | overrides


def as_tuple(v: dict[str, Any]) -> tuple[Any, ...]:
    return (
        v["issuer"],
        v["recipient"],
        v["skillId"],
        v["metadataDigest"],
        v["expiresAt"],
        v["engagementId"],
        v["nonce"],
        v["validUntil"],
    )


# ------------------------------------------------------------------ issue and verify


def test_issue_then_verify_valid(credential: Any, provider: Any, client: Any, chain: Any) -> None:
    d = digest("cert-1")
    tx = credential.issue(client, SKILL, d, 0, 0, sender=provider)
    tid = token_id(d)
    assert tx.return_value == tid
    [issued] = tx.decode_logs(credential.CredentialIssued)
    assert issued.holder == client and issued.issuer == provider and issued.skillId == SKILL
    assert len(tx.decode_logs(credential.Locked)) == 1
    [transfer] = tx.decode_logs(credential.Transfer)
    assert transfer["from"] == "0x" + "0" * 40 and transfer.to == client
    v = credential.verify(tid)
    assert v.exists and v.valid and v.issuerAccredited and not v.revoked
    assert (v.holder, v.issuer, v.skillId, v.expiresAt) == (client, provider, SKILL, 0)
    assert credential.ownerOf(tid) == client and credential.balanceOf(client) == 1
    assert credential.locked(tid)


def test_verify_of_missing_token_reports_not_existing(credential: Any) -> None:
    v = credential.verify(12345)
    assert not v.exists and not v.valid


def test_issue_requires_issuer_role(credential: Any, client: Any, stranger: Any) -> None:
    with ape.reverts(credential.CredentialNotIssuer, account=stranger):
        credential.issue(client, SKILL, digest("x"), 0, 0, sender=stranger)


def test_issue_rejects_duplicate_digest_zero_recipient_and_past_expiry(
    credential: Any, provider: Any, client: Any, chain: Any
) -> None:
    d = digest("dup")
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    with ape.reverts(credential.CredentialAlreadyIssued, tokenId=token_id(d)):
        credential.issue(client, SKILL, d, 0, 0, sender=provider)
    with ape.reverts(credential.CredentialInvalidRecipient):
        credential.issue("0x" + "0" * 40, SKILL, digest("z"), 0, 0, sender=provider)
    now = chain.pending_timestamp
    chain.pending_timestamp = now
    with ape.reverts(credential.CredentialInvalidExpiry, expiresAt=now):
        credential.issue(client, SKILL, digest("e"), now, 0, sender=provider)


def test_expiry_plus_minus_one_second(credential: Any, provider: Any, client: Any, chain: Any) -> None:
    expires = chain.pending_timestamp + 100
    d = digest("expiring")
    credential.issue(client, SKILL, d, expires, 0, sender=provider)
    chain.mine(timestamp=expires - 1)
    assert credential.verify(token_id(d)).valid
    chain.mine(timestamp=expires)
    v = credential.verify(token_id(d))
    assert v.exists and not v.valid and not v.revoked


def test_revoke_invalidates_with_reason_digest(
    credential: Any, provider: Any, client: Any, admin: Any
) -> None:
    d = digest("to-revoke")
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    reason = digest("reason document")
    tx = credential.revoke(token_id(d), reason, sender=provider)
    [event] = tx.decode_logs(credential.CredentialRevoked)
    assert event.reasonDigest == reason and event.by == provider
    v = credential.verify(token_id(d))
    assert v.revoked and not v.valid
    with ape.reverts(credential.CredentialAlreadyRevoked, tokenId=token_id(d)):
        credential.revoke(token_id(d), reason, sender=admin)


def test_admin_may_revoke_others_may_not(
    credential: Any, provider: Any, client: Any, admin: Any, stranger: Any
) -> None:
    d = digest("admin-revoke")
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    with ape.reverts(credential.CredentialUnauthorizedRevoker, tokenId=token_id(d), caller=stranger):
        credential.revoke(token_id(d), digest("r"), sender=stranger)
    with ape.reverts(credential.CredentialUnauthorizedRevoker, tokenId=token_id(d), caller=client):
        credential.revoke(token_id(d), digest("r"), sender=client)
    credential.revoke(token_id(d), digest("r"), sender=admin)


def test_holder_burns(credential: Any, provider: Any, client: Any, stranger: Any) -> None:
    d = digest("burn")
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    with ape.reverts(credential.CredentialNotHolder, tokenId=token_id(d), caller=provider):
        credential.burn(token_id(d), sender=provider)
    tx = credential.burn(token_id(d), sender=client)
    [transfer] = tx.decode_logs(credential.Transfer)
    assert transfer.to == "0x" + "0" * 40
    assert not credential.verify(token_id(d)).exists and credential.balanceOf(client) == 0
    with ape.reverts(credential.ERC721NonexistentToken, tokenId=token_id(d)):
        credential.ownerOf(token_id(d))


def test_issuer_role_revoked_keeps_credential_valid_but_not_accredited(
    credential: Any, provider: Any, client: Any, admin: Any
) -> None:
    d = digest("accreditation")
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    credential.revokeRole(credential.ISSUER_ROLE(), provider, sender=admin)
    v = credential.verify(token_id(d))
    assert v.valid and not v.issuerAccredited and v.issuer == provider
    with ape.reverts(credential.CredentialNotIssuer, account=provider):
        credential.issue(client, SKILL, digest("after"), 0, 0, sender=provider)


# ------------------------------------------------------------------ tokenURI


@pytest.mark.parametrize(
    ("content", "cid"),
    [
        # what `ipfs add --cid-version 1 --raw-leaves` prints for these files (single block)
        (b"", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"),
        (b"hello world", "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"),
    ],
)
def test_token_uri_is_the_kubo_raw_leaves_cid(
    credential: Any, provider: Any, client: Any, content: bytes, cid: str
) -> None:
    d = hashlib.sha256(content).digest()
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    assert credential.tokenURI(token_id(d)) == f"ipfs://{cid}"


def test_token_uri_of_missing_token_reverts(credential: Any) -> None:
    with ape.reverts(credential.ERC721NonexistentToken, tokenId=7):
        credential.tokenURI(7)


# ------------------------------------------------------------------ engagement-backed


@pytest.fixture
def paid_engagement(escrow: Any, client: Any, create: Any) -> int:
    eid = create([ONE, ONE])
    escrow.approveMilestone(eid, 0, sender=client)
    escrow.approveMilestone(eid, 1, sender=client)
    return eid


def test_engagement_backed_issue(credential: Any, provider: Any, client: Any, paid_engagement: int) -> None:
    tx = credential.issue(client, SKILL, digest("backed"), 0, paid_engagement, sender=provider)
    [event] = tx.decode_logs(credential.CredentialIssued)
    assert event.engagementId == paid_engagement


def test_engagement_backed_issue_rejects_wrong_issuer(
    credential: Any, admin: Any, client: Any, stranger: Any, paid_engagement: int
) -> None:
    credential.grantRole(credential.ISSUER_ROLE(), stranger, sender=admin)
    with ape.reverts(credential.CredentialEngagementMismatch, engagementId=paid_engagement, reason=1):
        credential.issue(client, SKILL, digest("wrong issuer"), 0, paid_engagement, sender=stranger)


def test_engagement_backed_issue_rejects_wrong_holder(
    credential: Any, provider: Any, stranger: Any, paid_engagement: int
) -> None:
    with ape.reverts(credential.CredentialEngagementMismatch, engagementId=paid_engagement, reason=2):
        credential.issue(stranger, SKILL, digest("wrong holder"), 0, paid_engagement, sender=provider)


def test_engagement_backed_issue_rejects_unsettled(
    credential: Any, escrow: Any, provider: Any, client: Any, create: Any
) -> None:
    eid = create([ONE, ONE])
    escrow.approveMilestone(eid, 0, sender=client)
    with ape.reverts(credential.CredentialEngagementMismatch, engagementId=eid, reason=3):
        credential.issue(client, SKILL, digest("unsettled"), 0, eid, sender=provider)


def test_engagement_backed_issue_rejects_nothing_released(
    credential: Any, escrow: Any, provider: Any, client: Any, create: Any
) -> None:
    eid = create([ONE])
    escrow.cancel(eid, sender=provider)
    with ape.reverts(credential.CredentialEngagementMismatch, engagementId=eid, reason=4):
        credential.issue(client, SKILL, digest("refunded"), 0, eid, sender=provider)


def test_engagement_backed_issue_rejects_unknown_engagement(
    credential: Any, escrow: Any, provider: Any, client: Any
) -> None:
    with ape.reverts(escrow.EscrowUnknownEngagement, id=999):
        credential.issue(client, SKILL, digest("unknown"), 0, 999, sender=provider)


# ------------------------------------------------------------------ vouchers


def test_voucher_submitted_by_third_party_mints_to_recipient(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    v = make_voucher(client, "voucher-1", chain, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v)
    signable = encode_typed_data(full_message=voucher_data(credential, 31337, v))
    assert credential.voucherDigest(as_tuple(v)) == keccak(b"\x19\x01" + signable.header + signable.body)
    tx = credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)
    [event] = tx.decode_logs(credential.CredentialIssued)
    assert event.holder == client and event.issuer == provider
    assert credential.isNonceUsed(provider, 1)
    with ape.reverts(credential.CredentialNonceUsed, issuer=provider, nonce=1):
        credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_voucher_for_another_chain_id_reverts(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    v = make_voucher(client, "voucher-chain", chain, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v, chain_id=11155111)
    with ape.reverts(credential.CredentialInvalidSignature, issuer=provider):
        credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_voucher_replayed_after_chain_id_fork_reverts(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    v = make_voucher(client, "voucher-fork", chain, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v, chain_id=31337)
    assert credential.voucherDigest(as_tuple(v)) != b""
    before = credential.voucherDigest(as_tuple(v))
    chain.provider.make_request("anvil_setChainId", [4242])
    try:
        # The EIP-712 domain follows block.chainid: the same voucher now hashes differently.
        assert credential.voucherDigest(as_tuple(v)) != before
    finally:
        chain.provider.make_request("anvil_setChainId", [31337])
    assert credential.voucherDigest(as_tuple(v)) == before
    credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_voucher_for_another_contract_reverts(
    project: Any,
    escrow: Any,
    admin: Any,
    credential: Any,
    provider: Any,
    client: Any,
    stranger: Any,
    chain: Any,
) -> None:
    other = admin.deploy(project.SkillCredential, admin, 0, escrow)
    other.grantRole(other.ISSUER_ROLE(), provider, sender=admin)
    v = make_voucher(client, "voucher-other", chain, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v)  # signed for `credential`
    with ape.reverts(other.CredentialInvalidSignature, issuer=provider):
        other.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_voucher_with_malleable_high_s_signature_reverts(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    v = make_voucher(client, "voucher-malleable", chain, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v)
    r, s, recid = sig[:32], int.from_bytes(sig[32:64], "big"), sig[64]
    twin = r + (SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - recid])  # 27 <-> 28
    with ape.reverts(credential.CredentialInvalidSignature, issuer=provider):
        credential.issueWithVoucher(as_tuple(v), provider, twin, sender=stranger)
    credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)  # the original still works


def test_expired_voucher_reverts_one_second_after_valid_until(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    valid_until = chain.pending_timestamp + 50
    v = make_voucher(client, "voucher-expired", chain, validUntil=valid_until, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v)
    chain.pending_timestamp = valid_until + 1
    with ape.reverts(credential.CredentialVoucherExpired, validUntil=valid_until):
        credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_voucher_redeemable_at_valid_until(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    valid_until = chain.pending_timestamp + 50
    v = make_voucher(client, "voucher-edge", chain, validUntil=valid_until, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v)
    chain.pending_timestamp = valid_until
    credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_cancelled_nonce_reverts(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    v = make_voucher(client, "voucher-cancelled", chain, nonce=777, issuer=provider)
    sig = sign_voucher(provider.private_key, credential, v)
    tx = credential.cancelVoucher(777, sender=provider)
    assert tx.decode_logs(credential.VoucherCancelled)[0].nonce == 777
    with ape.reverts(credential.CredentialNonceUsed, issuer=provider, nonce=777):
        credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_voucher_signed_by_non_issuer_reverts(
    credential: Any, client: Any, stranger: Any, chain: Any, accounts: Any
) -> None:
    signer = accounts[8]
    v = make_voucher(client, "voucher-no-role", chain, issuer=signer)
    sig = sign_voucher(signer.private_key, credential, v)
    with ape.reverts(credential.CredentialNotIssuer, account=signer):
        credential.issueWithVoucher(as_tuple(v), signer, sig, sender=stranger)


def test_voucher_naming_an_issuer_it_was_not_signed_by_reverts(
    credential: Any, provider: Any, client: Any, stranger: Any, chain: Any, accounts: Any
) -> None:
    v = make_voucher(client, "voucher-forged", chain, issuer=provider)
    sig = sign_voucher(accounts[8].private_key, credential, v)
    with ape.reverts(credential.CredentialInvalidSignature, issuer=provider):
        credential.issueWithVoucher(as_tuple(v), provider, sig, sender=stranger)


def test_contract_wallet_issuer_via_eip1271(
    project: Any, credential: Any, admin: Any, client: Any, stranger: Any, chain: Any, accounts: Any
) -> None:
    owner = accounts[8]
    wallet = admin.deploy(project.TestSmartWallet, owner)
    credential.grantRole(credential.ISSUER_ROLE(), wallet, sender=admin)
    v = make_voucher(client, "voucher-safe", chain, issuer=wallet)
    sig = sign_voucher(owner.private_key, credential, v)
    tx = credential.issueWithVoucher(as_tuple(v), wallet, sig, sender=stranger)
    assert tx.decode_logs(credential.CredentialIssued)[0].issuer == wallet
    # A signature by someone other than the wallet's owner is refused.
    v2 = make_voucher(client, "voucher-safe-2", chain, nonce=2, issuer=wallet)
    bad = sign_voucher(accounts[9].private_key, credential, v2)
    with ape.reverts(credential.CredentialInvalidSignature, issuer=wallet):
        credential.issueWithVoucher(as_tuple(v2), wallet, bad, sender=stranger)
    # The wallet can cancel its own nonces too.
    wallet.execute(credential, credential.cancelVoucher.encode_input(2), sender=owner)
    assert credential.isNonceUsed(wallet, 2)


# ------------------------------------------------------------------ soulbound


def test_every_transfer_path_reverts(credential: Any, provider: Any, client: Any, stranger: Any) -> None:
    d = digest("soulbound")
    tid = token_id(d)
    credential.issue(client, SKILL, d, 0, 0, sender=provider)
    with ape.reverts(credential.CredentialSoulbound, tokenId=tid):
        credential.transferFrom(client, stranger, tid, sender=client)
    with ape.reverts(credential.CredentialSoulbound, tokenId=tid):
        credential.safeTransferFrom(client, stranger, tid, sender=client)
    with ape.reverts(credential.CredentialSoulbound, tokenId=tid):
        credential.safeTransferFrom(client, stranger, tid, b"data", sender=client)
    with ape.reverts(credential.CredentialSoulbound, tokenId=tid):
        credential.approve(stranger, tid, sender=client)
    with ape.reverts(credential.CredentialSoulbound, tokenId=0):
        credential.setApprovalForAll(stranger, True, sender=client)
    # An operator cannot move it either: nothing can be approved.
    with ape.reverts(credential.CredentialSoulbound, tokenId=tid):
        credential.transferFrom(client, stranger, tid, sender=stranger)
    assert credential.getApproved(tid) == "0x" + "0" * 40
    assert not credential.isApprovedForAll(client, stranger)
    assert credential.ownerOf(tid) == client and credential.locked(tid)


def test_supports_exactly_the_expected_interfaces(credential: Any) -> None:
    expected = {
        "0x01ffc9a7": True,  # ERC-165
        "0x80ac58cd": True,  # ERC-721
        "0x5b5e139f": True,  # ERC-721 Metadata
        "0xb45a3c0e": True,  # ERC-5192
        "0x7965db0b": True,  # IAccessControl (roles are public by design)
        "0x780e9d63": False,  # ERC-721 Enumerable
        "0x150b7a02": False,  # ERC-721 receiver
        "0xd9b67a26": False,  # ERC-1155
        "0x49064906": False,  # ERC-4906
        "0xffffffff": False,  # must be false per ERC-165
    }
    for interface_id, supported in expected.items():
        assert credential.supportsInterface(interface_id) == supported, interface_id


def test_name_symbol_and_balance_of_zero(credential: Any) -> None:
    assert credential.name() == "Skillchain Credential" and credential.symbol() == "SKILL"
    with ape.reverts(credential.ERC721InvalidOwner):
        credential.balanceOf("0x" + "0" * 40)


# ------------------------------------------------------------------ pausing


def test_pause_blocks_new_credentials_but_not_revoke_or_burn(
    credential: Any, admin: Any, provider: Any, client: Any, stranger: Any, chain: Any
) -> None:
    a, b = digest("before-pause-a"), digest("before-pause-b")
    credential.issue(client, SKILL, a, 0, 0, sender=provider)
    credential.issue(client, SKILL, b, 0, 0, sender=provider)
    credential.setPaused(True, sender=admin)
    with ape.reverts(credential.CredentialPaused):
        credential.issue(client, SKILL, digest("during"), 0, 0, sender=provider)
    v = make_voucher(client, "voucher-paused", chain, issuer=provider)
    with ape.reverts(credential.CredentialPaused):
        credential.issueWithVoucher(
            as_tuple(v), provider, sign_voucher(provider.private_key, credential, v), sender=stranger
        )
    credential.revoke(token_id(a), digest("r"), sender=provider)
    credential.burn(token_id(b), sender=client)
    with ape.reverts(credential.AccessControlUnauthorizedAccount):
        credential.setPaused(False, sender=stranger)
