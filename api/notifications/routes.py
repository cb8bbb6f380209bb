"""GET /me/notifications and marking them read; new ones also arrive on the live stream
(`event: notification`)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Query
from sqlalchemy import func, select, update

from api.deps import ClockDep, ConnDep, CurrentSession
from api.models import ERRORS
from api.notifications.schemas import MarkReadIn, NotificationPublic, NotificationsPublic, UnreadCount
from api.pagination import CursorQuery, LimitQuery, cursor_keys, page_of
from db.notifications import notifications

router = APIRouter(tags=["notifications"], responses=ERRORS)


@router.get(
    "/me/notifications", response_model=NotificationsPublic, summary="Your notifications, newest first"
)
def list_notifications(
    session: CurrentSession,
    conn: ConnDep,
    cursor: CursorQuery = None,
    limit: LimitQuery = 30,
    unread_only: bool = Query(False, description="only those not read yet"),
) -> NotificationsPublic:
    keys = cursor_keys(cursor, 1)
    query = select(notifications).where(notifications.c.address == session.address)
    if unread_only:
        query = query.where(notifications.c.read_at.is_(None))
    if keys:
        query = query.where(notifications.c.id < keys[0])
    rows = list(conn.execute(query.order_by(notifications.c.id.desc()).limit(limit + 1)).mappings())
    shown, next_cursor = page_of(rows, limit, lambda r: (int(r["id"]),))
    unread = _unread(conn, session.address)
    data = []
    for r in shown:
        payload = json.loads(r["payload"])
        data.append(
            NotificationPublic(
                id=int(r["id"]),
                kind=r["kind"],
                engagement_id=r["engagement_id"],
                milestone=payload.get("milestone"),
                token_id=payload.get("token_id"),
                by=payload.get("by"),
                tx=payload.get("tx"),
                offer=payload.get("offer"),
                created_at=int(r["created_at"]),
                read=r["read_at"] is not None,
            )
        )
    return NotificationsPublic(data=data, next_cursor=next_cursor, total=None, unread=int(unread))


@router.post("/me/notifications/read", response_model=UnreadCount, summary="Mark notifications read")
def mark_read(body: MarkReadIn, session: CurrentSession, conn: ConnDep, clock: ClockDep) -> UnreadCount:
    where = [notifications.c.address == session.address, notifications.c.read_at.is_(None)]
    if body.up_to is not None:
        where.append(notifications.c.id <= body.up_to)
    conn.execute(update(notifications).where(*where).values(read_at=int(clock())))
    return UnreadCount(unread=_unread(conn, session.address))


def _unread(conn: ConnDep, address: str) -> int:
    return int(
        conn.execute(
            select(func.count()).where(notifications.c.address == address, notifications.c.read_at.is_(None))
        ).scalar_one()
    )
