"""Wiring card payments from settings: the configured providers, the relayer key, the worker thread."""

from __future__ import annotations

import logging
import threading
from typing import Any

from sqlalchemy import Engine

from api.payments.providers.base import PaymentProvider
from api.payments.providers.razorpay import RazorpayConfig, RazorpayProvider
from api.payments.providers.stripe import StripeConfig, StripeProvider
from api.payments.service import Payments, RelayerPolicy
from chain.records import LOCAL_CHAIN_IDS, load_record, record_path
from skillchain.settings import Settings

log = logging.getLogger("skillchain.payments")


class LazyRelayer:
    """The relayer needs the chain; the API must start without it. Built on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._relayer: Any = None

    def get(self) -> Any:
        if self._relayer is None:
            from eth_account import Account
            from web3 import Web3

            from chain.relayer import Relayer
            from chain.tx import anvil_account

            s = self.settings
            record = load_record(
                record_path(s.chain_id, data_dir=s.data_dir, deployments_dir=s.deployments_dir)
            )
            if record is None:
                return None
            if s.relayer_key is not None:
                account = Account.from_key(s.relayer_key.get_secret_value())
            elif s.chain_id in LOCAL_CHAIN_IDS:
                account = anvil_account(8)  # the local chain's dev relayer, funded with tUSD at deploy
            else:
                return None
            self._relayer = Relayer(Web3(Web3.HTTPProvider(s.effective_rpc_url)), account, record)
        return self._relayer


class PaymentsWithLazyRelayer(Payments):
    def __init__(self, *, lazy: LazyRelayer, **kwargs: Any) -> None:
        super().__init__(relayer=None, **kwargs)
        self._lazy = lazy
        self._stop = threading.Event()
        self._worker: threading.Thread | None = None

    def start_worker(self, interval: float = 1.0) -> None:
        """The job queue, every `interval` seconds in a thread of the API process, until stop_worker."""
        if self._worker is not None:
            return

        def work() -> None:
            while not self._stop.wait(interval):
                try:
                    self.process_jobs()
                except Exception:
                    log.exception("payment worker pass failed")

        self._worker = threading.Thread(target=work, name="payments-worker", daemon=True)
        self._worker.start()

    def stop_worker(self) -> None:
        self._stop.set()
        if self._worker is not None:
            self._worker.join(timeout=70)  # a pass waits at most SKILLCHAIN_RELAYER_WAIT_SECONDS per job

    def process_jobs(self) -> int:
        if self.relayer is None:
            self.relayer = self._lazy.get()
        return super().process_jobs()


def providers_of(settings: Settings) -> dict[str, PaymentProvider]:
    """Every card provider whose keys are configured."""
    site = f"http://{settings.api_host}:{settings.api_port}"
    found: dict[str, PaymentProvider] = {}
    if settings.stripe_secret_key is not None and settings.stripe_webhook_secret is not None:
        found["stripe"] = StripeProvider(
            StripeConfig(
                secret_key=settings.stripe_secret_key.get_secret_value(),
                webhook_secret=settings.stripe_webhook_secret.get_secret_value(),
                api_base=settings.stripe_api_base,
                success_url=f"{site}/?paid={{CHECKOUT_SESSION_ID}}",
                cancel_url=f"{site}/?cancelled=1",
            )
        )
    if (
        settings.razorpay_key_id
        and settings.razorpay_key_secret is not None
        and settings.razorpay_webhook_secret is not None
    ):
        found["razorpay"] = RazorpayProvider(
            RazorpayConfig(
                key_id=settings.razorpay_key_id,
                key_secret=settings.razorpay_key_secret.get_secret_value(),
                webhook_secret=settings.razorpay_webhook_secret.get_secret_value(),
                api_base=settings.razorpay_api_base,
                callback_url=f"{site}/?paid=razorpay",
            )
        )
    return found


def start_payments(settings: Settings, engine: Engine) -> PaymentsWithLazyRelayer | None:
    providers = providers_of(settings)
    if not providers:
        return None
    payments = PaymentsWithLazyRelayer(
        lazy=LazyRelayer(settings),
        engine=engine,
        chain_id=settings.chain_id,
        providers=providers,
        credit_depth=settings.finality_depth,
        policy=RelayerPolicy(
            wait_seconds=settings.relayer_wait_seconds,
            stuck_seconds=settings.relayer_stuck_seconds,
            max_fee=int(settings.relayer_max_fee_gwei * 10**9),
        ),
    )
    return payments
