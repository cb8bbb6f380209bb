"""Free slots: inside a mentor's availability (weekly rules in their time zone, minus days off, plus
extra hours), past the minimum notice, within the booking horizon, under the daily cap, and clear of
every booking and live hold by the buffers — with instants computed in the mentor's zone, so a
daylight-saving change moves nothing a learner elsewhere sees.

All instants are unix seconds (UTC); every boundary is a multiple of five minutes, so bookings fit
the database's five-minute cells (see db/booking.py)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

CELL = 300  # seconds: the grid every boundary sits on
DAY_MINUTES = 24 * 60


@dataclass(frozen=True, order=True)
class WeeklyRule:
    """Every `weekday` (0 = Monday) from `start` to `end` minutes after local midnight (end ≤ 1440)."""

    weekday: int
    start: int
    end: int


@dataclass(frozen=True, order=True)
class DateException:
    """One local date: `off` removes hours (all day when start/end are None), `extra` adds them."""

    day: date
    kind: Literal["off", "extra"]
    start: int | None = None
    end: int | None = None


@dataclass(frozen=True)
class Availability:
    timezone: str
    rules: tuple[WeeklyRule, ...] = ()
    exceptions: tuple[DateException, ...] = ()
    daily_cap: int | None = None  # sessions per local day, across all of the mentor's listings


@dataclass(frozen=True)
class Offering:
    """A listing's session terms, in seconds."""

    duration: int
    buffer: int = 0  # kept free before and after each session
    min_notice: int = 0
    horizon: int = 60 * 86400
    step: int = 0  # between candidate starts; 0 = the duration

    @property
    def stride(self) -> int:
        return self.step or self.duration


@dataclass(frozen=True, order=True)
class Busy:
    """A booking or live hold as it blocks the calendar: [start − its buffer, end + its buffer)."""

    start: int
    end: int


@dataclass
class DayCounts:
    """Sessions already booked per local date of the mentor (for the daily cap)."""

    counts: Mapping[date, int] = field(default_factory=dict)

    def full(self, day: date, cap: int | None) -> bool:
        return cap is not None and self.counts.get(day, 0) >= cap


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(intervals):
        if end <= start:
            continue
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _subtract(windows: list[tuple[int, int]], cut: tuple[int, int]) -> list[tuple[int, int]]:
    out = []
    for start, end in windows:
        if cut[1] <= start or end <= cut[0]:
            out.append((start, end))
            continue
        if start < cut[0]:
            out.append((start, cut[0]))
        if cut[1] < end:
            out.append((cut[1], end))
    return out


def local_windows(availability: Availability, day: date) -> list[tuple[int, int]]:
    """The day's available minutes after local midnight, merged and sorted."""
    windows = _merge((r.start, r.end) for r in availability.rules if r.weekday == day.weekday())
    for ex in availability.exceptions:
        if ex.day != day:
            continue
        span = (ex.start if ex.start is not None else 0, ex.end if ex.end is not None else DAY_MINUTES)
        windows = _merge([*windows, span]) if ex.kind == "extra" else _subtract(windows, span)
    return windows


def instant(day: date, minute: int, zone: ZoneInfo) -> int:
    """Local `day` + `minute` in `zone` as unix seconds. A time a spring-forward skips maps past the
    gap (the hour does not exist); one a fall-back repeats is its first occurrence."""
    local = datetime.combine(day, time(0), tzinfo=zone) if minute == 0 else None
    if local is None:
        if minute >= DAY_MINUTES:
            return instant(day + timedelta(days=1), minute - DAY_MINUTES, zone)
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone)
    return int(local.timestamp())


def utc_windows(availability: Availability, day: date, zone: ZoneInfo) -> list[tuple[int, int]]:
    return [
        (s, e)
        for s, e in (
            (instant(day, a, zone), instant(day, b, zone)) for a, b in local_windows(availability, day)
        )
        if e > s
    ]


def local_day(at: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(at, zone).date()


def free_slots(
    availability: Availability,
    offering: Offering,
    busy: Sequence[Busy],
    *,
    start: int,
    end: int,
    now: int,
    booked_per_day: DayCounts | None = None,
) -> list[int]:
    """Start instants of the bookable slots in [start, end): each [s, s + duration) inside one
    availability window, s ≥ now + min_notice, s < now + horizon, the day under its cap, and
    [s − buffer, s + duration + buffer) overlapping no `busy` interval (sorted by start, disjoint)."""
    zone = ZoneInfo(availability.timezone)
    counts = booked_per_day or DayCounts()
    earliest = max(start, now + offering.min_notice)
    latest = min(end, now + offering.horizon)  # a slot must start before this
    if latest <= earliest:
        return []
    out: list[int] = []
    # Candidates only move forward (days' windows are in order), so one sweep suffices; it starts at
    # the first interval that can reach the range (intervals are disjoint: their ends are sorted too).
    pointer = bisect_left(busy, earliest - offering.buffer + 1, key=lambda b: b.end)
    # Every local date whose windows can reach [earliest, latest); a day's windows end by its next midnight.
    day = local_day(earliest, zone) - timedelta(days=1)
    last_day = local_day(latest, zone)
    while day <= last_day:
        if not counts.full(day, availability.daily_cap):
            for ws, we in utc_windows(availability, day, zone):
                s = ws
                if s < earliest:  # first candidate on this window's grid at or after `earliest`
                    s += -(-(earliest - s) // offering.stride) * offering.stride
                while s < latest and s + offering.duration <= we:
                    lo, hi = s - offering.buffer, s + offering.duration + offering.buffer
                    while pointer < len(busy) and busy[pointer].end <= lo:
                        pointer += 1
                    if pointer < len(busy) and busy[pointer].start < hi:
                        # Jump to the first grid start past this booking instead of stepping through it.
                        clear = busy[pointer].end + offering.buffer
                        s += max(1, -(-(clear - s) // offering.stride)) * offering.stride
                        continue
                    out.append(s)
                    s += offering.stride
        day += timedelta(days=1)
    return out


def naive_free_slots(
    availability: Availability,
    offering: Offering,
    busy: Sequence[Busy],
    *,
    start: int,
    end: int,
    now: int,
    booked_per_day: DayCounts | None = None,
) -> list[int]:
    """The straightforward baseline (and the tests' oracle): step along the candidate grid of every
    window and check each candidate against every booking."""
    zone = ZoneInfo(availability.timezone)
    counts = booked_per_day or DayCounts()
    out = []
    day = local_day(start, zone) - timedelta(days=1)
    while day <= local_day(end, zone):
        for ws, we in utc_windows(availability, day, zone):
            s = ws
            while s + offering.duration <= we:
                lo, hi = s - offering.buffer, s + offering.duration + offering.buffer
                ok = (
                    start <= s < end
                    and s >= now + offering.min_notice
                    and s < now + offering.horizon
                    and not counts.full(day, availability.daily_cap)
                    and all(not (b.start < hi and lo < b.end) for b in busy)
                )
                if ok:
                    out.append(s)
                s += offering.stride
        day += timedelta(days=1)
    return sorted(set(out))


def blocking(start: int, duration: int, buffer: int) -> Busy:
    """The interval a booking at `start` blocks."""
    return Busy(start - buffer, start + duration + buffer)


def cells(block: Busy) -> range:
    """The five-minute cells a blocked interval covers (SQLite's uniqueness per mentor and cell)."""
    return range(block.start // CELL, -(-block.end // CELL))


def iso(at: int, zone: str) -> str:
    return datetime.fromtimestamp(at, ZoneInfo(zone)).isoformat()


def utc(at: int) -> datetime:
    return datetime.fromtimestamp(at, UTC)
