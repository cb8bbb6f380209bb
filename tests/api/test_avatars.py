"""Profile pictures: uploaded by their owner, read from the content (an executable named .png is
refused), at most 1 MiB, served publicly with the owner's listings pointing at it, exported and gone
with the owner's erasure."""

from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from tests.api.siwe_helpers import ADDRESS
from tests.api.test_auth_routes import sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64  # PNG magic: all the sniffing reads


def _headers(client: TestClient) -> dict[str, str]:
    return {"Authorization": "Bearer " + sign_in(client).json()["token"]}


def test_an_avatar_is_uploaded_served_listed_exported_and_erased(client: TestClient) -> None:
    headers = _headers(client)
    assert client.get(f"/users/{ADDRESS}/avatar").status_code == 404
    assert client.get(f"/users/{ADDRESS}").json()["avatar_url"] is None
    put = client.put("/me/avatar", headers=headers, files={"file": ("me.png", PNG, "image/png")})
    assert put.status_code == 204, put.text
    got = client.get(f"/users/{ADDRESS}/avatar")
    assert got.status_code == 200 and got.content == PNG and got.headers["content-type"] == "image/png"
    assert got.headers["x-content-type-options"] == "nosniff"
    url = client.get(f"/users/{ADDRESS}").json()["avatar_url"]
    assert url.startswith(f"/users/{ADDRESS}/avatar?v=")
    made = client.post(
        "/listings",
        headers=headers,
        json={"kind": "offer", "skill": "python", "title": "Pairing", "description": "", "price": "10"},
    )
    assert made.status_code == 201, made.text
    assert client.get(f"/listings/{made.json()['id']}").json()["owner_avatar"] == url
    found = client.get("/listings", params={"owner": ADDRESS}).json()["data"]
    assert [x["owner_avatar"] for x in found] == [url]
    exported = client.get("/me/export", headers=headers).json()
    assert base64.b64decode(exported["avatar_base64"]) == PNG
    assert all("content" not in row for row in exported["tables"]["avatar"])
    assert client.delete("/me", headers=headers).status_code in (200, 204)
    assert client.get(f"/users/{ADDRESS}/avatar").status_code == 404


def test_bad_avatars_are_refused_in_words_and_keep_the_old_one(client: TestClient) -> None:
    headers = _headers(client)
    assert (
        client.put("/me/avatar", headers=headers, files={"file": ("me.png", PNG, "image/png")}).status_code
        == 204
    )
    exe = client.put(
        "/me/avatar", headers=headers, files={"file": ("me.png", b"MZ\x90\x00" + b"\x00" * 64, "image/png")}
    )
    assert exe.status_code == 415 and "read from its content" in exe.text
    pdf = client.put(
        "/me/avatar",
        headers=headers,
        files={"file": ("cv.pdf", b"%PDF-1.7\n" + b"0" * 64, "application/pdf")},
    )
    assert pdf.status_code == 415
    big = client.put(
        "/me/avatar", headers=headers, files={"file": ("big.png", PNG + b"0" * (1024 * 1024), "image/png")}
    )
    assert big.status_code == 413
    empty = client.put("/me/avatar", headers=headers, files={"file": ("none.png", b"", "image/png")})
    assert empty.status_code == 422
    assert client.put("/me/avatar", files={"file": ("me.png", PNG, "image/png")}).status_code == 401
    assert client.get(f"/users/{ADDRESS}/avatar").content == PNG  # the good one stays
    assert client.delete("/me/avatar", headers=headers).status_code == 204
    assert client.get(f"/users/{ADDRESS}/avatar").status_code == 404
