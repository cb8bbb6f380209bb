"""Every list answers in one shape, `{data, next_cursor, total}`, paged by keyset cursors."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.api.siwe_helpers import ADDRESS
from tests.api.test_auth_routes import sign_in

# Ranked answers are top-k by design (best first, no "next"), not lists to page through.
RANKED = {"/recommendations", "/skills/{skill_id}/next", "/admin/risk", "/skills"}
# A batch's answer lists the items it was sent (or asked about), in order.
BATCHES = {"/credentials/batch", "/prices"}


def _schema(spec: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in ref_or_schema:
        return spec["components"]["schemas"][ref_or_schema["$ref"].rsplit("/", 1)[1]]  # type: ignore[no-any-return]
    return ref_or_schema


def test_every_list_has_the_page_shape_and_no_offsets(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    lists = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            params = {p["name"] for p in op.get("parameters", [])}
            assert "offset" not in params and "after" not in params, (method, path)
            ok = op["responses"].get("200") or op["responses"].get("201")
            content = (ok or {}).get("content", {}).get("application/json")
            if not content:
                continue
            schema = _schema(spec, content["schema"])
            if schema.get("type") == "array":
                assert path in RANKED | BATCHES, f"{method} {path} answers a bare array: use Page"
            elif schema.get("properties", {}).get("data", {}).get("type") == "array" and path not in BATCHES:
                lists.append(path)
                assert {"data", "next_cursor", "total"} <= set(schema["properties"]), path
                assert {"cursor", "limit"} <= params, path
    assert len(lists) >= 7  # listings, reviews, vouchers, evidence, holder, my engagements, arbiter queue


def test_listings_walk_by_cursor_without_repeats(client: TestClient) -> None:
    owner = {"Authorization": f"Bearer {sign_in(client).json()['token']}"}
    made = []
    for i in range(5):
        r = client.post(
            "/listings",
            headers=owner,
            json={
                "kind": "offer",
                "skill": "rust",
                "title": f"Page walk {i}",
                "description": "d",
                "price": "10",
                "languages": ["en"],
            },
        )
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])
    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"owner": ADDRESS, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/listings", params=params).json()
        assert page["total"] == 5
        seen += [item["id"] for item in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == sorted(made, reverse=True)


def test_a_cursor_of_another_list_is_refused_in_words(client: TestClient) -> None:
    r = client.get(f"/verify/holder/{ADDRESS}", params={"cursor": "12"})
    assert r.status_code == 422 and "cursor" in r.json()["detail"]
    assert client.get("/listings", params={"cursor": "abc"}).status_code == 422


def test_a_cursor_beyond_the_database_range_is_refused(client: TestClient) -> None:
    r = client.get("/listings", params={"cursor": str(2**63)})
    assert r.status_code == 422 and "out of range" in r.json()["detail"]
    assert client.get(f"/verify/holder/{ADDRESS}", params={"cursor": f"1.{2**200}"}).status_code == 200
