"""One pagination shape for every list: `{data, next_cursor, total}`, keyset cursors.

A cursor is the sort key of the last row of the previous page, as dot-separated decimals
(`"42"`, `"1700000000.123"`). Keyset pages stay correct while rows are added (an offset page
shifts) and cost the same at page 1,000 as at page 1. Clients treat the cursor as opaque.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import HTTPException, Query
from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_LIMIT = 100


class Page(BaseModel, Generic[T]):
    """One page; pass `next_cursor` as `cursor` for the next (null: this is the last page)."""

    data: list[T]
    next_cursor: str | None = Field(description="opaque; null when this is the last page")
    total: int | None = Field(
        description="how many match over all pages (null where counting would cost a scan)"
    )


CursorQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{1,78}(\.[0-9]{1,78}){0,2}$",
        max_length=240,
        description="the `next_cursor` of the previous page (omit for the first)",
    ),
]
LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")]


def cursor_keys(cursor: str | None, arity: int, *, wide_last: bool = False) -> tuple[int, ...] | None:
    """The sort key a cursor names, or None for the first page.

    A cursor of another list (wrong number of parts) is refused in words rather than misread; keys
    are database integers (< 2**63) unless `wide_last` (a uint256 token id kept as text).
    """
    if cursor is None:
        return None
    parts = cursor.split(".")
    if len(parts) != arity:
        raise HTTPException(422, "this cursor does not belong to this list; start again without one")
    keys = tuple(int(p) for p in parts)
    if any(k >= 2**63 for k in (keys[:-1] if wide_last else keys)):
        raise HTTPException(422, "this cursor is out of range; start again without one")
    return keys


def make_cursor(*keys: int) -> str:
    return ".".join(str(k) for k in keys)


def page_of(rows: list[T], limit: int, key: Callable[[T], tuple[int, ...]]) -> tuple[list[T], str | None]:
    """Cut a `limit + 1` fetch into a page and the cursor of the next one."""
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (make_cursor(*key(rows[-1])) if more and rows else None)
