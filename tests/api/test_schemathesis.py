"""Schemathesis over the OpenAPI schema with all checks (but one, see below): no 5xx, no schema
violation. A short run in `make test`; `make fuzz` (SKILLCHAIN_FUZZ=1) runs >= 100 examples per operation."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from chain.tx import anvil_account
from tests.api.conftest_chain import Stack

FUZZ = os.environ.get("SKILLCHAIN_FUZZ") == "1"


@pytest.fixture(scope="module")
def api_schema(stack: Stack) -> Iterator[schemathesis.BaseSchema]:
    """The whole API with every optional part on (card payments against the Stripe and Razorpay
    stand-ins, a matching snapshot), so a 503 "not configured" can only mean a real outage — which must
    not happen here."""
    from pydantic import SecretStr

    from api.app import create_app
    from db.engine import make_engine
    from matching.service import train
    from tests.api.razorpay_standin import KEY_ID, KEY_SECRET, running_razorpay_standin
    from tests.api.stripe_standin import running_stripe_standin

    train(
        make_engine(stack.settings.effective_database_url),
        31337,
        stack.settings.data_dir,
        relayers=set(),
        log=lambda _m: None,
    )
    with running_stripe_standin() as (url, _standin), running_razorpay_standin() as (rzp_url, _rzp):
        settings = stack.settings.model_copy(
            update={
                "stripe_secret_key": SecretStr("sk_test_standin"),
                "stripe_webhook_secret": SecretStr("whsec_test"),
                "stripe_api_base": url,
                "razorpay_key_id": KEY_ID,
                "razorpay_key_secret": SecretStr(KEY_SECRET),
                "razorpay_webhook_secret": SecretStr("rzp_whsec_test"),
                "razorpay_api_base": rzp_url,
                "payments_worker": False,
            }
        )
        # The stream is long-lived by design (tests/api/test_stream.py).
        yield schemathesis.openapi.from_asgi("/openapi.json", create_app(settings)).exclude(
            path="/events/stream"
        )


@pytest.fixture(scope="module")
def auth(stack: Stack) -> dict[str, str]:
    return stack.sign_in(anvil_account(5))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=100 if FUZZ else 8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not FUZZ,
)
def test_api_never_errors_and_keeps_its_schema(case: schemathesis.Case, auth: dict[str, str]) -> None:
    # Every check except "schema-valid data must be accepted": a JSON schema cannot say that a string
    # is a well-formed EIP-4361 message or that a due date lies in the future, so such requests get a
    # documented 400 with the reason.
    if case.path == "/tx/{tx_hash}" and case.query:
        case.query["wait"] = 0  # a long-poll of up to 30 s outlasts the client (test_tx_status.py waits)
    case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])
