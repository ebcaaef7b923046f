"""The chaos soak, bounded: eight customers order and cancel for ``CHAOS_SECONDS`` (default 30, on SQLite
and again on PostgreSQL) while a driver injects random faults into products and payments and kills and restarts
them (``tests/support/soak.py``). Afterwards no audit violation and no order unfinished past the bound, and what
every customer was told agrees with the orders they hold. The figures are printed and written to
``soak-<database>.json`` in the test's temporary directory. ``CHAOS_SEED`` replays a run's random choices (the
faults and the orders; their timing still differs)."""

import json
import os
import random

import pytest

from tests.support.chaos import HEAL_BOUND_SECONDS
from tests.support.soak import Soak

CHAOS_SECONDS = float(os.environ.get("CHAOS_SECONDS", "30"))
SEED = int(os.environ.get("CHAOS_SEED") or random.randrange(1_000_000))


@pytest.mark.timeout(CHAOS_SECONDS + 4 * HEAL_BOUND_SECONDS + 120)
@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_under_random_faults_and_kills_every_order_heals_and_agrees_with_what_its_customer_was_told(
    fault_shops, kind, tmp_path
):
    figures = Soak(fault_shops[kind], seconds=CHAOS_SECONDS, seed=SEED).run()
    path = tmp_path / f"soak-{kind}.json"
    path.write_text(json.dumps(figures.as_dict(), indent=2))
    print(f"chaos soak on {kind} ({path}):\n{json.dumps(figures.as_dict(), indent=2)}")

    assert figures.violations == [], figures.violations
    assert figures.final_heal_seconds <= HEAL_BOUND_SECONDS, figures.final_heal_seconds
    assert figures.disagreements == [], figures.disagreements
    assert figures.orders_placed > 0 and figures.faults_injected > 0 and figures.kills > 0, figures.as_dict()
