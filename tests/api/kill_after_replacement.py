"""Run as a child process by tests/api/test_payments.py: one pass of the payment worker (configured
from SKILLCHAIN_* like `skillchain payments worker --once`) that SIGKILLs itself the moment the
node has accepted a replacement transaction — before the worker records anything after sending it.
argv[1]: the hash of the stuck attempt (the one that is not a replacement)."""

from __future__ import annotations

import os
import signal
import sys

from api.payments.setup import start_payments
from chain.relayer import Relayer, SignedTx
from db.engine import make_engine
from skillchain.settings import Settings


def main() -> None:
    stuck = sys.argv[1]
    real = Relayer.broadcast

    def broadcast_then_die(self: Relayer, tx: SignedTx) -> None:
        real(self, tx)
        if tx.hash != stuck:
            os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: as a power cut would

    Relayer.broadcast = broadcast_then_die  # type: ignore[method-assign]
    settings = Settings()  # type: ignore[call-arg]
    payments = start_payments(settings, make_engine(settings.effective_database_url))
    assert payments is not None, "card payments are not configured in the child's environment"
    payments.process_jobs()
    sys.exit("the worker finished its pass without replacing anything")


if __name__ == "__main__":
    main()
