"""Every error as an RFC 9457 problem document (`application/problem+json`): `type`, `title`,
`status`, `detail` in words, and a stable machine `code` as its own field.

Routes raise `HTTPException` (its status gives the code) or `ApiError` (a specific code); validation
errors are summarised (at most 20, never echoing the input); a simulated transaction that would
revert carries the contract's error and fields; anything unexpected is a logged 500 problem.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from chain.errors import TxWouldRevert

MEDIA_TYPE = "application/problem+json"
MAX_ERRORS = 20
log = logging.getLogger("skillchain.api")

CODES = {
    400: "bad_request",
    401: "not_signed_in",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "body_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ProblemPublic(BaseModel):
    """An RFC 9457 problem document, as every error of this API is sent."""

    type: str = Field(description="urn:skillchain:problem:<code>")
    title: str = Field(description="the HTTP status phrase")
    status: int
    detail: str = Field(description="what is wrong, in words")
    code: str = Field(
        description="stable machine code, e.g. not_found, invalid_json, transaction_would_revert"
    )
    errors: list[dict[str, str]] | None = Field(None, description="validation: at most 20 of loc, msg, type")
    error_count: int | None = Field(None, description="validation: how many problems there were in all")
    contract: str | None = Field(None, description="transaction_would_revert: the contract that refuses")
    error: str | None = Field(None, description="transaction_would_revert: its custom error")
    fields: dict[str, Any] | None = Field(None, description="transaction_would_revert: the error's fields")


class ApiError(HTTPException):
    """An HTTP error with its own stable `code` (e.g. `nonce_mismatch`) besides the status."""

    def __init__(self, status: int, detail: str, code: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, detail, headers)
        self.code = code


def problem(
    status: int, detail: str, code: str | None = None, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """One problem document."""
    code = code or CODES.get(status, f"http_{status}")
    body = {
        "type": f"urn:skillchain:problem:{code}",
        "title": HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error",
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _where(loc: tuple[Any, ...] | list[Any]) -> str:
    """Where the error is. A part can be a key the client sent (an unknown field): it is cut to 40
    characters and control or invisible characters are shown escaped, so an error never carries a
    large or deceptive piece of the input back."""
    return ".".join(_loc_part(str(part)) for part in loc)


def _loc_part(part: str) -> str:
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in part[:40])
    return shown + ("…" if len(part) > 40 else "")


def _documented_openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document with every 4xx/5xx answer described as application/problem+json."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        tags=app.openapi_tags,
    )
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = ProblemPublic.model_json_schema()
    ref = {"$ref": "#/components/schemas/Problem"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    # A page for people (the e-mail links) may answer an error as HTML too, when the
                    # route declares it (a string schema); HTMLResponse alone marks every status.
                    page = response.get("content", {}).get("text/html", {})
                    html = {"text/html": page} if page.get("schema") == {"type": "string"} else {}
                    response["content"] = {MEDIA_TYPE: {"schema": ref}} | html
                    known = int(status) in HTTPStatus._value2member_map_
                    response.setdefault("description", HTTPStatus(int(status)).phrase if known else "Error")
    from api.examples import add_examples

    add_examples(schema)
    for unused in ("HTTPValidationError", "ValidationError", "ErrorPublic"):
        components.pop(unused, None)
    app.openapi_schema = schema
    return schema


def install(app: FastAPI) -> None:
    """Registers the handlers that turn every error into a problem document, and documents them."""
    app.openapi = lambda: _documented_openapi(app)  # type: ignore[method-assign]

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return problem(
            exc.status_code, detail, getattr(exc, "code", None), headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        # Location, message and type only: never the input (it may be huge, or someone's data).
        errors = [
            {"loc": _where(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
            for e in raw[:MAX_ERRORS]
        ]
        first = f"{errors[0]['loc']}: {errors[0]['msg']}" if errors else "invalid request"
        more = f" (and {len(raw) - 1} more)" if len(raw) > 1 else ""
        return problem(422, first + more, errors=errors, error_count=len(raw))

    @app.exception_handler(TxWouldRevert)
    async def _would_revert(_request: Request, exc: TxWouldRevert) -> JSONResponse:
        fields = {k: v if isinstance(v, (bool, str)) else str(v) for k, v in exc.fields.items()}
        return problem(
            409, str(exc), "transaction_would_revert", contract=exc.contract, error=exc.error, fields=fields
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        # This answer skips the middleware that adds the usual headers: add them here.
        headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
        return problem(
            500, "something went wrong on our side; it was logged", "internal_error", headers=headers
        )
