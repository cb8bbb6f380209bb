"""A submitted milestone the client leaves unanswered: once its review window is over, the provider
(or anyone) releases it; before that, the contract's reason comes back in words."""

from __future__ import annotations

import time

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

CLIENT, PROVIDER, ANYONE = anvil_account(1), anvil_account(2), anvil_account(6)


def test_a_milestone_auto_releases_after_its_review_window(stack: Stack) -> None:
    c = stack.client
    client, provider, anyone = stack.sign_in(CLIENT), stack.sign_in(PROVIDER), stack.sign_in(ANYONE)
    prepared = c.post(
        "/engagements/prepare",
        headers=client,
        json={
            "provider": PROVIDER.address,
            "title": "Auto-release",
            "skill": "python",
            "review_window": 3600,
            "milestones": [{"title": "m", "amount": str(10**15), "due_date": int(time.time()) + 86400}],
        },
    ).json()
    stack.send(CLIENT, prepared["tx"])
    stack.index()
    eid = c.get("/me/engagements", headers=client).json()["data"][0]["id"]
    stack.send(PROVIDER, c.post(f"/engagements/{eid}/accept", headers=provider).json())
    early = c.post(f"/engagements/{eid}/milestones/0/release", headers=provider)
    assert (
        early.status_code == 409 and early.json()["error"] == "EscrowInvalidMilestoneState"
    )  # not submitted
    sub = c.post(f"/engagements/{eid}/milestones/0/submit", headers=provider, json={"summary": "done"}).json()
    stack.send(PROVIDER, sub["tx"])
    stack.index()
    too_soon = c.post(f"/engagements/{eid}/milestones/0/release", headers=provider)
    assert too_soon.status_code == 409 and too_soon.json()["error"] == "EscrowNotYetReleasable"
    assert c.post(f"/engagements/{eid}/milestones/0/release").status_code == 401
    assert c.post(f"/engagements/{eid}/milestones/3/release", headers=provider).status_code == 404
    stack.warp(3601)
    stack.send(ANYONE, c.post(f"/engagements/{eid}/milestones/0/release", headers=anyone).json())
    stack.index()
    released = c.get(f"/engagements/{eid}").json()
    assert released["milestones"][0]["state"] == "released" and released["status"] == "settled"
