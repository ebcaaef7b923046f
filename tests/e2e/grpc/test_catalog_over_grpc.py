"""The gateway reads the catalog over gRPC: the same answers as over HTTP, one trace from the gateway into products'
database span, and RPC histograms whose exemplars are traces that arrived."""

import re
import uuid

import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from tests.support.auth import GATEWAY
from tests.support.grpc.catalog import wait_for_log

PRODUCT = "tienda.products.v1.ProductService/GetProduct"


def test_a_product_read_through_the_gateway_is_served_over_grpc_with_the_http_answer(gateway, sqlite_products):
    added = sqlite_products.add(f"GW-{uuid.uuid4().hex[:8]}", price_cents=2490, stock=4)
    rid = f"gw-{uuid.uuid4().hex}"
    r = requests.get(f"{gateway.url}/api/v1/products/{added.id}", headers={"X-Request-ID": rid}, timeout=5)
    assert r.status_code == 200
    assert (
        r.json()
        == requests.get(f"{sqlite_products.service.url}/products/{added.id}", headers=GATEWAY, timeout=5).json()
    )
    line = wait_for_log(sqlite_products, lambda line: line.get("request_id") == rid)
    assert (line["event"], line["rpc_method"], line["grpc_status"]) == ("rpc.access", "GetProduct", "OK")


def test_the_gateways_readiness_asks_products_grpc_health(gateway):
    checks = requests.get(f"{gateway.url}/health/ready", timeout=5).json()["checks"]
    assert checks["products_grpc"]["status"] == "ok"


def test_a_page_read_through_the_gateway_is_the_http_page(gateway, sqlite_products):
    over_grpc = requests.get(f"{gateway.url}/api/v1/products", params={"limit": 3, "offset": 1}, timeout=5)
    over_http = requests.get(
        f"{sqlite_products.service.url}/products", params={"limit": 3, "offset": 1}, headers=GATEWAY, timeout=5
    )
    assert over_grpc.status_code == 200
    assert over_grpc.json() == over_http.json()


def test_an_unknown_product_is_the_same_json_error_over_grpc(gateway, sqlite_products):
    r = requests.get(f"{gateway.url}/api/v1/products/2147483000", timeout=5)
    http = requests.get(f"{sqlite_products.service.url}/products/2147483000", headers=GATEWAY, timeout=5)
    assert r.status_code == http.status_code == 404
    assert r.json()["error"]["code"] == http.json()["error"]["code"] == "product_not_found"
    assert r.json()["error"]["request_id"] == r.headers["X-Request-ID"]


def test_one_trace_runs_from_the_gateway_through_the_grpc_hop_into_the_database(gateway, grpc_receiver):
    rid = f"trace-{uuid.uuid4().hex}"
    r = requests.get(f"{gateway.url}/api/v1/products/1", headers={"X-Request-ID": rid}, timeout=5)
    assert r.status_code == 200

    def trace_of(spans):
        entries = [s for s in spans if s.attributes.get("http.request.header.x-request-id") == [rid]]
        gateway_entry = [s for s in entries if s.service == "gateway"]
        if not gateway_entry:
            return []
        in_trace = [s for s in spans if s.trace_id == gateway_entry[0].trace_id]
        kinds = {(s.service, s.kind) for s in in_trace if s.name == PRODUCT}
        complete = {("gateway", "CLIENT"), ("products", "SERVER")} <= kinds
        return in_trace if complete and any(s.attributes.get("db.system") for s in in_trace) else []

    spans = trace_of(grpc_receiver.wait_for(trace_of))
    by_id = {s.span_id: s for s in spans}
    db = next(s for s in spans if s.attributes.get("db.system"))
    server = by_id[db.parent_span_id]
    client = by_id[server.parent_span_id]
    entry = by_id[client.parent_span_id]
    assert (server.kind, server.service, server.name) == ("SERVER", "products", PRODUCT)
    assert (client.kind, client.service, client.name) == ("CLIENT", "gateway", PRODUCT)
    assert (entry.kind, entry.service, entry.parent_span_id) == ("SERVER", "gateway", "")
    assert server.attributes["http.request.header.x-request-id"] == [rid]
    for span in (client, server):
        assert span.attributes["rpc.system"] == "grpc"
        assert span.attributes["rpc.service"] == "tienda.products.v1.ProductService"
        assert span.attributes["rpc.method"] == "GetProduct"
        assert span.attributes["rpc.grpc.status_code"] == 0


def _exemplar_trace_ids(exposition: str, name: str) -> set[str]:
    found = set()
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == f"{name}_bucket" and sample.exemplar and sample.labels["rpc_method"] == "GetProduct":
                found.add(sample.exemplar.labels["trace_id"])
    return found


def test_the_rpc_histograms_exemplars_are_traces_that_arrived(gateway, sqlite_products, grpc_receiver):
    for _ in range(3):
        assert requests.get(f"{gateway.url}/api/v1/products/2", timeout=5).status_code == 200
    openmetrics = {"Accept": "application/openmetrics-text; version=1.0.0"}
    client_ids = _exemplar_trace_ids(
        requests.get(f"{gateway.url}/metrics", headers=openmetrics, timeout=5).text, "rpc_client_duration_seconds"
    )
    server_ids = _exemplar_trace_ids(sqlite_products.scrape(openmetrics=True), "rpc_server_duration_seconds")
    assert client_ids and server_ids
    assert all(re.fullmatch(r"[0-9a-f]{32}", trace_id) for trace_id in client_ids | server_ids)

    def traced(kind: str, spans) -> set[str]:
        return {s.trace_id for s in spans if s.name == PRODUCT and s.kind == kind}

    # Each exemplar is the trace of a call of its own side: the gateway's client spans, products' server spans.
    grpc_receiver.wait_for(
        lambda spans: client_ids <= traced("CLIENT", spans) and server_ids <= traced("SERVER", spans)
    )
