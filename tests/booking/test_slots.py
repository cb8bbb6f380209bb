"""Slot maths: the fast sweep equals the check-every-candidate baseline on random calendars; slots
respect availability, notice, horizon, cap and buffers; instants are right across daylight-saving
changes in Europe/Berlin and America/Los_Angeles and in Asia/Kolkata's half-hour offset."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from booking.slots import (
    Availability,
    Busy,
    DateException,
    DayCounts,
    Offering,
    WeeklyRule,
    blocking,
    cells,
    free_slots,
    local_day,
    naive_free_slots,
    utc_windows,
)

ZONES = ["Europe/Berlin", "America/Los_Angeles", "Asia/Kolkata", "Asia/Kathmandu", "UTC"]
MIN, HOUR, DAY = 60, 3600, 86400
# Around both 2026 changes of each zone: Berlin 29 Mar / 25 Oct, Los Angeles 8 Mar / 1 Nov.
ANCHORS = [
    int(datetime(2026, m, d, tzinfo=UTC).timestamp()) for m, d in ((3, 5), (3, 26), (10, 22), (10, 29))
]


def ts(y: int, mo: int, d: int, h: int = 0, mi: int = 0, zone: str = "UTC") -> int:
    return int(datetime(y, mo, d, h, mi, tzinfo=ZoneInfo(zone)).timestamp())


quarter = st.integers(0, 95).map(lambda q: q * 15)


@st.composite
def rules(draw: st.DrawFn) -> tuple[WeeklyRule, ...]:
    out = []
    for _ in range(draw(st.integers(1, 8))):
        a, b = sorted(draw(st.tuples(quarter, st.integers(1, 96).map(lambda q: q * 15))))
        if a < b:
            out.append(WeeklyRule(draw(st.integers(0, 6)), a, b))
    return tuple(out)


@st.composite
def calendars(draw: st.DrawFn) -> tuple[Availability, Offering, list[Busy], int, int, int, DayCounts]:
    zone = draw(st.sampled_from(ZONES))
    anchor = draw(st.sampled_from(ANCHORS))
    start = anchor + draw(st.integers(0, 4 * 24)) * 15 * MIN
    now = start - draw(st.integers(0, 2 * 24)) * HOUR
    end = start + draw(st.integers(1, 10)) * DAY
    exceptions = []
    for _ in range(draw(st.integers(0, 3))):
        day = local_day(start + draw(st.integers(0, 9)) * DAY, ZoneInfo(zone))
        kind = draw(st.sampled_from(["off", "extra"]))
        whole = kind == "off" and draw(st.booleans())
        a, b = sorted(draw(st.tuples(quarter, st.integers(1, 96).map(lambda q: q * 15))))
        exceptions.append(DateException(day, kind, None if whole else a, None if whole else max(b, a + 15)))
    availability = Availability(zone, draw(rules()), tuple(exceptions), draw(st.none() | st.integers(1, 4)))
    duration = draw(st.sampled_from([15, 30, 45, 60, 90])) * MIN
    offering = Offering(
        duration=duration,
        buffer=draw(st.sampled_from([0, 5, 10, 15, 30])) * MIN,
        min_notice=draw(st.sampled_from([0, 1, 12, 24])) * HOUR,
        horizon=draw(st.sampled_from([2, 7, 30])) * DAY,
        step=15 * MIN,  # one grid for both implementations
    )
    busy: list[Busy] = []
    at = start - DAY
    for _ in range(draw(st.integers(0, 12))):
        at += draw(st.integers(0, 40)) * 15 * MIN
        block = blocking(at, draw(st.sampled_from([30, 60])) * MIN, draw(st.sampled_from([0, 15])) * MIN)
        busy.append(block)
        at = block.end
    counts = DayCounts({local_day(b.start, ZoneInfo(zone)): draw(st.integers(0, 3)) for b in busy})
    return availability, offering, busy, start, end, now, counts


@settings(max_examples=300, deadline=None)
@given(calendars())
def test_the_sweep_equals_the_baseline_and_every_slot_is_bookable(case: tuple) -> None:  # type: ignore[type-arg]
    availability, offering, busy, start, end, now, counts = case
    kwargs = {"start": start, "end": end, "now": now, "booked_per_day": counts}
    slots = free_slots(availability, offering, busy, **kwargs)
    assert slots == naive_free_slots(availability, offering, busy, **kwargs)
    zone = ZoneInfo(availability.timezone)
    for s in slots:
        e = s + offering.duration
        assert start <= s < end and s >= now + offering.min_notice and s < now + offering.horizon
        day = local_day(s, zone)
        windows = utc_windows(availability, day, zone) + utc_windows(
            availability, date.fromordinal(day.toordinal() - 1), zone
        )
        assert any(ws <= s and e <= we for ws, we in windows), "inside availability"
        assert all(not (b.start < e + offering.buffer and s - offering.buffer < b.end) for b in busy)
        assert not counts.full(day, availability.daily_cap)
        assert s % 300 == 0  # on the five-minute grid the database's cells use


def test_berlin_across_both_changes_and_a_learner_in_los_angeles_sees_the_same_instants() -> None:
    daily = Availability("Europe/Berlin", tuple(WeeklyRule(d, 9 * 60, 10 * 60) for d in range(7)))
    one_hour = Offering(duration=HOUR)
    march = free_slots(daily, one_hour, [], start=ts(2026, 3, 27), end=ts(2026, 3, 31), now=ts(2026, 3, 1))
    # 09:00 in Berlin is 08:00 UTC before 29 March, 07:00 UTC after; in Los Angeles (which changed on
    # 8 March) that is 01:00 and then 00:00 — the same instants, shown in each viewer's zone.
    assert [datetime.fromtimestamp(s, UTC).hour for s in march] == [8, 8, 7, 7]
    assert [datetime.fromtimestamp(s, ZoneInfo("Europe/Berlin")).hour for s in march] == [9, 9, 9, 9]
    assert [datetime.fromtimestamp(s, ZoneInfo("America/Los_Angeles")).hour for s in march] == [1, 1, 0, 0]
    october = free_slots(
        daily, one_hour, [], start=ts(2026, 10, 24), end=ts(2026, 10, 27), now=ts(2026, 10, 1)
    )
    assert [datetime.fromtimestamp(s, UTC).hour for s in october] == [7, 8, 8]


def test_hours_a_change_skips_do_not_exist_and_hours_it_repeats_count_twice() -> None:
    night = Offering(duration=HOUR)
    spring = Availability("Europe/Berlin", (), (DateException(date(2026, 3, 29), "extra", 2 * 60, 4 * 60),))
    got = free_slots(spring, night, [], start=ts(2026, 3, 28), end=ts(2026, 3, 30), now=ts(2026, 3, 1))
    assert [datetime.fromtimestamp(s, ZoneInfo("Europe/Berlin")).isoformat() for s in got] == [
        "2026-03-29T03:00:00+02:00"  # 02:00–03:00 does not exist that night
    ]
    autumn = Availability("Europe/Berlin", (), (DateException(date(2026, 10, 25), "extra", 1 * 60, 4 * 60),))
    got = free_slots(autumn, night, [], start=ts(2026, 10, 24), end=ts(2026, 10, 26), now=ts(2026, 10, 1))
    assert len(got) == 4  # 01:00–04:00 that night lasts four hours (02:00–03:00 happens twice)
    la = Availability("America/Los_Angeles", (WeeklyRule(6, 9 * 60, 10 * 60),))  # Sundays 09:00
    got = free_slots(la, night, [], start=ts(2026, 10, 24), end=ts(2026, 11, 10), now=ts(2026, 10, 1))
    assert [datetime.fromtimestamp(s, UTC).hour for s in got] == [16, 17, 17]  # PDT, then PST from 1 Nov


def test_kolkata_half_hour_offset() -> None:
    kolkata = Availability("Asia/Kolkata", (WeeklyRule(2, 9 * 60, 11 * 60),))  # Wednesdays 09:00–11:00
    got = free_slots(
        kolkata, Offering(duration=HOUR), [], start=ts(2026, 6, 1), end=ts(2026, 6, 8), now=ts(2026, 5, 1)
    )
    assert [datetime.fromtimestamp(s, UTC).strftime("%H:%M") for s in got] == ["03:30", "04:30"]


def test_buffers_notice_horizon_days_off_and_the_daily_cap() -> None:
    week = Availability(
        "UTC",
        tuple(WeeklyRule(d, 9 * 60, 13 * 60) for d in range(7)),
        (DateException(date(2026, 6, 3), "off"), DateException(date(2026, 6, 4), "off", 9 * 60, 11 * 60)),
        daily_cap=2,
    )
    offering = Offering(duration=HOUR, buffer=15 * MIN, min_notice=2 * HOUR, horizon=5 * DAY)
    now = ts(2026, 6, 1, 8)
    booked = [blocking(ts(2026, 6, 2, 10), HOUR, 15 * MIN)]
    got = free_slots(
        week,
        offering,
        booked,
        start=ts(2026, 6, 1),
        end=ts(2026, 6, 10),
        now=now,
        booked_per_day=DayCounts({date(2026, 6, 5): 2}),
    )
    by_day: dict[int, list[str]] = {}
    for s in got:
        d = datetime.fromtimestamp(s, UTC)
        by_day.setdefault(d.day, []).append(d.strftime("%H:%M"))
    assert by_day == {
        1: ["10:00", "11:00", "12:00"],  # 09:00 is inside the two-hour notice
        2: ["12:00"],  # 09:00 and 11:00 touch the 10:00 booking's buffer
        4: ["11:00", "12:00"],  # the morning is off
        # 3 June is off, 5 June is at its cap, from 6 June on is past the five-day horizon
    }


def test_cells_cover_the_blocked_interval() -> None:
    block = blocking(ts(2026, 6, 1, 10), HOUR, 10 * MIN)
    got = cells(block)
    assert got.start * 300 == ts(2026, 6, 1, 9, 50) and got.stop * 300 == ts(2026, 6, 1, 11, 10)
