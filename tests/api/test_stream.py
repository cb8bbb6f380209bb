"""The live stream end to end (real chain, real indexer, real sockets): every step of an engagement
reaches both parties and the arbiter whoever caused it; a reorg's retraction arrives; a reconnect
with Last-Event-ID misses nothing and repeats nothing; the outbox's sequences never skip."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from api.app import create_app
from bus import outbox
from bus.outbox import OutboxItem
from chain.tx import anvil_account
from db.engine import make_engine
from db.migrate import upgrade
from db.outbox import outbox as outbox_table
from tests.api.conftest_chain import Stack
from tests.api.stream_client import Listener
from tests.net import serve_in_thread

LEARNER, MENTOR, STRANGER, ARBITER = (anvil_account(i) for i in (1, 2, 3, 9))


@pytest.fixture(scope="module")
def base(stack: Stack) -> Iterator[str]:
    url, server, thread = serve_in_thread(stack.client.app)
    yield url
    server.should_exit = True
    thread.join(timeout=5)


def _step(stack: Stack, account: object, tx: dict[str, object]) -> None:
    stack.send(account, tx)  # type: ignore[arg-type]
    stack.index()


def test_every_step_reaches_both_parties_and_the_arbiter(stack: Stack, base: str) -> None:
    c = stack.client
    learner, mentor, arbiter = (stack.sign_in(a) for a in (LEARNER, MENTOR, ARBITER))
    streams = {name: Listener(base, h).start() for name, h in (("learner", learner), ("mentor", mentor))}
    streams["arbiter"] = Listener(base, arbiter).start()
    outsider = Listener(base, stack.sign_in(STRANGER)).start()
    due = int(time.time()) + 60
    prepared = c.post(
        "/engagements/prepare",
        headers=learner,
        json={
            "provider": MENTOR.address,
            "title": "Streamed",
            "skill": "solidity",
            "milestones": [
                {"title": "A", "amount": str(10**15), "due_date": due},
                {"title": "B", "amount": str(10**15), "due_date": due},
            ],
        },
    ).json()
    _step(stack, LEARNER, prepared["tx"])
    [created] = streams["mentor"].wait_for("EngagementCreated")  # the learner acted; the mentor hears
    eid = created.data["engagement_id"]
    _step(stack, MENTOR, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    submit = c.post(f"/engagements/{eid}/milestones/0/submit", headers=mentor, json={"summary": "done"})
    _step(stack, MENTOR, submit.json()["tx"])
    _step(stack, LEARNER, c.post(f"/engagements/{eid}/milestones/0/approve", headers=learner).json())
    stack.warp(120)  # milestone B is overdue: the learner disputes it
    dispute = c.post(f"/engagements/{eid}/dispute", headers=learner, json={"statement": "B never came"})
    _step(stack, LEARNER, dispute.json()["tx"])
    resolve = c.post(f"/engagements/{eid}/resolve", headers=arbiter, json={"provider_share_bps": 5000})
    _step(stack, ARBITER, resolve.json())
    _step(stack, MENTOR, c.post("/withdraw", headers=mentor, json={"token": "ETH"}).json())
    steps = [
        "EngagementCreated",
        "EngagementAccepted",
        "MilestoneSubmitted",
        "MilestoneReleased",
        "DisputeRaised",
        "DisputeResolved",
    ]
    for name in steps:
        for who in ("learner", "mentor", "arbiter"):
            streams[who].wait_for(name, engagement=eid)
    streams["mentor"].wait_for("Withdrawn")  # names the mentor only: it reaches the mentor
    for listener in streams.values():
        ids = listener.ids()
        assert ids == sorted(set(ids)), "ids strictly increase: nothing twice, in order"
    assert not [r for r in outsider.items if r.data.get("engagement_id") == eid]  # not a party: nothing
    for listener in (*streams.values(), outsider):
        listener.close()


def test_a_reconnect_with_last_event_id_misses_nothing_and_repeats_nothing(stack: Stack, base: str) -> None:
    c = stack.client
    learner, mentor = stack.sign_in(LEARNER), stack.sign_in(MENTOR)
    first = Listener(base, learner).start()
    eid = _request(stack, learner, "Before the drop")
    first.wait_for("EngagementCreated", engagement=eid)
    last = first.ids()[-1]
    first.close()
    # While the learner is away, the mentor accepts and a second request is made.
    _step(stack, MENTOR, c.post(f"/engagements/{eid}/accept", headers=mentor).json())
    other = _request(stack, learner, "While away")
    back = Listener(base, learner, last_event_id=last).start()
    back.wait_for("EngagementAccepted", engagement=eid)
    back.wait_for("EngagementCreated", engagement=other)
    assert all(i > last for i in back.ids()) and back.ids() == sorted(set(back.ids()))
    assert not [
        r
        for r in back.items
        if r.data.get("engagement_id") == eid and r.data.get("name") == "EngagementCreated"
    ]
    back.close()


def test_a_reorg_retracts_what_the_stream_carried(stack: Stack, base: str) -> None:
    learner = stack.sign_in(LEARNER)
    listener = Listener(base, learner).start()
    snapshot = stack.w3.provider.make_request("evm_snapshot", [])["result"]  # type: ignore[arg-type]
    eid = _request(stack, learner, "Soon orphaned")
    [event] = listener.wait_for("EngagementCreated", engagement=eid)
    stack.w3.provider.make_request("evm_revert", [snapshot])  # type: ignore[arg-type]
    for _ in range(3):  # a longer competing branch without the transaction
        stack.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    stack.index()
    listener.wait(lambda: any(r.event == "retraction" for r in listener.items), "the retraction")
    [retraction] = [r for r in listener.items if r.event == "retraction"]
    assert retraction.data["retracts"] == event.id and retraction.data["tx"] == event.data["tx"]
    assert stack.client.get(f"/engagements/{eid}").status_code == 404
    listener.close()


def test_a_wallet_may_hold_only_so_many_streams(stack: Stack, base: str) -> None:
    app = create_app(stack.settings.model_copy(update={"stream_per_user": 2}))
    url, server, thread = serve_in_thread(app)
    try:
        headers = stack.sign_in(STRANGER)
        open_ = [Listener(url, headers).start() for _ in range(2)]
        third = Listener(url, headers).start()
        assert third.status == 429
        open_[0].close()
        deadline = time.monotonic() + 10  # the server notices the closed socket, then frees the slot
        while (again := Listener(url, headers).start()).status != 200:
            assert time.monotonic() < deadline, "a closed stream's slot was never freed"
            time.sleep(0.2)
        for listener in (open_[1], again):
            listener.close()
    finally:
        server.should_exit = True
        thread.join(timeout=5)
    assert Listener(base, {"Authorization": "Bearer nope"}).start().status == 401


def test_sequences_committed_out_of_order_are_both_read_once(stack: Stack) -> None:
    """Two writers: the second waits for the first's commit (outbox writes are serialised), so a
    reader that saw the later sequence can never skip the earlier one."""
    engine: Engine = make_engine(stack.settings.effective_database_url)
    with engine.connect() as conn:
        start = outbox.head(conn)
    item = OutboxItem("notification", frozenset({STRANGER.address}), {"name": "first"})
    first = engine.connect()
    tx = first.begin()
    outbox.append(first, [item])  # taken, not committed
    done = threading.Event()

    def second() -> None:
        with engine.begin() as conn:
            outbox.append(
                conn, [OutboxItem("notification", frozenset({STRANGER.address}), {"name": "second"})]
            )
        done.set()

    writer = threading.Thread(target=second)
    writer.start()
    assert not done.wait(0.5)  # the second writer is held until the first commits
    with engine.connect() as conn:
        assert outbox.read_after(conn, start) == []  # nothing visible yet: nothing to skip past
    tx.commit()
    first.close()
    writer.join(timeout=10)
    with engine.connect() as conn:
        items = outbox.read_after(conn, start)
        assert [i.payload["name"] for i in items] == ["first", "second"]
        assert items[0].seq < items[1].seq
        assert conn.execute(select(outbox_table.c.seq).where(outbox_table.c.seq > start)).all()
    engine.dispose()


def _request(stack: Stack, headers: dict[str, str], title: str) -> int:
    prepared = stack.client.post(
        "/engagements/prepare",
        headers=headers,
        json={
            "provider": MENTOR.address,
            "title": title,
            "skill": "python",
            "milestones": [{"title": "m", "amount": "777", "due_date": int(time.time()) + 86400}],
        },
    ).json()
    _step(stack, LEARNER, prepared["tx"])
    return int(stack.client.get("/me/engagements", headers=headers).json()["data"][0]["id"])


def test_a_retracted_event_is_retracted_once_even_by_a_deeper_reorg(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    upgrade(engine)
    with engine.begin() as conn:
        outbox.append(
            conn,
            [
                OutboxItem(
                    "chain_event", frozenset({STRANGER.address}), {"tx": "0x1"}, chain_id=1, block_number=10
                )
            ],
        )
        assert len(outbox.retractions_above(conn, 1, 9)) == 1
        assert outbox.retractions_above(conn, 1, 5) == []  # deeper, later: not again


def test_a_stream_that_falls_behind_is_told_to_resync_and_its_reconnect_replays_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The client stops reading; its queue fills; it gets what fit, then `resync` with the id of the
    last item it got, and reconnecting with that id replays the rest — nothing lost, nothing twice."""
    import asyncio
    from types import SimpleNamespace

    from api.stream import hub as hub_module
    from api.stream.hub import StreamHub
    from api.stream.routes import _items
    from bus.wake import InProcessBus

    monkeypatch.setattr(hub_module, "QUEUE_LIMIT", 3)
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    upgrade(engine)
    hub = StreamHub(engine, InProcessBus(), poll_interval=0.05)
    request = SimpleNamespace(app=SimpleNamespace(state=SimpleNamespace(engine=engine)))
    me = STRANGER.address

    async def scenario() -> tuple[list[str], list[str]]:
        await asyncio.to_thread(hub.start)
        sub = hub.subscribe(me, asyncio.get_running_loop())
        with engine.begin() as conn:
            outbox.append(conn, [OutboxItem("notification", frozenset({me}), {"n": i}) for i in range(10)])
        hub.poke()
        while not sub.overflowed:  # the hub hands out items while nobody reads
            await asyncio.sleep(0.02)
        got = [_frames(e) async for e in _items(request, hub, sub, None, "token")]  # type: ignore[arg-type]
        first = [f for frames in got for f in frames]
        again = hub.subscribe(me, asyncio.get_running_loop())
        resume = int(first[-1].split(":")[1])
        rest: list[str] = []
        async for e in _items(request, hub, again, resume, "token"):  # type: ignore[arg-type]
            rest += _frames(e)
            if len(rest) == 10 - 3:
                break
        return first, rest

    first, rest = asyncio.run(scenario())
    hub.stop()
    assert [f.split(":")[0] for f in first] == ["notification"] * 3 + ["resync"]
    assert first[-1].split(":")[1] == first[-2].split(":")[1]  # resync carries the last id received
    ids = [int(f.split(":")[1]) for f in first[:3] + rest]
    assert ids == sorted(set(ids)) and len(ids) == 10  # all ten, in order, once


def _frames(chunk: object) -> list[str]:
    """`event:id` of each server-sent event in what the stream yielded."""
    out = []
    for frame in bytes(chunk).decode().split("\n\n"):  # type: ignore[arg-type]
        fields = dict(line.split(": ", 1) for line in frame.splitlines() if ": " in line)
        if "event" in fields:
            out.append(f"{fields['event']}:{fields.get('id')}")
    return out


def test_signing_out_ends_the_stream(stack: Stack, base: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.stream import routes

    monkeypatch.setattr(routes, "SESSION_RECHECK", 0.2)
    monkeypatch.setattr(stack.client.app.state.hub, "tick_interval", 0.1)  # type: ignore[attr-defined]
    monkeypatch.setattr(stack.client.app.state.hub, "_next_tick", 0.0)  # type: ignore[attr-defined]
    headers = stack.sign_in(STRANGER)
    listener = Listener(base, headers).start()
    assert stack.client.post("/auth/logout", headers=headers).status_code == 200
    listener.wait(lambda: any(r.event == "session_ended" for r in listener.items), "session_ended")
    listener.close()
