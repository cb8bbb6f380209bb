"""Custom offers for one learner on the stack's chain: the mentor drafts milestones priced in USD
(converted through the mock ETH/USD feed, 2,500, or into the 6-decimal stablecoin), signs the
typed data from GET /offers/{id}, the learner funds it and the engagement from it is accepted
at once; only the two parties see it; a withdrawn or expired offer cannot be funded (and the
mentor's cancelOffer ends the signature on-chain); bad drafts are refused in words."""

from __future__ import annotations

from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_account.signers.local import LocalAccount

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

MENTOR, LEARNER, STRANGER = anvil_account(3), anvil_account(4), anvil_account(5)
DAY = 86400


def _draft(c: Any, headers: dict[str, str], now: float, **extra: Any) -> Any:
    body = {
        "client": LEARNER.address,
        "title": "Thesis code review",
        "description": "Two rounds of review",
        "skill": "python",
        "currency": "USD",
        "pay_in": "ETH",
        "milestones": [
            {"title": "First review", "price": "40", "due_date": int(now) + 10 * DAY},
            {"title": "Second review", "price": "35.50", "due_date": int(now) + 20 * DAY},
        ],
    } | extra
    return c.post("/offers", headers=headers, json=body)


def _sign(typed_data: dict[str, Any], account: LocalAccount) -> str:
    signed = Account.sign_message(encode_typed_data(full_message=typed_data), account.key)
    return "0x" + signed.signature.hex().removeprefix("0x")


def test_a_mentor_drafts_and_signs_an_offer_for_one_learner_who_funds_it(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    mentor, learner, stranger = stack.sign_in(MENTOR), stack.sign_in(LEARNER), stack.sign_in(STRANGER)
    made = _draft(c, mentor, clock[0])
    assert made.status_code == 201, made.text
    offer = made.json()
    oid = offer["id"]
    assert offer["state"] == "draft" and offer["signature"] is None
    # 40 USD and 35.50 USD at 2,500 USD per ETH, exactly.
    assert offer["offer"]["amounts"] == [str(16 * 10**15), str(142 * 10**14)]
    assert offer["prices"] == ["40", "35.50"] and offer["offer"]["client"] == LEARNER.address
    assert c.get(f"/offers/{oid}", headers=learner).json()["typed_data"] == offer["typed_data"]
    assert c.get(f"/offers/{oid}", headers=stranger).status_code == 404  # nobody else learns it exists
    early = c.post(f"/offers/{oid}/fund", headers=learner)
    assert early.status_code == 409 and "not signed" in early.text
    # Only the mentor signs, and only with their own key over these terms.
    forged = c.put(
        f"/offers/{oid}/signature", headers=mentor, json={"signature": _sign(offer["typed_data"], STRANGER)}
    )
    assert forged.status_code == 400 and "not yours" in forged.text
    by_learner = c.put(
        f"/offers/{oid}/signature", headers=learner, json={"signature": _sign(offer["typed_data"], LEARNER)}
    )
    assert by_learner.status_code == 403
    signature = _sign(offer["typed_data"], MENTOR)
    signed = c.put(f"/offers/{oid}/signature", headers=mentor, json={"signature": signature})
    assert signed.status_code == 200, signed.text
    assert signed.json()["state"] == "open"
    again = c.put(f"/offers/{oid}/signature", headers=mentor, json={"signature": signature})
    assert again.status_code == 200  # the same signature twice: no harm
    received = c.get("/me/notifications", headers=learner).json()["data"]
    assert [(n["kind"], n["offer"], n["by"]) for n in received][:1] == [
        ("offer_received", oid, MENTOR.address)
    ]
    # The mentor cannot fund it; the learner can.
    assert c.post(f"/offers/{oid}/fund", headers=mentor).status_code == 403
    funding = c.post(f"/offers/{oid}/fund", headers=learner)
    assert funding.status_code == 200, funding.text
    tx = funding.json()["tx"]
    assert int(tx["value"], 16) == 16 * 10**15 + 142 * 10**14 and funding.json()["approval"] is None
    stack.send(LEARNER, tx)
    stack.index()
    funded = c.get(f"/offers/{oid}", headers=mentor).json()
    assert funded["state"] == "funded" and funded["engagement_id"] is not None
    engagement = c.get(f"/engagements/{funded['engagement_id']}").json()
    assert engagement["accepted"] and engagement["client"] == LEARNER.address
    assert [m["amount"] for m in engagement["milestones"]] == [str(16 * 10**15), str(142 * 10**14)]
    # Funded: it cannot be withdrawn or funded twice.
    assert c.post(f"/offers/{oid}/cancel", headers=mentor).status_code == 409
    assert c.post(f"/offers/{oid}/fund", headers=learner).status_code == 409
    for headers in (mentor, learner):
        assert oid in [o["id"] for o in c.get("/me/offers", headers=headers).json()["data"]]
    assert oid not in [o["id"] for o in c.get("/me/offers", headers=stranger).json()["data"]]


def test_a_withdrawn_or_expired_offer_cannot_be_funded(stack: Stack, clock: list[float]) -> None:
    c = stack.client
    mentor, learner = stack.sign_in(MENTOR), stack.sign_in(LEARNER)
    offer = _draft(c, mentor, clock[0]).json()
    signature = _sign(offer["typed_data"], MENTOR)
    assert (
        c.put(f"/offers/{offer['id']}/signature", headers=mentor, json={"signature": signature}).status_code
        == 200
    )
    assert c.post(f"/offers/{offer['id']}/cancel", headers=learner).status_code == 403
    withdrawn = c.post(f"/offers/{offer['id']}/cancel", headers=mentor)
    assert withdrawn.status_code == 200, withdrawn.text
    out = withdrawn.json()
    assert out["offer"]["state"] == "cancelled" and out["tx"] is not None  # signed: cancelOffer on-chain too
    refused = c.post(f"/offers/{offer['id']}/fund", headers=learner)
    assert refused.status_code == 409 and "cancelled" in refused.text
    # The learner holds the signature: only the chain ends it for certain.
    stack.send(MENTOR, out["tx"])
    direct = c.post(
        "/offers/fund",
        headers=learner,
        json={"offer": offer["offer"], "signature": signature, "deadline": int(clock[0]) + 600},
    )
    assert direct.status_code == 409 and direct.json()["error"] == "EscrowOfferCancelled", direct.text
    # A draft withdrawn before signing needs no transaction.
    draft = _draft(c, mentor, clock[0]).json()
    assert c.post(f"/offers/{draft['id']}/cancel", headers=mentor).json()["tx"] is None
    # Past its validity: expired.
    later = _draft(c, mentor, clock[0], valid_for=3600).json()
    later_sig = _sign(later["typed_data"], MENTOR)
    assert (
        c.put(f"/offers/{later['id']}/signature", headers=mentor, json={"signature": later_sig}).status_code
        == 200
    )
    clock[0] += 2 * 3600
    assert c.get(f"/offers/{later['id']}", headers=learner).json()["state"] == "expired"
    lapsed = c.post(f"/offers/{later['id']}/fund", headers=learner)
    assert lapsed.status_code == 409 and "expired" in lapsed.text


def test_an_offer_priced_in_usd_is_paid_in_the_six_decimal_stablecoin(
    stack: Stack, clock: list[float]
) -> None:
    c = stack.client
    made = _draft(c, stack.sign_in(MENTOR), clock[0], pay_in="stablecoin")
    assert made.status_code == 201, made.text
    offer = made.json()["offer"]
    assert offer["token"] == stack.record.address_of("TestStablecoin")
    assert offer["amounts"] == [str(40 * 10**6), str(35_500_000)]


def test_bad_offers_are_refused_in_words_and_write_nothing(stack: Stack, clock: list[float]) -> None:
    c = stack.client
    mentor = stack.sign_in(MENTOR)
    before = len(c.get("/me/offers", headers=mentor, params={"limit": 100}).json()["data"])
    to_self = _draft(c, mentor, clock[0], client=MENTOR.address)
    assert to_self.status_code == 400 and "another wallet" in to_self.text
    past = _draft(
        c, mentor, clock[0], milestones=[{"title": "Late", "price": "10", "due_date": int(clock[0]) - 60}]
    )
    assert past.status_code == 400 and "future" in past.text
    assert _draft(c, mentor, clock[0], listing_id=999_999).status_code == 404
    assert _draft(c, mentor, clock[0], milestones=[]).status_code == 422
    free = _draft(
        c, mentor, clock[0], milestones=[{"title": "Free", "price": "0", "due_date": int(clock[0]) + DAY}]
    )
    assert free.status_code == 422
    assert _draft(c, mentor, clock[0], skill="underwater-basket-weaving").status_code == 400
    assert len(c.get("/me/offers", headers=mentor, params={"limit": 100}).json()["data"]) == before
    assert c.get("/offers/999999", headers=mentor).status_code == 404
    assert c.get("/offers/1").status_code == 401
