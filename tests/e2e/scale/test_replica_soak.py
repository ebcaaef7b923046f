"""The chaos soak (tests/support/soak.py), bounded to ``SCALE_SOAK_SECONDS`` (default 20), on the replicated shop:
customers order and cancel through the gateway proxy while random faults hit both replicas of products and of
payments, and the driver SIGKILLs one replica of orders, then of products, by PID, whatever it is doing, and
restarts it. The other replica serves on meanwhile, and a recovery sweep finishes the sagas the dead one left.
Afterwards every order is terminal, the integrity audit finds nothing, what every customer was told agrees with
the orders they hold, and the restarted replica has its share of the traffic again."""

import json
import os
import random

import pytest

from tests.support.chaos import HEAL_BOUND_SECONDS, log_records
from tests.support.soak import Soak

SOAK_SECONDS = float(os.environ.get("SCALE_SOAK_SECONDS", "20"))
SEED = int(os.environ.get("CHAOS_SEED") or random.randrange(1_000_000))
#: One replica of each, killed in turn (orders first: its sagas in flight die with it).
CRASHES = ("orders.1", "products.1")


@pytest.mark.timeout(SOAK_SECONDS + 4 * HEAL_BOUND_SECONDS + 120)
def test_with_one_replica_killed_mid_run_every_order_heals_and_the_audit_finds_nothing(scaled, tmp_path):
    figures = Soak(scaled.fault_shop(), seconds=SOAK_SECONDS, seed=SEED, crashes=CRASHES).run()
    path = tmp_path / "soak-replicas.json"
    path.write_text(json.dumps(figures.as_dict(), indent=2))
    print(f"chaos soak on the replicated shop ({path}):\n{json.dumps(figures.as_dict(), indent=2)}")

    assert figures.violations == [], figures.violations
    assert figures.disagreements == [], figures.disagreements
    assert figures.orders_placed > 0 and figures.faults_injected > 0 and figures.kills > 0, figures.as_dict()
    assert scaled.shop.restarts.get("orders.1", 0) > 0
    restarted = log_records([scaled.shop.services["orders.1"].log_path])  # its log since the restart
    assert any(r.get("event") == "http.access" and r.get("route") == "/orders" for r in restarted)
