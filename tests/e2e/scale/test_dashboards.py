"""Prometheus scrapes each replica as a target of its own (its ``instance``, under the one ``service`` label), and
the dashboards add the replicas up: after a short load through both gateways, every panel of the Business dashboard
has data, one aggregate per panel rather than a series per replica, and the totals are the sums of both replicas'
counts."""

import time

import pytest

from tests.support.monitoring import has_data, panel_queries, wait_for_scrapes_and_evaluations_after
from tests.support.shop import APPROVE, DECLINE, EVENTS_SHOP, bearer

SCRAPE_INTERVAL_SECONDS = 5
#: Single-figure panels and the service whose replicas count what they add up.
TOTALS = {"Orders confirmed": "orders", "Revenue": "orders", "New users": "users"}
#: Answered while payments' answers fail, the order details are partial (the gateway's partial answers panel).
PAYMENTS_FAIL = {"target": "GET /payments", "fault": "error", "ratio": 1.0, "status": 500}


def load(shop) -> None:
    """Every business path, through the proxy: registrations, a failed login, orders confirmed, declined and out
    of stock, a cancellation, and order details on each gateway while payments fails."""
    product, scarce = shop.create_product(stock=1000, price_cents=2500), shop.create_product(stock=1)
    line = [{"product_id": product["id"], "quantity": 1}]
    tokens = []
    for n in range(4):
        user, token = shop.register(f"Seen {n}")
        tokens.append(token)
        bad = shop.http.post(shop.url("/auth/token"), json={"email": user["email"], "password": "wrong"}, timeout=10)
        assert bad.status_code == 401
        confirmed = [shop.order(token, line, card=APPROVE) for _ in range(3)]
        assert [r.status_code for r in confirmed] == [201] * 3, [r.text for r in confirmed]
        assert shop.order(token, line, card=DECLINE).status_code == 402
        assert shop.order(token, [{"product_id": scarce["id"], "quantity": 2}]).status_code == 409
        cancel = shop.http.post(shop.url(f"/orders/{confirmed[0].json()['id']}/cancel"), headers=bearer(token))
        assert cancel.status_code == 200, cancel.text
    order = confirmed[1].json()["id"]
    shop.set_faults("payments", [PAYMENTS_FAIL])
    try:
        for gateway in shop.replicas("gateway"):
            details = shop.http.get(f"{gateway.url}/api/v1/orders/{order}/details", headers=bearer(token), timeout=10)
            assert details.status_code == 200 and details.json()["partial"] is True, details.text
    finally:
        shop.clear_faults("payments")


@pytest.fixture(scope="module")
def scraped(scaled) -> float:
    """The load, then two scrapes of every replica and a rule evaluation; the instant to query at (unix time)."""
    load(scaled.shop)
    wait_for_scrapes_and_evaluations_after(scaled.prometheus, time.time(), SCRAPE_INTERVAL_SECONDS)
    return time.time()


def query(scaled, promql: str, at: float) -> list[dict]:
    return scaled.prometheus.api("query", query=promql, time=at)["result"]


def test_prometheus_scrapes_both_replicas_of_every_service_as_targets_of_their_own(scaled, scraped):
    up = query(scaled, 'count by (service) (up{job="tienda"} == 1)', scraped)
    targets = scaled.prometheus.api("targets", state="active")["activeTargets"]
    instances = {(t["labels"]["service"], t["labels"]["instance"]) for t in targets if t["labels"]["job"] == "tienda"}

    assert {s["metric"]["service"]: float(s["value"][1]) for s in up} == dict.fromkeys(EVENTS_SHOP, 2.0)
    assert instances == {
        (name, f"127.0.0.1:{replica.port}") for name in EVENTS_SHOP for replica in scaled.shop.replicas(name)
    }


def test_every_business_panel_has_data_aggregated_over_the_replicas(scaled, scraped):
    business = [q for q in panel_queries() if q.dashboard == "tienda-business"]
    no_data, per_replica = [], []
    for panel in business:
        result = query(scaled, panel.promql(), scraped)
        if not has_data(result):
            no_data.append(str(panel))
        per_replica += [str(panel) for series in result if "instance" in series["metric"]]

    assert business and no_data == [] and per_replica == [], (no_data, per_replica)


@pytest.mark.parametrize("title", sorted(TOTALS))
def test_a_total_panel_is_the_sum_of_what_each_replica_counted(scaled, scraped, title):
    (panel,) = [q for q in panel_queries() if q.dashboard == "tienda-business" and q.panel == title]
    promql = panel.promql()
    assert promql.startswith("sum(")
    total = float(query(scaled, promql, scraped)[0]["value"][1])
    by_replica = {s["metric"]["instance"]: float(s["value"][1])
                  for s in query(scaled, "sum by (instance) (" + promql.removeprefix("sum("), scraped)}  # fmt: skip

    replicas = {f"127.0.0.1:{replica.port}" for replica in scaled.shop.replicas(TOTALS[title])}
    assert set(by_replica) == replicas and all(count > 0 for count in by_replica.values()), by_replica
    assert total == pytest.approx(sum(by_replica.values()))
