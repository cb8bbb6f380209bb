"""Every request body in the OpenAPI document has an example, and every example is accepted by its
model (so the examples cannot drift from what the API takes)."""

from __future__ import annotations

from typing import Any

import pytest

from api.app import create_app
from api.examples import EXAMPLES, FORM_EXAMPLES


def _models() -> dict[str, Any]:
    from api.auth.routes import VerifyRequest
    from api.booking.schemas import (
        AvailabilityIn,
        BookingCardIn,
        BookingIn,
        RescheduleAnswerIn,
        RescheduleIn,
        StandingOfferIn,
    )
    from api.mail.schemas import EmailIn
    from api.messages.schemas import InquiryIn, MessageIn, ReadIn, ReportIn, ShareIn
    from api.models import (
        DeliverableIn,
        EngagementPrepare,
        EvidenceIn,
        ListingCreate,
        ListingUpdate,
        ProfileUpdate,
        ResolveIn,
        ReviewPrepare,
        WithdrawIn,
    )
    from api.notifications.schemas import MarkReadIn
    from api.offers.schemas import CustomOfferIn, CustomOfferSignatureIn, OfferFund, OfferPrepare
    from api.payments.routes import CheckoutIn
    from api.routes.credentials import (
        BatchIn,
        CredentialIn,
        IssuerProfileIn,
        NameVerificationIn,
        PresentationIn,
        RevokeIn,
        SignatureIn,
        VoucherIn,
    )

    return {m.__name__: m for m in (
        VerifyRequest, DeliverableIn, EngagementPrepare, EvidenceIn, ListingCreate, ListingUpdate,
        ProfileUpdate, ResolveIn, ReviewPrepare, WithdrawIn, OfferFund, OfferPrepare, CheckoutIn, BatchIn,
        CredentialIn, IssuerProfileIn, NameVerificationIn, PresentationIn, RevokeIn, SignatureIn, VoucherIn,
        AvailabilityIn, BookingIn, StandingOfferIn, InquiryIn, MessageIn, ReadIn, ReportIn, ShareIn, MarkReadIn,
        EmailIn, BookingCardIn, RescheduleIn, RescheduleAnswerIn, CustomOfferIn, CustomOfferSignatureIn,
    )}  # fmt: skip


def test_every_request_body_has_an_example() -> None:
    schema = create_app().openapi()
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                assert "example" in media, f"{method.upper()} {path} has no example body"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_example_is_accepted_by_its_model(name: str) -> None:
    _models()[name].model_validate(EXAMPLES[name])


def test_each_form_example_names_the_form_fields() -> None:
    schemas = create_app().openapi()["components"]["schemas"]
    for name, example in FORM_EXAMPLES.items():
        assert set(example) == set(schemas[name]["properties"]), name
