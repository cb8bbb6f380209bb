"""Hypothesis throws arbitrary JSON — wrong types, huge numbers, NaN, surrogates, deep nesting,
unknown keys, NUL — at every route that takes a body, signed in, and asserts a 4xx problem document
or success: never a 500. On SQLite and PostgreSQL (the stack is SQLite; the plain app runs on both)."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

FUZZ = os.environ.get("SKILLCHAIN_FUZZ") == "1"
ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**300), max_value=2**300)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)
    | st.sampled_from(["", "\x00", "\ud800", "0x", ADDRESS, ADDRESS.lower(), "python", "ETH", "1e309"])
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
bodies = (
    st.dictionaries(
        st.sampled_from(["provider", "title", "skill", "milestones", "amount", "token", "signature", "offer"])
        | st.text(max_size=12),
        values,
        max_size=8,
    )
    | values
)


def _concrete(path: str) -> str:
    """A route path with plausible values for its parameters."""
    path = re.sub(r"\{[a-z_]*id[a-z_]*(:int)?\}", "1", path)
    path = re.sub(r"\{address\}", ADDRESS, path)
    return re.sub(r"\{[^}]+\}", "0", path)


def _body_routes(app: Any) -> list[tuple[str, str]]:
    """Every documented operation that takes a body (from the OpenAPI document)."""
    out = []
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            if method.upper() not in ("POST", "PUT", "PATCH"):
                continue
            if path.startswith(("/payments/webhook", "/payments/razorpay/webhook", "/auth/logout")):
                continue  # the webhooks take raw signed bytes (and answer 503 unconfigured); logout no body
            out.append((method.upper(), _concrete(path)))
    return sorted(out)


@pytest.fixture(scope="module")
def signed_in(stack: Stack) -> tuple[TestClient, dict[str, str]]:
    return stack.client, stack.sign_in(anvil_account(6))


def test_every_body_route_is_covered(signed_in: tuple[TestClient, dict[str, str]]) -> None:
    routes = _body_routes(signed_in[0].app)
    assert ("POST", "/engagements/prepare") in routes and ("POST", "/offers/fund") in routes
    assert len(routes) >= 20


@settings(
    max_examples=300 if FUZZ else 40,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not FUZZ,
)
@given(data=st.data(), body=bodies)
def test_arbitrary_json_never_gets_a_500(
    signed_in: tuple[TestClient, dict[str, str]], data: st.DataObject, body: Any
) -> None:
    client, headers = signed_in
    method, path = data.draw(st.sampled_from(_body_routes(client.app)))
    raw = json.dumps(body, allow_nan=True).encode()
    response = client.request(
        method, path, content=raw, headers=headers | {"content-type": "application/json"}
    )
    assert response.status_code < 500, (method, path, raw[:300], response.text[:300])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"]
