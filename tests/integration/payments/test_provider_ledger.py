"""The card network's ledger on a real database, and the reconciler loop of a payments app.

Re-authorizing a key never captures twice, even from racing threads; a payment left ``processing`` by a provider
that raised is settled by the app's own reconciler thread, counted and logged, and a keyed replay then answers it.
"""

from __future__ import annotations

import io
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from sqlalchemy import text

from services.common.web import EXTENSION, wiring
from services.payments.domain import Approval, Decline, Money, Voided, parse_card
from services.payments.provider import SimulatedProvider, SqlLedger
from tests.support.fakes.payments import FailingProvider
from tests.support.payments import DECLINES, VISA, charge_body, rows, sample

KEY = "c" * 32


def card(number):
    return parse_card(number, "12/30", "123", date(2026, 1, 1))


def ledger_rows(app):
    with wiring(app).database.engine.connect() as connection:
        found = connection.execute(text("SELECT key, outcome, amount_cents FROM provider_authorizations"))
        return [tuple(row) for row in found]


def test_racing_re_authorizations_of_one_key_record_one_capture_and_all_answer_the_first_outcome(app):
    provider = SimulatedProvider(SqlLedger(wiring(app).database))
    numbers = [VISA if n % 2 else DECLINES for n in range(16)]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda number: provider.authorize(KEY, card(number), Money(700, "EUR")), numbers))
    [(key, outcome, amount)] = ledger_rows(app)
    assert (key, amount) == (KEY, 700)
    assert set(answers) == {Approval() if outcome == "approved" else Decline("card_declined")}
    assert provider.lookup(KEY) == answers[0]


def test_a_key_cancelled_in_the_ledger_is_refused_afterwards_and_nothing_is_captured(app):
    provider = SimulatedProvider(SqlLedger(wiring(app).database))
    assert provider.lookup(KEY) is None
    assert provider.cancel(KEY) == Voided()
    assert provider.authorize(KEY, card(VISA), Money(700, "EUR")) == Voided()
    assert ledger_rows(app) == [(KEY, "voided", 0)]


def test_the_apps_reconciler_settles_a_payment_whose_provider_raised_and_a_keyed_replay_then_answers_it(make_app):
    provider = FailingProvider(records=True)  # the network captured, the answer never came back
    log = io.StringIO()
    app = make_app(
        payment_provider=provider, reconcile_interval_seconds=0.05, reconcile_after_seconds=0.2, log_stream=log
    )
    client = app.test_client()
    loop = app.extensions[EXTENSION].loops[0]
    try:
        body = charge_body(order_id=5, amount_cents=1200)
        assert client.post("/payments", json=body).status_code == 500
        assert client.post("/payments", json=body).get_json()["error"]["code"] == "payment_in_progress"
        runs = loop.runs
        assert loop.wait_for_runs(runs + 1, 10)
        for _ in range(400):  # the loop runs every 0.05 s; it takes the payment once 0.2 s old (20 s at most)
            if rows(app)[0]["status"] != "processing" or not loop.wait_for_runs(loop.runs + 1, 10):
                break
        replay = client.post("/payments", json=body)
        assert (replay.status_code, replay.get_json()["status"]) == (200, "completed")
        assert [(r["status"], r["amount_cents"]) for r in rows(app)] == [("completed", 1200)]
        assert provider.calls == 1
        assert sample(app, "tienda_payments_reconciled_total", {"outcome": "completed"}) == 1
        assert sample(app, "tienda_payments_reconciled_total", {"outcome": "voided"}) == 0
        assert sample(app, "tienda_payments_total", {"outcome": "approved"}) == 1
        [line] = [r for r in map(json.loads, log.getvalue().splitlines()) if r.get("event") == "payment.reconciled"]
        assert (line["outcome"], line["saga_id"], line["amount_cents"]) == ("completed", body["saga_id"], 1200)
    finally:
        loop.stop()
