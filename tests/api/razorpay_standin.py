"""A STAND-IN for Razorpay's API — not Razorpay. Razorpay's servers cannot be reached here, so this
speaks its documented wire format (JSON bodies, HTTP basic auth with the key id and secret, entities
and collections, `{"error": {"code": "BAD_REQUEST_ERROR", ...}}`) for the calls Skillchain makes
through the official `razorpay` SDK: create, fetch and cancel a payment link, fetch and list orders,
fetch a payment, list and create its refunds. The SDK talks to it through `base_url`.

What happens on Razorpay's side is simulated by `pay`: the learner pays the link, and Razorpay binds
the payment to an order of its own. That order and the captured payment carry the link's notes — the
behaviour this integration relies on to find the quote (with the Orders API's order as the fallback).
Webhook bodies are built in Razorpay's event shape and signed as Razorpay does: X-Razorpay-Signature
is the hex HMAC-SHA256 of the raw body with the webhook secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tests.net import serving

KEY_ID, KEY_SECRET = "rzp_test_standin", "standin_secret"  # the stand-in's keys, not real ones


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:14]}"


def _bad(description: str, status: int = 400) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "BAD_REQUEST_ERROR", "description": description, "source": "business"}}, status
    )


class RazorpayStandIn:
    def __init__(self) -> None:
        self.links: dict[str, dict[str, Any]] = {}
        self.orders: dict[str, dict[str, Any]] = {}
        self.payments: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, list[dict[str, Any]]] = {}
        self.app = self._build()

    def _build(self) -> FastAPI:
        app = FastAPI(title="Razorpay API stand-in (not Razorpay)")

        @app.middleware("http")
        async def basic_auth(request: Request, call_next: Any) -> Any:
            expected = "Basic " + base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return _bad("The api key provided is invalid", 401)
            return await call_next(request)

        @app.post("/v1/payment_links")
        async def create_link(request: Request) -> JSONResponse:
            body = await request.json()
            if not isinstance(body.get("amount"), int) or body["amount"] < 100:
                return _bad("The amount must be atleast INR 1.00")
            link = {
                "id": _id("plink"),
                "entity": "payment_link",
                "amount": body["amount"],
                "amount_paid": 0,
                "currency": body.get("currency", "INR"),
                "accept_partial": body.get("accept_partial", False),
                "reference_id": body.get("reference_id"),
                "description": body.get("description"),
                "expire_by": body.get("expire_by"),
                "notes": body.get("notes") or [],
                "callback_url": body.get("callback_url"),
                "status": "created",
                "created_at": int(time.time()),
            }
            link["short_url"] = f"https://rzp.standin.test/i/{link['id'][6:]}"
            self.links[link["id"]] = link
            return JSONResponse(link)

        @app.get("/v1/payment_links/{link_id}")
        def fetch_link(link_id: str) -> JSONResponse:
            link = self.links.get(link_id)
            return JSONResponse(link) if link else _bad("The id provided does not exist")

        @app.post("/v1/payment_links/{link_id}/cancel")
        def cancel_link(link_id: str) -> JSONResponse:
            link = self.links.get(link_id)
            if link is None:
                return _bad("The id provided does not exist")
            if link["status"] != "created":
                return _bad(f"Payment Link cannot be cancelled in {link['status']} state")
            link["status"] = "cancelled"
            return JSONResponse(link)

        @app.get("/v1/orders/{order_id}")
        def fetch_order(order_id: str) -> JSONResponse:
            order = self.orders.get(order_id)
            return JSONResponse(order) if order else _bad("The id provided does not exist")

        @app.get("/v1/orders")
        def list_orders(count: int = 10) -> JSONResponse:
            items = sorted(self.orders.values(), key=lambda o: -o["created_at"])[:count]
            return JSONResponse({"entity": "collection", "count": len(items), "items": items})

        @app.get("/v1/payments/{payment_id}")
        def fetch_payment(payment_id: str) -> JSONResponse:
            payment = self.payments.get(payment_id)
            return JSONResponse(payment) if payment else _bad("The id provided does not exist")

        @app.get("/v1/payments/{payment_id}/refunds")
        def list_refunds(payment_id: str) -> JSONResponse:
            items = self.refunds.get(payment_id, [])
            return JSONResponse({"entity": "collection", "count": len(items), "items": items})

        @app.post("/v1/payments/{payment_id}/refund")
        async def refund(payment_id: str, request: Request) -> JSONResponse:
            payment = self.payments.get(payment_id)
            if payment is None:
                return _bad("The id provided does not exist")
            body = await request.json()
            amount = int(body.get("amount", payment["amount"]))
            if amount > payment["amount"] - payment["amount_refunded"]:
                return _bad("The refund amount provided is greater than amount captured")
            made = {
                "id": _id("rfnd"),
                "entity": "refund",
                "amount": amount,
                "currency": payment["currency"],
                "payment_id": payment_id,
                "notes": body.get("notes") or [],
                "receipt": body.get("receipt"),
                "status": "processed",
                "created_at": int(time.time()),
            }
            payment["amount_refunded"] += amount
            self.refunds.setdefault(payment_id, []).append(made)
            return JSONResponse(made)

        return app

    # ------------------------------------------------------------ what happens on Razorpay's side
    def pay(self, link_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """The learner pays the link: Razorpay's order (paid) and captured payment for it."""
        link = self.links[link_id]
        now = int(time.time())
        order = {
            "id": _id("order"),
            "entity": "order",
            "amount": link["amount"],
            "amount_paid": link["amount"],
            "amount_due": 0,
            "currency": link["currency"],
            "receipt": None,
            "status": "paid",
            "attempts": 1,
            "notes": link["notes"],
            "created_at": now,
        }
        payment = {
            "id": _id("pay"),
            "entity": "payment",
            "amount": link["amount"],
            "currency": link["currency"],
            "status": "captured",
            "order_id": order["id"],
            "method": "card",
            "amount_refunded": 0,
            "captured": True,
            "notes": link["notes"],
            "created_at": now,
        }
        link.update(status="paid", amount_paid=link["amount"])
        self.orders[order["id"]] = order
        self.payments[payment["id"]] = payment
        return order, payment

    @staticmethod
    def event(kind: str, **entities: dict[str, Any]) -> bytes:
        return json.dumps(
            {
                "entity": "event",
                "account_id": "acc_standin",
                "event": kind,
                "contains": list(entities),
                "payload": {name: {"entity": entity} for name, entity in entities.items()},
                "created_at": int(time.time()),
            }
        ).encode()

    @staticmethod
    def sign(body: bytes, secret: str) -> str:
        return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@contextmanager
def running_razorpay_standin() -> Iterator[tuple[str, RazorpayStandIn]]:
    standin = RazorpayStandIn()
    with serving(standin.app) as url:
        yield url, standin
