"""One order through the gateway is one connected trace, and every service's logs for it correlate."""

from tests.support.shop import bearer


def test_one_order_yields_one_connected_trace_across_the_services(shop):
    product = shop.create_product(stock=3)
    _, token = shop.register()
    response = shop.order(
        token, [{"product_id": product["id"], "quantity": 1}], **{"X-Request-ID": "e2e-order-trace-1"}
    )
    assert response.status_code == 201

    def gateway_root(spans):
        return [
            s for s in spans
            if s.service == "gateway" and s.kind == "SERVER"
            and s.attributes.get("http.request.header.x-request-id") == ["e2e-order-trace-1"]
        ]  # fmt: skip

    (root,) = gateway_root(shop.receiver.wait_for(lambda spans: gateway_root(spans)))
    expected_servers = {
        ("gateway", "POST /api/v1/orders"),
        ("orders", "POST /orders"),
        ("products", "POST /reservations"),
        ("payments", "POST /payments"),
        ("products", "POST /reservations/<reservation_id>/commit"),
    }

    def complete(_spans):
        trace = shop.receiver.trace(root.trace_id)
        servers = {(s.service, s.name) for s in trace if s.kind == "SERVER"}
        db = {s.service for s in trace if "db.system" in s.attributes or "db.system.name" in s.attributes}
        return expected_servers <= servers and {"orders", "products", "payments"} <= db

    shop.receiver.wait_for(complete, timeout=15)
    trace = shop.receiver.trace(root.trace_id)
    by_id = {s.span_id: s for s in trace}
    assert root.parent_span_id == ""  # the gateway started the trace
    for span in trace:
        if span is not root:
            assert span.parent_span_id in by_id, f"{span.service} {span.name} is not connected"
    # Each downstream server span hangs under a client span of its caller.
    for span in (s for s in trace if s.kind == "SERVER" and s is not root):
        assert by_id[span.parent_span_id].kind == "CLIENT"


def test_every_service_logs_the_order_with_its_trace_and_request_id(shop):
    product = shop.create_product(stock=3)
    _, token = shop.register()
    response = shop.order(token, [{"product_id": product["id"], "quantity": 1}], **{"X-Request-ID": "e2e-order-logs-1"})
    assert response.status_code == 201
    shop.receiver.wait_for(
        lambda spans: any(s.attributes.get("http.request.header.x-request-id") == ["e2e-order-logs-1"] for s in spans)
    )
    trace_ids = set()
    for name in ("gateway", "orders", "products", "payments"):
        lines = [r for r in shop.logs(name) if r.get("request_id") == "e2e-order-logs-1"]
        assert any(r.get("event") == "http.access" for r in lines), name
        trace_ids |= {r["trace_id"] for r in lines}
    assert len(trace_ids) == 1 and len(next(iter(trace_ids))) == 32
    confirmed = [r for r in shop.logs("orders") if r.get("event") == "order.confirmed"]
    assert any(r["request_id"] == "e2e-order-logs-1" for r in confirmed)
    text = "\n".join(shop.services[n].log_path.read_text() for n in ("gateway", "orders", "payments"))
    assert "4242424242424242" not in text and '"cvc": "123"' not in text
    assert bearer(token)["Authorization"].split()[1] not in text
