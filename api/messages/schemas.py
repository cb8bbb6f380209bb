"""The messages API's edges: what a client sends and what it reads back."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from api.models import Strict
from api.pagination import Page

MAX_CHARS = 10_000  # SKILLCHAIN_MESSAGE_MAX_CHARS may lower it, not raise it


def _visible(value: str) -> str:
    if not value.strip():
        raise ValueError("a message needs some text (it is empty or only spaces)")
    return value


MessageText = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_CHARS,
        description=f"plain text, 1 to {MAX_CHARS:,} characters; links are shown as text, never fetched",
        examples=["Hi! Could we focus on React hooks in the first session?"],
    ),
    AfterValidator(_visible),
]


class MessageIn(Strict):
    body: MessageText


class InquiryIn(Strict):
    body: MessageText


class ReadIn(Strict):
    up_to: int | None = Field(
        None, ge=1, lt=2**63, description="the newest message you have read (default: the thread's newest)"
    )


class ReportIn(Strict):
    reason: Annotated[
        str,
        Field(min_length=1, max_length=500, examples=["Asks me to pay outside the app"]),
        AfterValidator(_visible),
    ]


class AttachmentPublic(BaseModel):
    id: int
    filename: str
    media_type: str = Field(description="from the content's magic bytes, never from the file name")
    size: int
    url: str = Field(description="GET it with your session token (parties only)")


class MessagePublic(BaseModel):
    id: int
    thread_id: int
    sender: str
    body: str | None = Field(description="null once deleted (by its author or their erasure)")
    origin: Literal["chat", "room"] = Field(description="room: written in the session room's chat")
    created_at: int
    edited_at: int | None
    deleted: Literal["author", "erasure"] | None = Field(description="who removed the text, if anyone")
    editable_until: int | None = Field(description="when its author can no longer edit it (null: not theirs)")
    attachments: list[AttachmentPublic] = Field(default_factory=list)


class MessagesPublic(Page[MessagePublic]):
    """Newest first; `next_cursor` pages back in time."""


class ThreadPublic(BaseModel):
    id: int
    kind: Literal["inquiry", "engagement"]
    listing_id: int | None
    listing_title: str | None
    chain_id: int | None
    engagement_id: int | None
    parties: list[str] = Field(description="[learner or client, mentor or provider]")
    other: str = Field(description="the other party (from the signed-in wallet's side)")
    created_at: int
    last_message_at: int
    unread: int = Field(description="messages from the other party after your read receipt")
    read_up_to: dict[str, int] = Field(description="each party's read receipt: the newest message read")
    blocked: Literal["by_you", "by_them"] | None = Field(description="whether a block stops new messages")


class ThreadsPublic(Page[ThreadPublic]):
    """Most recent activity first."""


class InquiryCreated(BaseModel):
    thread: ThreadPublic
    message: MessagePublic


class BlockPublic(BaseModel):
    address: str
    created_at: int


class BlocksPublic(Page[BlockPublic]):
    """Most recent first."""


class ReportPublic(BaseModel):
    id: int
    message_id: int
    thread_id: int
    reporter: str
    reason: str
    created_at: int


class ReportedPublic(ReportPublic):
    """What an operator sees: the report and the reported message (nothing else of the thread)."""

    sender: str
    body: str | None


class ReportsPublic(Page[ReportedPublic]):
    pass


class UnreadPublic(BaseModel):
    threads: int = Field(description="threads with unread messages")
    messages: int


class ShareIn(Strict):
    message_ids: list[Annotated[int, Field(ge=1, lt=2**63)]] = Field(
        default_factory=list,
        max_length=100,
        description="messages of your conversations with the other party",
    )
    attendance: bool = Field(False, description="also share the session room's join and leave times")


class SharedFile(BaseModel):
    name: str
    media_type: str
    size: int


class SharedEvidencePublic(BaseModel):
    id: int
    kind: Literal["message", "attendance"]
    shared_by: str
    shared_at: int
    message_id: int | None
    sender: str | None
    sent_at: int | None
    body: str | None = Field(description="the message's text as it was when shared")
    attendance: list[dict[str, str | int | None]] | None
    file: SharedFile | None = Field(
        None, description="the message's attachment, copied when shared: GET …/shared-evidence/{id}/file"
    )


class SharedEvidencePage(Page[SharedEvidencePublic]):
    """In the order they were shared."""


class SharedAdded(BaseModel):
    added: int = Field(description="how many items this request added (a message shared before is not)")
