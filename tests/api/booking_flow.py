"""The booking path as a user walks it, for the tests of what hangs off it (mails, reminders, rooms):
a mentor open every day, a bookable listing, and a request that was funded and accepted on the
stack's chain. tests/api/test_bookings.py tests the path itself."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from eth_account.signers.local import LocalAccount

from tests.api.conftest_chain import Stack

HOUR, DAY = 3600, 86400
EVERY_DAY = {"timezone": "UTC", "rules": [{"weekday": d, "start": "00:00", "end": "24:00"} for d in range(7)]}


def next_hour(days: int = 2, hour: int = 10) -> int:
    """`hour` o'clock UTC, `days` from today."""
    return int(time.time()) // DAY * DAY + days * DAY + hour * HOUR


def session_listing(client: Any, headers: dict[str, str], **session: object) -> int:
    """A one-hour session listing of the signed-in mentor (request-to-book, 0.01 ETH, unless told)."""
    body = {
        "kind": "offer",
        "skill": session.pop("skill", "python"),
        "title": "Python hour",
        "description": "pairing",
        "price": str(session.pop("price", "0.01")),
        "currency": session.pop("currency", "ETH"),
        "session": {"duration_minutes": 60, "notice_minutes": 60, "horizon_days": 30, "booking": "request"}
        | session,
    }
    made = client.post("/listings", headers=headers, json=body)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


@dataclass(frozen=True)
class Accepted:
    listing: int
    booking: str
    engagement: int
    mentor: dict[str, str]
    learner: dict[str, str]


def accepted_request(
    stack: Stack,
    client: Any,
    mentor: LocalAccount,
    learner: LocalAccount,
    starts_at: int,
    **session: object,
) -> Accepted:
    """`learner` books `mentor`'s new listing (its `session` terms as told) at `starts_at`, funds the
    request and the mentor accepts it, both on-chain and indexed: a confirmed session."""
    m, le = stack.sign_in(mentor, client), stack.sign_in(learner, client)
    assert client.put("/me/availability", headers=m, json=EVERY_DAY).status_code == 200
    listing = session_listing(client, m, **session)
    made = client.post("/bookings", headers=le, json={"listing_id": listing, "starts_at": starts_at})
    assert made.status_code == 201, made.text
    stack.send(learner, made.json()["tx"])
    stack.index()
    [engagement] = [
        e for e in client.get("/me/engagements", headers=m).json()["data"] if e["client"] == learner.address
    ]
    stack.send(mentor, client.post(f"/engagements/{engagement['id']}/accept", headers=m).json())
    stack.index()
    return Accepted(listing, made.json()["booking"]["id"], int(engagement["id"]), m, le)
