"""The payments app with a card network that never answers, for tests that SIGKILL payments mid-charge.

    gunicorn -c gunicorn.conf.py 'tests.support.stalling_payments:create_app()'

``STALL_AFTER_RECORDING`` (``1``/``0``) says whether the network records its approval in its ledger before it stops
answering (the card was captured and the answer lost) or stops before it saw the request. Each stalled
authorization logs ``test.provider_stalled`` first, so a test knows the request is at the provider before it kills
the process. Everything else is the real app on ``DATABASE_URL``, reconciler included.
"""

from __future__ import annotations

import logging
import os
import threading

from flask import Flask

from services.common.cards import Card
from services.common.db import Database
from services.payments.app import create_app as create_payments_app
from services.payments.domain import Money, Outcome
from services.payments.provider import SimulatedProvider, SqlLedger
from services.payments.settings import PaymentSettings

log = logging.getLogger("tests.stalling_payments")

#: Long enough that only a kill ends the stall.
STALL_SECONDS = 120


class StallingProvider(SimulatedProvider):
    def __init__(self, ledger: SqlLedger, *, after_recording: bool) -> None:
        super().__init__(ledger)
        self.after_recording = after_recording

    def authorize(self, key: str, card: Card, amount: Money) -> Outcome:
        if self.after_recording:
            super().authorize(key, card, amount)
        log.warning("provider stalled", extra={"event": "test.provider_stalled", "saga_id": key})
        threading.Event().wait(STALL_SECONDS)
        raise TimeoutError("the card network did not answer")


def create_app() -> Flask:
    ledger = SqlLedger(Database(PaymentSettings.from_env().database_url))
    provider = StallingProvider(ledger, after_recording=os.environ.get("STALL_AFTER_RECORDING") == "1")
    return create_payments_app({"payment_provider": provider})
