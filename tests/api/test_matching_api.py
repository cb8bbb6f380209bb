"""The matching routes over a real read model: train a snapshot, recommend, career paths, risk."""

from __future__ import annotations

import time

from api.skills import skill_id
from chain.tx import anvil_account
from db.engine import make_engine
from matching.service import train
from tests.api.conftest_chain import Stack

LEARNER, MENTOR, OTHER_MENTOR, ADMIN = (anvil_account(i) for i in (1, 2, 4, 0))


def test_recommendations_next_skills_and_risk(stack: Stack) -> None:
    c = stack.client
    mentor, other, learner = stack.sign_in(MENTOR), stack.sign_in(OTHER_MENTOR), stack.sign_in(LEARNER)
    assert c.get("/recommendations", headers=learner).status_code == 503  # no snapshot yet
    assert c.get(f"/skills/{skill_id('solidity')}/next").status_code == 503
    c.post(
        "/listings",
        headers=mentor,
        json={
            "kind": "offer",
            "skill": "solidity",
            "title": "Solidity mentoring",
            "description": "contracts and audits",
            "price": "50",
        },
    )
    c.post(
        "/listings",
        headers=other,
        json={
            "kind": "offer",
            "skill": "piano",
            "title": "Piano for beginners",
            "description": "scales",
            "price": "30",
        },
    )
    prepared = c.post(
        "/engagements/prepare",
        headers=learner,
        json={
            "provider": MENTOR.address,
            "title": "Mentoring",
            "skill": "solidity",
            "milestones": [{"title": "m", "amount": "1000", "due_date": int(time.time()) + 86400}],
        },
    ).json()
    stack.send(LEARNER, prepared["tx"])
    stack.index()
    eid = c.get("/me/engagements", headers=learner).json()["data"][0]["id"]
    mentor = stack.sign_in(MENTOR)
    stack.send(MENTOR, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    stack.send(LEARNER, c.post(f"/engagements/{eid}/milestones/0/approve", headers=learner).json())
    stack.index()
    stack.send(
        LEARNER,
        c.post("/reviews/prepare", headers=learner, json={"engagement_id": eid, "rating": 5}).json()["tx"],
    )
    stack.index()

    engine = make_engine(stack.settings.effective_database_url)
    train(engine, 31337, stack.settings.data_dir, relayers=set(), log=lambda _m: None)
    recs = c.get("/recommendations", headers=learner, params={"skills": ["solidity"]}).json()
    assert recs[0]["owner"] == MENTOR.address
    assert "teaches solidity" in recs[0]["reasons"] and any(
        "from 1 paid engagement" in r for r in recs[0]["reasons"]
    )
    assert c.get("/recommendations", headers=learner, params={"skills": ["nope"]}).status_code == 400

    nxt = c.get(f"/skills/{skill_id('solidity')}/next")
    assert nxt.status_code == 200 and isinstance(nxt.json(), list)
    assert c.get("/admin/risk", headers=learner).status_code == 403
    assert c.get("/admin/risk", headers=stack.sign_in(ADMIN)).status_code == 200
    reviews = c.get(f"/users/{MENTOR.address}/reviews").json()
    assert reviews["onchain_average"] == 5.0 and reviews["fraud_discounted_average"] == 5.0
