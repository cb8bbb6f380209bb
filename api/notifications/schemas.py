"""The notifications API's edges."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.models import Strict
from api.pagination import Page

Kind = Literal[
    "request_received",
    "booked",
    "request_accepted",
    "request_withdrawn",
    "engagement_cancelled",
    "milestone_submitted",
    "milestone_released",
    "dispute_raised",
    "dispute_resolved",
    "review_received",
    "credential_issued",
    "session_starting",
    "respond_soon",
    "request_unanswered",
    "reschedule_proposed",
    "rescheduled",
    "reschedule_declined",
    "cancel_requested",
    "offer_received",
]


class NotificationPublic(BaseModel):
    id: int
    kind: Kind
    engagement_id: int | None
    milestone: int | None = Field(description="the milestone's index (from 0), where one is concerned")
    token_id: str | None = Field(description="the credential, for credential_issued")
    offer: int | None = Field(None, description="the custom offer, for offer_received")
    by: str | None = Field(description="who acted (a wallet), where known")
    tx: str | None
    created_at: int
    read: bool


class NotificationsPublic(Page[NotificationPublic]):
    """Newest first; `unread` counts over all pages."""

    unread: int


class MarkReadIn(Strict):
    up_to: int | None = Field(
        None, ge=1, lt=2**63, description="mark this one and every older one read (default: all)"
    )


class UnreadCount(BaseModel):
    unread: int
