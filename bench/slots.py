"""Benchmark: a listing's free slots for a mentor with a year of availability and 2,000 bookings,
ours (booking/slots.py: one sweep over the availability windows, bookings found by bisection) vs
the straightforward baseline (step every 15 minutes through the range, check each candidate
against the availability and against every booking), both in this process on the same queries.

Each query asks for one month (a calendar page) at a random point of the year, as
`GET /listings/{id}/slots` does. Targets (issue #20): ours p99 <= 10 ms and >= 20x the baseline.

    .venv/bin/python bench/slots.py [--queries 200] [--bookings 2000]
"""

from __future__ import annotations

import argparse
import bisect
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from booking.slots import Availability, Busy, Offering, WeeklyRule, blocking, free_slots

ZONE = "Europe/Berlin"
HOUR, DAY = 3600, 86400
YEAR_START = int(datetime(2027, 1, 1, tzinfo=UTC).timestamp())


def calendar(bookings: int, seed: int) -> tuple[Availability, Offering, list[Busy]]:
    """Every day 07:00–21:00, hour sessions every 30 minutes with a 15-minute buffer, and `bookings`
    sessions taken at random over the year (never two at overlapping times)."""
    availability = Availability(ZONE, tuple(WeeklyRule(d, 7 * 60, 21 * 60) for d in range(7)))
    offering = Offering(duration=HOUR, buffer=15 * 60, min_notice=12 * HOUR, horizon=366 * DAY, step=30 * 60)
    candidates = free_slots(
        availability, offering, [], start=YEAR_START, end=YEAR_START + 365 * DAY, now=YEAR_START - DAY
    )
    random.Random(seed).shuffle(candidates)
    taken: list[Busy] = []
    for s in candidates:
        block = blocking(s, HOUR, 15 * 60)
        i = bisect.bisect_left(taken, block)
        if (i == 0 or taken[i - 1].end <= block.start) and (i == len(taken) or block.end <= taken[i].start):
            taken.insert(i, block)
            if len(taken) == bookings:
                break
    if len(taken) < bookings:
        raise SystemExit(f"only {len(taken)} bookings fit the year")
    return availability, offering, taken


def baseline(
    availability: Availability, offering: Offering, busy: list[Busy], *, start: int, end: int, now: int
) -> list[int]:
    """Every 15 minutes: inside a rule (local time), past notice, before the horizon, clear of every booking."""
    zone = ZoneInfo(availability.timezone)
    out = []
    for s in range(start - start % 900, end, 900):
        if s < start or s < now + offering.min_notice or s >= now + offering.horizon:
            continue
        local = datetime.fromtimestamp(s, zone)
        minute = local.hour * 60 + local.minute
        fits = any(
            r.weekday == local.weekday()
            and r.start <= minute
            and minute + offering.duration // 60 <= r.end
            and (minute - r.start) % (offering.stride // 60) == 0
            for r in availability.rules
        )
        lo, hi = s - offering.buffer, s + offering.duration + offering.buffer
        if fits and all(not (b.start < hi and lo < b.end) for b in busy):
            out.append(s)
    return out


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--bookings", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    availability, offering, busy = calendar(args.bookings, args.seed)
    rng = random.Random(args.seed + 1)
    now = YEAR_START - DAY
    queries = [YEAR_START + rng.randrange(330) * DAY for _ in range(args.queries)]
    ours_ms, base_ms, slots = [], [], []
    for i, start in enumerate(queries):  # interleaved, so machine noise hits both alike
        end = start + 31 * DAY
        t0 = time.perf_counter()
        got = free_slots(availability, offering, busy, start=start, end=end, now=now)
        ours_ms.append((time.perf_counter() - t0) * 1000)
        if i % 4 == 0:  # the baseline is slow: a quarter of the queries, same distribution
            t0 = time.perf_counter()
            expected = baseline(availability, offering, busy, start=start, end=end, now=now)
            base_ms.append((time.perf_counter() - t0) * 1000)
            assert got == expected, f"ours and the baseline disagree at {start}"
        slots.append(len(got))
    ratio = statistics.median(base_ms) / statistics.median(ours_ms)
    print(
        f"mentor in {ZONE}: a year of weekly availability, {len(busy)} bookings; {args.queries} one-month queries"
    )
    print(f"slots per query: median {statistics.median(slots):.0f}")
    print(f"{'':28} {'p50 ms':>9} {'p99 ms':>9}")
    print(f"{'ours (sweep + bisect)':28} {p(ours_ms, 0.5):9.3f} {p(ours_ms, 0.99):9.3f}")
    print(f"{'baseline (15 min x every)':28} {p(base_ms, 0.5):9.3f} {p(base_ms, 0.99):9.3f}")
    print(f"ratio (median baseline / median ours): {ratio:.0f}x   targets: ours p99 <= 10 ms, >= 20x")
    print(f"results identical on {len(base_ms)} queries")


if __name__ == "__main__":
    main()
