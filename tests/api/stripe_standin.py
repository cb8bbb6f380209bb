"""A STAND-IN for Stripe's API — not Stripe. Stripe's servers cannot be reached here, so this speaks
Stripe's wire format (form-encoded requests, JSON objects, Idempotency-Key) for the calls Skillchain
makes: create/retrieve/list Checkout Sessions and create Refunds. stripe-python's real client talks
to it through `base_addresses`. Webhook payloads are built in Stripe's event shape and signed with the
stripe library's own scheme (`WebhookSignature.generate_signature_header`)."""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import stripe
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.net import serving


class StripeStandIn:
    def __init__(self) -> None:
        self.sessions: dict[str, dict[str, Any]] = {}
        self.idempotent: dict[str, dict[str, Any]] = {}
        self.refunds: Counter[str] = Counter()
        self.refund_amounts: dict[str, list[int]] = {}  # payment intent -> each refund's amount
        self.refund_objects: list[dict[str, Any]] = []
        self.idempotency_keys: list[str] = []
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI(title="Stripe API stand-in (not Stripe)")

        @app.post("/v1/checkout/sessions")
        async def create(request: Request) -> JSONResponse:
            key = request.headers.get("Idempotency-Key", "")
            self.idempotency_keys.append(key)
            if key and key in self.idempotent:
                return JSONResponse(self.idempotent[key])
            form = dict((await request.form()).items())
            sid = f"cs_test_{uuid.uuid4().hex}"
            session = {
                "id": sid,
                "object": "checkout.session",
                "url": f"https://checkout.stripe.test/c/pay/{sid}",
                "status": "open",
                "payment_status": "unpaid",
                "mode": form.get("mode"),
                "metadata": {"quote_id": form.get("metadata[quote_id]")},
                "amount_total": int(str(form.get("line_items[0][price_data][unit_amount]", "0"))),
                "currency": form.get("line_items[0][price_data][currency]"),
                "payment_intent": f"pi_{uuid.uuid4().hex[:24]}",
                "livemode": False,
            }
            self.sessions[sid] = session
            if key:
                self.idempotent[key] = session
            return JSONResponse(session)

        @app.get("/v1/checkout/sessions/{sid}")
        def retrieve(sid: str) -> JSONResponse:
            if sid not in self.sessions:
                return JSONResponse(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": f"No such checkout.session: {sid}",
                        }
                    },
                    404,
                )
            return JSONResponse(self.sessions[sid])

        @app.post("/v1/checkout/sessions/{sid}/expire")
        def expire(sid: str) -> JSONResponse:
            session = self.sessions.get(sid)
            if session is None or session["status"] != "open":
                return JSONResponse(
                    {
                        "error": {
                            "type": "invalid_request_error",
                            "message": 'Only Checkout Sessions with a status in ["open"] can be expired.',
                        }
                    },
                    400,
                )
            session["status"] = "expired"
            return JSONResponse(session)

        @app.get("/v1/checkout/sessions")
        def list_sessions(status: str | None = None, limit: int = 10) -> JSONResponse:
            data = [s for s in self.sessions.values() if status is None or s["status"] == status][:limit]
            return JSONResponse(
                {"object": "list", "data": data, "has_more": False, "url": "/v1/checkout/sessions"}
            )

        @app.post("/v1/refunds")
        async def refund(request: Request) -> JSONResponse:
            key = request.headers.get("Idempotency-Key", "")
            if key and key in self.idempotent:
                return JSONResponse(self.idempotent[key])
            form = dict((await request.form()).items())
            intent = str(form.get("payment_intent"))
            self.refunds[intent] += 1
            if "amount" in form:
                self.refund_amounts.setdefault(intent, []).append(int(str(form["amount"])))
            body = {
                "id": f"re_{uuid.uuid4().hex[:16]}",
                "object": "refund",
                "payment_intent": intent,
                "amount": int(str(form.get("amount", 0))),
                "metadata": {
                    k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")
                },
                "status": "succeeded",
            }
            self.refund_objects.append(body)
            if key:
                self.idempotent[key] = body
            return JSONResponse(body)

        @app.get("/v1/refunds")
        def list_refunds(payment_intent: str | None = None, limit: int = 10) -> JSONResponse:
            data = [
                r
                for r in self.refund_objects
                if payment_intent is None or r["payment_intent"] == payment_intent
            ]
            return JSONResponse(
                {"object": "list", "data": data[:limit], "has_more": False, "url": "/v1/refunds"}
            )

        return app

    # ------------------------------------------------------------ what happens on Stripe's side
    def complete(self, sid: str, *, paid: bool) -> dict[str, Any]:
        self.sessions[sid].update(status="complete", payment_status="paid" if paid else "unpaid")
        return self.sessions[sid]

    def pay_async(self, sid: str) -> dict[str, Any]:
        self.sessions[sid].update(payment_status="paid")
        return self.sessions[sid]

    @staticmethod
    def event(kind: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
        return json.dumps(
            {
                "id": event_id or f"evt_{uuid.uuid4().hex}",
                "object": "event",
                "type": kind,
                "api_version": "2024-06-20",
                "created": int(time.time()),
                "livemode": False,
                "data": {"object": obj},
            }
        ).encode()

    @staticmethod
    def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
        return str(
            stripe.WebhookSignature.generate_signature_header(payload.decode(), secret, timestamp=timestamp)
        )


@contextmanager
def running_stripe_standin() -> Iterator[tuple[str, StripeStandIn]]:
    standin = StripeStandIn()
    with serving(standin.app) as url:
        yield url, standin
