"""A STAND-IN for a Kubo node's RPC API — not Kubo. No Kubo binary installs here, so this speaks the
documented wire format of the calls Skillchain uses (`/api/v0/add` multipart with NDJSON answers,
`cat` streaming bytes, `pin/add`, `pin/rm`, `version`, errors as `{"Message", "Code", "Type"}` with
HTTP 500), backed by the embedded store, so the real client code path is exercised over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from ipfs.errors import IpfsError
from ipfs.store import EmbeddedStore
from tests.net import serving


def kubo_error(message: str) -> JSONResponse:
    return JSONResponse({"Message": message, "Code": 0, "Type": "error"}, status_code=500)


def build_app(store: EmbeddedStore) -> FastAPI:
    app = FastAPI(title="Kubo RPC stand-in (not Kubo)")

    @app.middleware("http")
    async def only_post(request: Request, call_next):  # type: ignore[no-untyped-def]
        if request.method != "POST":  # Kubo's RPC API refuses GET since 0.5
            return PlainTextResponse("405 - Method Not Allowed", status_code=405)
        response = await call_next(request)
        response.headers["X-Stand-In"] = "kubo-rpc; not a Kubo node"
        return response

    @app.post("/api/v0/version")
    def version() -> dict[str, str]:
        return {"Version": "0.0.0-standin", "Commit": "standin", "System": "standin"}

    @app.post("/api/v0/add")
    async def add(request: Request) -> Response:
        params = request.query_params
        version = int(params.get("cid-version", "0"))
        if params.get("raw-leaves", "false") != str(version == 1).lower():
            return kubo_error("stand-in supports only Kubo's default leaves for the CID version")
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return kubo_error("no file argument")
        result = store.add(upload.file, cid_version=version, pin=params.get("pin", "true") == "true")  # type: ignore[arg-type]
        line = {"Name": upload.filename, "Hash": result.cid, "Size": str(result.size)}
        return PlainTextResponse(json.dumps(line) + "\n", media_type="application/json")

    @app.post("/api/v0/cat")
    def cat(arg: str) -> Response:
        try:
            store.verify(arg)
        except IpfsError as exc:
            return kubo_error(str(exc))
        return StreamingResponse(store.cat(arg), media_type="text/plain")

    @app.post("/api/v0/pin/add")
    def pin_add(arg: str) -> Response:
        try:
            store.pin(arg)
        except IpfsError as exc:
            return kubo_error(str(exc))
        return JSONResponse({"Pins": [arg]})

    @app.post("/api/v0/pin/rm")
    def pin_rm(arg: str) -> Response:
        if arg not in store.pins():
            return kubo_error("not pinned or pinned indirectly")
        store.unpin(arg)
        return JSONResponse({"Pins": [arg]})

    return app


@contextmanager
def running_standin(root: Path) -> Iterator[str]:
    """Serve the stand-in on a free loopback port; yield its API URL."""
    with serving(build_app(EmbeddedStore(root))) as url:
        yield url
