"""LIVE: the shop under gunicorn, scraped by a real Prometheus with the real rules; every panel has data.

One module-wide run (about a minute): the five services on SQLite and the integrity audit (every few
seconds) exporting spans to an OTLP receiver, the repository's prometheus.yml rendered for their ports, a
Prometheus 2 from Debian with exemplar storage, and a short bounded load through the gateway that exercises
every business path (registrations, good and bad logins, browsing, 404s, confirmed, declined and out-of-stock
orders, cancellations, order details) with a small latency fault set on products through the gateway's admin
route. Then a declined charge is turned completed by hand until the audit's violation is scraped, and put
back. Every recording rule, every alert expression and every dashboard query runs against what was scraped.

Products reads through the Redis on 127.0.0.1:6379 (its keys under a prefix of this run). After the load, a fault
scenario runs for the Resilience dashboard: orders' calls to payments answer 503 (a fault on orders'
``upstream:payments``, set through the gateway's admin route) until orders' breaker to payments opens, then the
fault is cleared and orders succeed again once the breaker has closed.
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import dataclass

import pytest
import requests
from sqlalchemy import create_engine, text

from services.audit.domain import INVARIANTS
from services.stack import render_prometheus_config
from tests.support.audit import declined_charge_turned_completed, start_audit
from tests.support.auth import ADMIN
from tests.support.broker import AMQP_URL, private_topology
from tests.support.monitoring import (
    Prometheus,
    alert_rules,
    has_data,
    panel_queries,
    recording_rules,
    rule_groups,
    wait_for_scrapes_and_evaluations_after,
    wait_for_targets_up,
)
from tests.support.otlp import OtlpReceiver
from tests.support.procs import Service, free_port
from tests.support.shop import APPROVE, DECLINE, EVENTS_SHOP, NO_FUNDS, Shop, bearer, running_shop

pytestmark = pytest.mark.timeout(200)

SCRAPE_INTERVAL_SECONDS = 5
LOAD_SECONDS, LOAD_ROUNDS, LOAD_MAX_SECONDS = 20, 5, 50
AUDIT_INTERVAL_SECONDS = 2
#: Every service Prometheus scrapes in the tienda job.
LIVE = (*EVENTS_SHOP, "audit")
#: Set on products during the load, through the gateway: small enough to leave every latency objective met. On the
#: reservations orders makes over HTTP: the gateway reads the catalog over gRPC, as under make up and compose.
FAULT = {"target": "POST /reservations", "fault": "latency", "ratio": 1.0, "delay_seconds": 0.005}
#: The Resilience scenario: every charge orders sends is answered 503 before it leaves orders.
CHARGES_FAIL = {"target": "upstream:payments", "fault": "error", "ratio": 1.0, "status": 503}
#: Longer than two scrapes, so Prometheus sees the breaker open.
BREAKER_RESET_SECONDS = 12
REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass
class Live:
    prometheus: Prometheus
    shop: Shop
    audit: Service
    receiver: OtlpReceiver
    load_started: float  # unix time
    broken: tuple[float, float]  # unix times between which a completed charge had no confirmed order
    broken_saga: str
    breaker_scenario: tuple[float, float]  # unix times: the charges began to fail; orders confirmed again


def expect(response, status: int):
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text}"
    )
    return response


def drive_load(shop: Shop) -> int:
    """Rounds of every user journey for LOAD_SECONDS (at least LOAD_ROUNDS); returns the number of rounds.

    Each round places 3 approved and 2 declined charges: 40% declines, so PaymentDeclineRatioHigh (30%, at
    least 20 charges in 10 minutes) goes pending once 4 rounds are scraped. Each decline releases its stock
    reservation (a saga compensation); each cancellation refunds a payment and returns stock.
    """
    stock = shop.create_product(stock=10_000, price_cents=1999)
    scarce = shop.create_product(stock=1, price_cents=50_000)
    one = [{"product_id": stock["id"], "quantity": 1}]
    http, url = shop.http, shop.url
    started = time.monotonic()
    rounds = 0
    while rounds < LOAD_ROUNDS or time.monotonic() - started < LOAD_SECONDS:
        assert time.monotonic() - started < LOAD_MAX_SECONDS, f"load too slow: {rounds} rounds"
        user, token = shop.register()
        expect(http.post(url("/auth/token"), json={"email": user["email"], "password": "not the password"}), 401)
        expect(http.get(url("/products"), params={"limit": 5}), 200)
        expect(http.get(url(f"/products/{stock['id']}")), 200)
        expect(http.get(url("/products/999999999")), 404)
        expect(http.get(shop.services["gateway"].url + "/no/such/page"), 404)
        confirmed = [expect(shop.order(token, one, card=APPROVE), 201).json() for _ in range(3)]
        expect(shop.order(token, one, card=DECLINE), 402)
        expect(shop.order(token, one, card=NO_FUNDS), 402)
        expect(shop.order(token, [{"product_id": scarce["id"], "quantity": 5}]), 409)
        expect(http.post(url(f"/orders/{confirmed[0]['id']}/cancel"), headers=bearer(token)), 200)
        expect(http.get(url("/orders"), headers=bearer(token)), 200)
        expect(http.get(url(f"/orders/{confirmed[1]['id']}/details"), headers=bearer(token)), 200)
        expect(http.get(url("/notifications"), headers=bearer(token)), 200)
        rounds += 1
    return rounds


def payments_fail_until_the_breaker_opens_then_heal(prometheus: Prometheus, shop: Shop) -> tuple[float, float]:
    """Orders placed while orders' charges fail (503, retried, then refused by the open breaker) until Prometheus
    scrapes the breaker open, then, with the fault cleared, until one confirms (the breaker half-opens after its
    reset and closes). A product read a few times on the way gives the cache its hits. Returns the start and the
    end (unix times)."""
    product = shop.create_product(stock=100)
    for _ in range(4):
        expect(shop.http.get(shop.url(f"/products/{product['id']}"), timeout=10), 200)
    _, token = shop.register("Breaker")
    line = [{"product_id": product["id"], "quantity": 1}]
    faults, admin = shop.url("/admin/faults/orders"), bearer(shop.admin_token())
    started = time.time()
    expect(shop.http.put(faults, json=[CHARGES_FAIL], headers=admin, timeout=10), 200)
    # Scraped at zero first, so that the faults' rate counts every one of them.
    rule = 'tienda_faults_injected_total{job="tienda", service="orders", target="upstream:payments"} == 0'
    prometheus.poll(lambda: prometheus.query(rule), 30, "scraping the fault rule at zero")
    try:
        for _ in range(4):
            assert shop.order(token, line).status_code in (502, 503)  # payments failed; then its breaker is open
        seen = 'tienda_breaker_state{job="tienda", service="orders", upstream="payments"} == 2'
        prometheus.poll(lambda: prometheus.query(seen), BREAKER_RESET_SECONDS, "scraping the open breaker")
    finally:
        expect(shop.http.delete(faults, headers=admin, timeout=10), 200)
    deadline = time.monotonic() + 45
    while shop.order(token, line).status_code != 201:
        assert time.monotonic() < deadline, "orders did not confirm again after the breaker's reset"
        time.sleep(0.5)
    return started, time.time()


def a_declined_saga(shop: Shop) -> str:
    engine = create_engine(shop.databases["payments"])
    try:
        with engine.connect() as connection:
            return connection.execute(
                text("SELECT saga_id FROM payments WHERE status = 'declined' LIMIT 1")
            ).scalar_one()
    finally:
        engine.dispose()


def break_a_charge_until_prometheus_sees_it(prometheus: Prometheus, shop: Shop, saga_id: str) -> tuple[float, float]:
    """A declined charge made completed by hand until a scrape shows the violation, then put back until a scrape
    shows none; returns when it was broken and mended (unix times)."""
    broken = time.time()
    with declined_charge_turned_completed(shop.databases["payments"], saga_id):
        seen = 'tienda_audit_violations{job="tienda", invariant="charge_has_confirmed_order"} > 0'
        prometheus.poll(lambda: prometheus.query(seen), 30, "scraping the audit's violation")
    mended = time.time()
    clean = 'sum(tienda_audit_violations{job="tienda"}) == 0'
    prometheus.poll(lambda: prometheus.query(clean), 30, "scraping the audit clean again")
    return broken, mended


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("live-stack")
    receiver = OtlpReceiver().start()
    try:
        with private_topology() as topology:
            events = {"AMQP_URL": AMQP_URL, "EVENTS_EXCHANGE": topology.exchange}
            grpc_port = free_port()
            extra_env = {
                "products": {"PRODUCTS_GRPC_PORT": str(grpc_port), "REDIS_URL": REDIS_URL,
                             "PRODUCT_CACHE_KEY_PREFIX": f"test:live:{uuid.uuid4().hex}"},
                "gateway": {"PRODUCTS_GRPC_URL": f"grpc://127.0.0.1:{grpc_port}"},
                "orders": {**events, "BREAKER_RESET_SECONDS": str(BREAKER_RESET_SECONDS)},
                "payments": events,
                "notifications": {**events, "NOTIFY_QUEUE": topology.queue},
            }  # fmt: skip
            with running_shop("sqlite", tmp, receiver, extra_env=extra_env, names=EVENTS_SHOP) as shop:
                audit = start_audit(
                    shop, tmp / "audit.log", interval_seconds=AUDIT_INTERVAL_SECONDS, otlp_endpoint=receiver.endpoint
                )
                ports = {name: service.port for name, service in shop.services.items()}
                ports |= {"audit": audit.port, "prometheus": free_port()}
                config = render_prometheus_config(tmp / "prometheus", ports)
                data, log = tmp / "prometheus" / "data", tmp / "prometheus.log"
                prometheus = Prometheus(config, ports["prometheus"], data, log)
                try:
                    prometheus.wait_ready()
                    wait_for_targets_up(prometheus, expected=len(ports))
                    faults = shop.url("/admin/faults/products")
                    set_fault = shop.http.put(faults, json=[FAULT], headers=bearer(shop.admin_token()), timeout=10)
                    expect(set_fault, 200)
                    load_started = time.time()
                    drive_load(shop)
                    expect(shop.http.delete(faults, headers=bearer(shop.admin_token()), timeout=10), 200)
                    breaker_scenario = payments_fail_until_the_breaker_opens_then_heal(prometheus, shop)
                    expect(
                        requests.post(audit.url + "/audit/runs", headers=dict(ADMIN), timeout=30), 200
                    )  # a request with an exemplar
                    saga = a_declined_saga(shop)
                    broken = break_a_charge_until_prometheus_sees_it(prometheus, shop, saga)
                    wait_for_scrapes_and_evaluations_after(prometheus, time.time(), SCRAPE_INTERVAL_SECONDS)
                    yield Live(prometheus, shop, audit, receiver, load_started, broken, saga, breaker_scenario)
                finally:
                    prometheus.stop()
                    audit.stop()
    finally:
        receiver.stop()


def test_prometheus_scrapes_every_service_of_the_shop_and_itself(live):
    targets = live.prometheus.api("targets", state="active")["activeTargets"]
    assert all(t["health"] == "up" for t in targets), [(t["scrapeUrl"], t["lastError"]) for t in targets]
    services = {t["labels"]["service"] for t in targets if t["labels"]["job"] == "tienda"}
    assert services == set(LIVE)
    assert {t["labels"]["job"] for t in targets} == {"tienda", "prometheus"}


def test_every_rule_is_loaded_and_evaluates_without_errors(live):
    groups = live.prometheus.api("rules")["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    expected = {rule.get("record") or rule["alert"] for group in rule_groups() for rule in group["rules"]}
    assert set(loaded) == expected
    broken = {name: rule.get("lastError") for name, rule in loaded.items() if rule["health"] != "ok"}
    assert broken == {}


def test_every_recording_rule_has_data_as_an_expression_and_as_the_recorded_series(live):
    empty = []
    for rule in recording_rules():
        if not has_data(live.prometheus.query(rule["expr"])):
            empty.append(f"expr of {rule['record']}")
        if not live.prometheus.query(rule["record"]):
            empty.append(rule["record"])
    assert empty == []


def test_every_alert_expression_is_a_valid_query_over_the_live_metrics(live):
    for rule in alert_rules():
        live.prometheus.query(rule["expr"])  # raises with Prometheus' error if the query is invalid


def test_every_dashboard_panel_has_data_for_the_gateway(live):
    queries = panel_queries()
    no_data = [f"{query}: {query.promql(service='gateway')}" for query in queries
               if not has_data(live.prometheus.query(query.promql(service="gateway")))]  # fmt: skip
    assert no_data == [], "\n".join(no_data)


def test_every_dashboard_panel_query_is_valid_for_every_service(live):
    for service in LIVE:
        for query in panel_queries():
            live.prometheus.query(query.promql(service=service))


def test_the_service_variable_offers_every_service_of_the_shop(live):
    assert set(live.prometheus.api("label/service/values", **{"match[]": "tienda_build_info"})) == set(LIVE)


def test_exemplars_of_every_service_link_latency_to_traces_the_collector_received(live):
    data = live.prometheus.api(
        "query_exemplars",
        query='http_server_request_duration_seconds_bucket{job="tienda"}',
        start=live.load_started - 60,
        end=time.time(),
    )
    by_service: dict[str, set[str]] = {}
    for series in data:
        ids = {exemplar["labels"]["trace_id"] for exemplar in series["exemplars"]}
        by_service.setdefault(series["seriesLabels"]["service"], set()).update(ids)
    assert set(by_service) == set(LIVE)
    trace_ids = set().union(*by_service.values())
    assert all(re.fullmatch(r"[0-9a-f]{32}", trace_id) for trace_id in trace_ids)
    live.receiver.wait_for(lambda spans: trace_ids <= {span.trace_id for span in spans}, timeout=10)


def test_the_wave_of_declined_cards_puts_payment_decline_ratio_high_in_pending_and_nothing_fires(live):
    alerts = live.prometheus.api("alerts")["alerts"]
    states = {(a["labels"]["alertname"], a["labels"].get("service"), a["state"]) for a in alerts}
    assert ("PaymentDeclineRatioHigh", "payments", "pending") in states
    assert [a for a in alerts if a["state"] == "firing"] == []


# --- the Integrity dashboard on live data ---------------------------------------------------------------


def integrity_panel(title: str):
    (query,) = [q for q in panel_queries() if q.dashboard == "tienda-integrity" and q.panel == title]
    return query


def test_the_violations_panel_shows_the_completed_charge_of_a_declined_order_while_it_lasted(live):
    start, end = live.broken
    query = integrity_panel("Violations by invariant").promql()
    series = live.prometheus.api("query_range", query=query, start=start - 10, end=end + 10, step=1)["result"]
    peaks = {s["metric"]["invariant"]: max(float(value) for _, value in s["values"]) for s in series}

    assert peaks["charge_has_confirmed_order"] == 1
    assert {name: peak for name, peak in peaks.items() if name != "charge_has_confirmed_order"} == {
        "stock_conserved": 0,
        "confirmed_order_charged_once": 0,
        "held_stock_has_unfinished_order": 0,
        "committed_stock_has_confirmed_order": 0,
        "order_finished_within_bound": 0,
    }
    lines = [line for line in live.audit.log_lines() if '"audit.violation"' in line]
    assert any(f"saga {live.broken_saga}" in line for line in lines)


def test_after_the_load_and_the_mended_charge_the_audit_finds_every_invariant_holding(live):
    now = {s["metric"]["invariant"]: float(s["value"][1]) for s in live.prometheus.query(
        integrity_panel("Violations by invariant").promql())}  # fmt: skip
    report = requests.get(live.audit.url + "/audit/report", headers=dict(ADMIN), timeout=10).json()

    assert now == dict.fromkeys(INVARIANTS, 0.0)
    assert report["details"] == [] and set(report["violations"].values()) == {0}
    assert float(live.prometheus.query(integrity_panel("Time since the last audit run").promql())[0]["value"][1]) < 60


def test_the_audit_runs_panel_counts_clean_runs_and_runs_that_found_the_violation(live):
    runs = {s["metric"]["result"]: float(s["value"][1])
            for s in live.prometheus.query('tienda_audit_runs_total{job="tienda"}')}  # fmt: skip

    assert runs["clean"] > 0 and runs["violations"] > 0


def test_the_faults_panels_show_the_latency_fault_set_on_products_through_the_gateway(live):
    rows = live.prometheus.query(integrity_panel("Faults injected by rule").promql())
    (row,) = [r for r in rows if r["metric"]["service"] == "products"]  # orders' is the Resilience scenario's
    total = live.prometheus.query(integrity_panel("Faults injected").promql())

    assert (row["metric"]["service"], row["metric"]["fault"], row["metric"]["target"]) == (
        "products", "latency", FAULT["target"])  # fmt: skip
    assert float(row["value"][1]) > 0
    assert float(total[0]["value"][1]) > 0  # the same increase, read a moment later


# --- the Resilience dashboard on live data --------------------------------------------------------------


def resilience_panel(title: str, ref: str = "A"):
    (query,) = [q for q in panel_queries() if q.dashboard == "tienda-resilience" and q.panel == title and q.ref == ref]
    return query


def peaks_during(live: Live, title: str, window: tuple[float, float]) -> dict[str, float]:
    """The highest value of each series of the panel's query over ``window`` (plus a scrape either side)."""
    start, end = window
    query = resilience_panel(title).promql()
    series = live.prometheus.api("query_range", query=query, start=start - 10, end=end + 20, step=1)["result"]
    return {",".join(f"{k}={v}" for k, v in sorted(s["metric"].items())): max(float(v) for _, v in s["values"])
            for s in series}  # fmt: skip


def test_the_breaker_panels_show_orders_breaker_to_payments_open_and_close_while_charges_failed(live):
    states = peaks_during(live, "Breaker state by upstream", live.breaker_scenario)
    transitions = peaks_during(live, "Breaker transitions per minute", live.breaker_scenario)
    retries = peaks_during(live, "Retries per minute by upstream", live.breaker_scenario)

    assert states["service=orders,upstream=payments"] == 2
    assert {name for name, peak in states.items() if peak > 0} == {"service=orders,upstream=payments"}
    for to in ("open", "half_open", "closed"):
        assert transitions[f"service=orders,to={to},upstream=payments"] > 0, to
    assert retries["service=orders,upstream=payments"] > 0
    now = {s["metric"]["upstream"]: float(s["value"][1]) for s in live.prometheus.query(
        resilience_panel("Breaker state by upstream").promql()) if s["metric"]["service"] == "orders"}  # fmt: skip
    assert now["payments"] == 0  # closed again
    assert float(live.prometheus.query(resilience_panel("Open breakers").promql())[0]["value"][1]) == 0
    injected = peaks_during(live, "Faults injected per minute by service and rule", live.breaker_scenario)
    assert injected["fault=error,service=orders,target=upstream:payments"] > 0


def test_the_cache_panels_show_product_reads_answered_from_redis(live):
    ratio = float(live.prometheus.query(resilience_panel("Cache hit ratio").promql())[0]["value"][1])
    results = {s["metric"]["result"]: float(s["value"][1]) for s in live.prometheus.query(
        'tienda_cache_requests_total{job="tienda", service="products"}')}  # fmt: skip

    assert results["hit"] > 0 and results["miss"] > 0 and results["error"] == 0
    assert 0 < ratio < 1


def test_the_events_panels_show_the_orders_events_published_and_consumed(live):
    window = (live.load_started, time.time())
    flows = peaks_during(live, "Events published and consumed per minute", window)
    published = float(live.prometheus.query('sum(tienda_events_confirmed_total{job="tienda"})')[0]["value"][1])
    consumed = float(live.prometheus.query('sum(tienda_events_consumed_total{job="tienda"})')[0]["value"][1])

    assert flows and all(peak > 0 for peak in flows.values()), flows
    assert published > 0 and consumed > 0
