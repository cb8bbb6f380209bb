"""One example request body per operation, keyed by its schema's name, added to the OpenAPI document
(`requestBody.content.*.example`). tests/api/test_examples.py validates each against its model, so the
examples cannot drift from what the API accepts."""

from __future__ import annotations

from typing import Any

PROVIDER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
LEARNER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
SIG = "0x" + "11" * 64 + "1b"
DUE = 1_900_000_000  # 2030-03-17
MILESTONE = {
    "title": "Week 1: storage layout",
    "description": "",
    "amount": "10000000000000000",
    "due_date": DUE,
}
CREDENTIAL = {
    "holder": LEARNER,
    "skill": "solidity",
    "name": "Solidity Developer",
    "description": "12 sessions",
}

EXAMPLES: dict[str, dict[str, Any]] = {
    "VerifyRequest": {
        "message": "127.0.0.1:8000 wants you to sign in with your Ethereum account:\n" + PROVIDER + "\n\n…",
        "signature": SIG,
    },
    "ProfileUpdate": {
        "display_name": "Ada",
        "bio": "Solidity auditor, ten years of EVM work.",
        "skills": ["solidity", "python"],
        "hourly_rate": "40.00",
        "languages": ["en", "es"],
        "timezone": "Europe/Madrid",
    },
    "ListingCreate": {
        "kind": "offer",
        "skill": "solidity",
        "title": "Solidity mentoring",
        "description": "One hour on your code, live.",
        "price": "40.00",
        "currency": "USD",
        "languages": ["en"],
        "timezone": "Europe/Madrid",
    },
    "ListingUpdate": {"price": "45.00", "active": True},
    "EngagementPrepare": {
        "provider": PROVIDER,
        "token": "ETH",
        "title": "Solidity mentoring",
        "description": "Four weekly sessions",
        "skill": "solidity",
        "milestones": [MILESTONE],
        "review_window": 86400,
    },
    "DeliverableIn": {"summary": "Session held; notes attached.", "files": []},
    "EvidenceIn": {"statement": "The session did not take place.", "files": []},
    "ResolveIn": {"provider_share_bps": 2500},
    "WithdrawIn": {"token": "ETH"},
    "ReviewPrepare": {"engagement_id": 1, "rating": 5, "comment": "Clear and patient."},
    "OfferPrepare": {
        "title": "One hour of Solidity",
        "skill": "solidity",
        "token": "ETH",
        "session": {"amount": "10000000000000000", "length": 3600, "grace": 604800, "min_notice": 3600},
        "uses": 20,
        "valid_for": 2592000,
    },
    "OfferFund": {
        "offer": {
            "provider": PROVIDER,
            "client": "0x0000000000000000000000000000000000000000",
            "token": "0x0000000000000000000000000000000000000000",
            "amounts": ["10000000000000000"],
            "dueDates": [],
            "sessionLength": "3600",
            "grace": "604800",
            "minNotice": "3600",
            "horizon": "5184000",
            "reviewWindow": "86400",
            "arbiter": "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
            "termsDigest": "0x" + "ab" * 32,
            "nonce": "340282366920938463463374607431768211455",
            "uses": "20",
            "validUntil": "1900000000",
        },
        "signature": SIG,
        "starts_at": DUE,
        "booking_ref": "0x" + "cd" * 32,
        "deadline": DUE - 86400,
    },
    "CredentialIn": CREDENTIAL,
    "BatchIn": {"items": [CREDENTIAL]},
    "VoucherIn": CREDENTIAL | {"valid_for": 604800},
    "SignatureIn": {"signature": SIG},
    "RevokeIn": {"reason": "Issued to the wrong wallet."},
    "IssuerProfileIn": {"name": "Acme Academy", "website": "https://acme.example"},
    "NameVerificationIn": {"name": "Acme Academy"},
    "PresentationIn": {"address": LEARNER, "challenge": "0" * 32, "signature": SIG},
    "AvailabilityIn": {
        "timezone": "Europe/Berlin",
        "daily_cap": 4,
        "rules": [
            {"weekday": 0, "start": "09:00", "end": "12:00"},
            {"weekday": 2, "start": "14:00", "end": "18:30"},
        ],
        "exceptions": [
            {"date": "2026-12-24", "kind": "off"},
            {"date": "2026-12-27", "kind": "extra", "start": "10:00", "end": "12:00"},
        ],
    },
    "BookingIn": {"listing_id": 7, "starts_at": DUE},
    "BookingCardIn": {"method": "razorpay"},
    "RescheduleIn": {"starts_at": DUE + 86400},
    "RescheduleAnswerIn": {"verdict": "accept"},
    "CustomOfferIn": {
        "client": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
        "title": "Code review of your thesis project",
        "skill": "python",
        "currency": "USD",
        "milestones": [
            {"title": "First review", "price": "40", "due_date": DUE},
            {"title": "Second review", "price": "35.50", "due_date": DUE + 7 * 86400},
        ],
    },
    "CustomOfferSignatureIn": {"signature": "0x" + "11" * 65},
    "CheckoutIn": {
        "provider": PROVIDER,
        "title": "Card-paid mentoring",
        "skill": "python",
        "milestones": [MILESTONE | {"amount": "25000000"}],
    },
}
EXAMPLES |= {
    "InquiryIn": {"body": "Hi! Could the first session be about React hooks? I know the basics."},
    "MessageIn": {"body": "Sounds good, see you on Tuesday."},
    "EmailIn": {"email": "ada@example.org"},
    "ReadIn": {"up_to": 42},
    "ReportIn": {"reason": "Asks me to pay outside the app"},
    "ShareIn": {"message_ids": [41, 42], "attendance": True},
    "MarkReadIn": {"up_to": 120},
}
EXAMPLES["StandingOfferIn"] = {"offer": EXAMPLES["OfferFund"]["offer"], "signature": SIG}


# Multipart forms (file uploads), by their form schema's name: a file cannot be an example, so these
# show the text fields and name the file part (checked against the form's fields by the test).
FORM_EXAMPLES: dict[str, dict[str, Any]] = {
    "send_attachment": {"file": "(the image or PDF file)", "body": "My whiteboard from today"},
    "confirm": {"token": "Hh3v2fXk0m9QpL7sYc1RZtW4aNbE6uDjGq8oKx5iV0s"},
    "put_avatar": {"file": "(a PNG, JPEG, GIF or WebP image, at most 1 MiB)"},
}


def add_examples(schema: dict[str, Any]) -> None:
    """Puts each request body's example into the OpenAPI document (in place)."""
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                name = str(media.get("schema", {}).get("$ref", "")).rsplit("/", 1)[-1]
                if name in EXAMPLES:
                    media["example"] = EXAMPLES[name]
                elif name in FORM_EXAMPLES:
                    media["example"] = FORM_EXAMPLES[name]
