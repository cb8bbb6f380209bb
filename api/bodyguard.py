"""The first thing every request meets: a size limit that holds for chunked bodies too, a strict JSON
check before pydantic sees anything, and no NUL characters in the query string.

Strict JSON here means: UTF-8; no NaN, Infinity or numbers beyond a double (1e309); no integer of more
than 4,300 digits; no lone surrogate and no NUL in any string or key; nesting at most 32 deep; at
most 1,000 keys per object and at most 20,000 colons in the whole body (counted on the raw bytes while
they arrive, so a megabyte of unknown keys is refused without being parsed). Anything else is refused
with a 400 (or 413) problem document before a route, a validator or a database is touched — the root
fix for bodies that made pydantic build tens of thousands of errors, or PostgreSQL refuse a NUL.
"""

from __future__ import annotations

import email.message
import json
import math
import re
from itertools import accumulate
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem

MAX_DEPTH = 32
MAX_KEYS = 1_000
MAX_COLONS = 20_000  # an upper bound on the keys of a body; no field of this API holds that many colons
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
_STRINGS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEPS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")  # +1 opening, -1 (as a signed byte) closing


def _nesting(body: bytes) -> int:
    """An upper bound of how deep `body` nests, counted on its brackets outside strings — before any
    parser recurses: a C parser nesting 100,000 levels deep overflows the stack when the recursion
    limit was raised (as in the test suite). Cheap for ordinary bodies: few brackets, no scan."""
    if body.count(b"[") + body.count(b"{") <= MAX_DEPTH:
        return MAX_DEPTH
    skeleton = _STRINGS.sub(b"", body).translate(None, _NOT_BRACKETS)
    if len(skeleton) <= MAX_DEPTH:
        return len(skeleton)
    return max(accumulate(memoryview(skeleton.translate(_STEPS)).cast("b")), default=0)


class InvalidJson(ValueError):
    """Raised when a body is not strict JSON; the message says what is wrong, without quoting it."""


def _constant(name: str) -> Any:
    raise InvalidJson(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJson("a number is out of range")
    return value


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_KEYS:
        raise InvalidJson(f"an object has more than {MAX_KEYS} keys")
    return dict(pairs)


def _text_problem(text: str) -> str | None:
    found = _BAD_CHARS.search(text)
    if found is None:
        return None
    return "a string contains a NUL character" if found.group() == "\x00" else "a string has a lone surrogate"


def check_json(body: bytes) -> None:
    """Raises InvalidJson unless `body` is strict JSON (see the module docstring)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidJson("the body is not UTF-8") from None
    if body.count(b":") > MAX_COLONS:
        raise InvalidJson(f"more than {MAX_COLONS} keys")
    if _nesting(body) > MAX_DEPTH:
        raise InvalidJson(f"nested deeper than {MAX_DEPTH} levels")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, object_pairs_hook=_object)
    except InvalidJson:
        raise
    except RecursionError:
        raise InvalidJson(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, or an integer beyond Python's digit limit
        where = f" at character {exc.pos}" if isinstance(exc, json.JSONDecodeError) else ""
        raise InvalidJson(f"malformed JSON{where}") from None
    if b"\\u" not in body:
        # Without \u escapes no string can hold a NUL or a lone surrogate (raw control characters and
        # invalid UTF-8 were refused above), and the depth was bounded before parsing.
        return
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if (bad := _text_problem(item)) is not None:
                raise InvalidJson(bad)
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise InvalidJson(f"nested deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    if (bad := _text_problem(key)) is not None:
                        raise InvalidJson(bad)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def _is_json(scope: Scope) -> bool:
    """Whether FastAPI will parse this body as JSON — decided exactly as FastAPI decides it (no
    content type at all, or application/json or application/*+json as `email.message` reads the
    header, which strips more than ASCII whitespace), so no header spelling can slip past the check."""
    values = [value for name, value in scope.get("headers", []) if name == b"content-type"]
    if not values:
        return True
    message = email.message.Message()
    message["content-type"] = values[0].decode("latin-1")
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


class BodyGuard:
    """ASGI middleware: buffers the body up to `limit` bytes (413 beyond, chunked or not), checks JSON
    bodies strictly, refuses NUL in the query string, then hands the same bytes to the app."""

    def __init__(
        self, app: ASGIApp, limit: int, larger: list[tuple[re.Pattern[str], int]] | None = None
    ) -> None:
        self.app = app
        self.default_limit = limit
        self.larger = larger or []  # (path pattern, limit): uploads whose limit is above the default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await problem(400, "the query string contains a NUL character", "invalid_query")(
                scope, receive, send
            )
            return
        limit = self._limit(scope["path"])
        headers = dict(scope.get("headers", []))
        if limit > self.default_limit and not headers.get(b"authorization"):
            # An upload path takes more than any JSON body: never buffer that much for a stranger.
            refusal = problem(
                401, "sign in first: send 'Authorization: Bearer <session token>'", "not_signed_in"
            )
            await refusal(scope, receive, send)
            return
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(limit, scope, receive, send)
            return
        chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        if (
            scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE")
            and declared in (None, b"0")
            and not chunked
        ):
            await self.app(scope, receive, send)  # no body to read: stream straight through
            return
        chunks: list[bytes] = []
        size = 0
        colons = 0
        check = _is_json(scope)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)  # a disconnect: let the app see it
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._too_large(limit, scope, receive, send)
                return
            if check:
                colons += chunk.count(b":")
                if colons > MAX_COLONS:  # refused before the rest arrives, and never parsed
                    refusal = problem(400, f"invalid JSON body: more than {MAX_COLONS} keys", "invalid_json")
                    await refusal(scope, receive, send)
                    return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and check:
            try:
                check_json(body)
            except InvalidJson as exc:
                await problem(400, f"invalid JSON body: {exc}", "invalid_json")(scope, receive, send)
                return
        await self.app(
            scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send
        )

    def _limit(self, path: str) -> int:
        for pattern, limit in self.larger:
            if pattern.match(path):
                return max(limit, self.default_limit)
        return self.default_limit

    async def _too_large(self, limit: int, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(413, f"request body larger than {limit} bytes", "body_too_large")
        await response(scope, receive, send)


def _replay(messages: list[Message], then: Receive) -> Receive:
    """Hands out the buffered messages, then whatever the client sends next (its disconnect)."""
    pending = list(messages)

    async def receive() -> Message:
        if pending:
            return pending.pop(0)
        return await then()

    return receive
