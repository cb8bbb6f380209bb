"""The room's WebSocket protocol: every frame is one JSON object with a `type`. The models below are
the protocol's definition; docs/room.md prints their JSON schemas (`skillchain room schema`).

The client's first frame must be `join` (with its session token: browsers cannot set headers on a
WebSocket, and a token in the URL would land in access logs). The server answers `joined`, then
relays `offer` / `answer` / `candidate` / `hangup` between the two parties (over the outbox, so
the parties may be connected to different API replicas) and `chat` messages (stored as the
engagement's messages). Any refusal closes the socket with one of CLOSE_CODES and a short reason.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from api.messages.schemas import MessagePublic, MessageText

MAX_FRAME_BYTES = 64 * 1024  # an SDP with screen share is 10–20 KB
MAX_SDP = 60_000

# Close codes: 1000 normal (hang-up), 1009 frame too big, 1013 fell behind (reconnect); 4xxx ours.
CLOSE_CODES: dict[int, str] = {
    1000: "hung up or left",
    1009: f"a frame over {MAX_FRAME_BYTES} bytes",
    1013: "this connection fell too far behind: reconnect",
    4000: "the room's window ended",
    4400: "a frame that is not JSON, of an unknown type, or with invalid fields",
    4401: "no valid `join` first: session token missing, unknown or expired",
    4403: "not one of the session's two parties",
    4404: "no such booking",
    4409: "the room is not open: the session is not confirmed, or it is before or after its window",
    4410: "you joined this room from another tab or device",
    4429: "too many frames too fast",
}


class _Frame(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Join(_Frame):
    type: Literal["join"]
    token: str = Field(min_length=16, max_length=200, description="the session token of POST /auth/verify")


class Offer(_Frame):
    type: Literal["offer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP)


class Answer(_Frame):
    type: Literal["answer"]
    sdp: str = Field(min_length=1, max_length=MAX_SDP)


class IceCandidate(_Frame):
    candidate: str = Field(max_length=2000, description="empty: the end of candidates")
    sdpMid: str | None = Field(None, max_length=64)
    sdpMLineIndex: int | None = Field(None, ge=0, le=64)
    usernameFragment: str | None = Field(None, max_length=256)


class Candidate(_Frame):
    type: Literal["candidate"]
    candidate: IceCandidate


class Hangup(_Frame):
    type: Literal["hangup"]


class Chat(_Frame):
    type: Literal["chat"]
    body: MessageText


class Ping(_Frame):
    type: Literal["ping"]


ClientFrame = Annotated[Join | Offer | Answer | Candidate | Hangup | Chat | Ping, Field(discriminator="type")]
CLIENT_FRAMES: TypeAdapter[Join | Offer | Answer | Candidate | Hangup | Chat | Ping] = TypeAdapter(
    ClientFrame
)


# ------------------------------------------------------------------ server → client


class Attendance(BaseModel):
    address: str
    joined_at: int
    left_at: int | None


class Joined(BaseModel):
    type: Literal["joined"] = "joined"
    you: str
    peer: str
    peer_present: bool = Field(description="the other party is connected now")
    polite: bool = Field(description="perfect negotiation: the polite peer yields on an offer collision")
    ice_servers: list[dict[str, Any]]
    closes_at: int
    attendance: list[Attendance]


class PeerJoined(BaseModel):
    type: Literal["peer_joined"] = "peer_joined"
    address: str
    at: int


class PeerLeft(BaseModel):
    type: Literal["peer_left"] = "peer_left"
    address: str
    at: int


class Relayed(BaseModel):
    """`offer`, `answer`, `candidate` or `hangup` from the other party, as they sent it plus `from`."""

    type: Literal["offer", "answer", "candidate", "hangup"]
    sdp: str | None = None
    candidate: IceCandidate | None = None
    from_: str = Field(alias="from")


class ChatOut(BaseModel):
    type: Literal["chat"] = "chat"
    message: MessagePublic


class Pong(BaseModel):
    type: Literal["pong"] = "pong"
    at: int


class ErrorOut(BaseModel):
    """A chat message was refused (blocked, too long); the socket stays open."""

    type: Literal["error"] = "error"
    reason: str


class Closing(BaseModel):
    """Sent just before the server closes: why, and the close code that follows."""

    type: Literal["closing"] = "closing"
    code: int
    reason: str


SERVER_FRAMES: list[type[BaseModel]] = [
    Joined,
    PeerJoined,
    PeerLeft,
    Relayed,
    ChatOut,
    Pong,
    ErrorOut,
    Closing,
]


def schemas() -> dict[str, Any]:
    """The JSON schema of every frame, both directions (for docs and clients)."""
    return {
        "client": CLIENT_FRAMES.json_schema(),
        "server": {m.__name__: m.model_json_schema(by_alias=True) for m in SERVER_FRAMES},
        "close_codes": {str(k): v for k, v in CLOSE_CODES.items()},
    }
