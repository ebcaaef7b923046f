"""``/api/v1/admin/faults/{service}``: an admin reads and changes one service's fault rules through the gateway.

The four services behind the gateway are fakes over real HTTP here (what reaches them is recorded); the
gateway's own rules are changed in-process. The same route over the real shop is in tests/e2e.
"""

from __future__ import annotations

import pytest

from tests.support.gateway import bearer

ADMIN = bearer(1, "admin")
RULE = {"target": "GET /products/{product_id}", "fault": "latency", "ratio": 1.0, "delay_seconds": 0.2}
BEHIND = ("users", "products", "orders", "payments")


@pytest.mark.parametrize("name", BEHIND)
def test_an_admin_reads_replaces_and_clears_the_rules_of_each_service_behind_the_gateway(client, fakes, name):
    fake = fakes[name]
    shown = {"service": name, "faults": [RULE]}
    for method in ("GET", "PUT", "DELETE"):
        fake.reply(method, "/admin/faults", 200, shown)

    assert client.get(f"/api/v1/admin/faults/{name}", headers=ADMIN).get_json() == shown
    replaced = client.put(f"/api/v1/admin/faults/{name}", headers=ADMIN, json={"faults": [RULE]})
    cleared = client.delete(f"/api/v1/admin/faults/{name}", headers=ADMIN)

    assert (replaced.status_code, replaced.get_json()) == (200, shown)
    assert cleared.status_code == 200
    assert [(c.method, c.path, c.json) for c in fake.calls] == [
        ("GET", "/admin/faults", None),
        ("PUT", "/admin/faults", {"faults": [RULE]}),
        ("DELETE", "/admin/faults", None),
    ]
    assert all(not other.calls for other in fakes.values() if other is not fake)


def test_a_bare_list_of_rules_is_forwarded_as_it_is(client, fakes):
    fakes.payments.reply("PUT", "/admin/faults", 200, {"service": "payments", "faults": [RULE]})

    response = client.put("/api/v1/admin/faults/payments", headers=ADMIN, json=[RULE])

    assert response.status_code == 200
    assert fakes.payments.only_call().json == [RULE]


def test_rules_the_service_refuses_are_its_422_passed_through_unchanged(client, fakes):
    refusal = {"error": {"code": "invalid_faults", "message": "faults[0].status=200 is not an HTTP error status"}}
    fakes.products.reply("PUT", "/admin/faults", 422, refusal)

    response = client.put("/api/v1/admin/faults/products", headers=ADMIN, json={"faults": [{"status": 200}]})

    assert (response.status_code, response.get_json()) == (422, refusal)


def test_a_service_that_does_not_allow_faults_is_a_404_faults_disabled(client, fakes):
    fakes.orders.reply("GET", "/admin/faults", 404, {"error": {"code": "not_found", "message": "Not Found"}})

    response = client.get("/api/v1/admin/faults/orders", headers=ADMIN)

    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "faults_disabled"
    assert "FAULTS_ENABLED=true" in response.get_json()["error"]["message"]


def test_an_unknown_service_is_a_404_and_reaches_no_service(client, fakes):
    for method in ("GET", "PUT", "DELETE"):
        response = client.open("/api/v1/admin/faults/audit", method=method, headers=ADMIN, json=[RULE])

        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "unknown_service"
    assert not any(fake.calls for fake in fakes.values())


@pytest.mark.parametrize("service", ["products", "gateway", "no-such-service"])
def test_a_caller_who_is_not_an_admin_is_refused_403_and_nothing_changes(client, fakes, gateway, service):
    for method in ("GET", "PUT", "DELETE"):
        response = client.open(f"/api/v1/admin/faults/{service}", method=method, headers=bearer(2), json=[RULE])

        assert response.status_code == 403
        assert response.get_json()["error"]["code"] == "admin_only"
    assert not any(fake.calls for fake in fakes.values())
    assert gateway.app.extensions["telemetry"].faults.list() == ()


def test_without_a_token_the_route_is_401_and_reaches_no_service(client, fakes):
    response = client.put("/api/v1/admin/faults/products", json=[RULE])

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "missing_token"
    assert not fakes.products.calls


def test_a_body_that_is_not_json_is_a_400_and_reaches_no_service(client, fakes):
    response = client.put("/api/v1/admin/faults/products", headers=ADMIN, data=b"{not json")

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_json"
    assert not fakes.products.calls


def test_the_gateways_own_rules_are_set_in_process_and_fault_its_routes(client, fakes):
    rule = {"target": "GET /api/v1/products", "fault": "error", "ratio": 1.0, "status": 503}

    replaced = client.put("/api/v1/admin/faults/gateway", headers=ADMIN, json={"faults": [rule]})
    faulted = client.get("/api/v1/products")
    cleared = client.delete("/api/v1/admin/faults/gateway", headers=ADMIN)

    assert (replaced.status_code, replaced.get_json()) == (200, {"service": "gateway", "faults": [rule]})
    assert (faulted.status_code, faulted.get_json()["error"]["code"]) == (503, "fault_injected")
    assert cleared.get_json() == {"service": "gateway", "faults": []}
    assert client.get("/api/v1/products").status_code == 200
    assert [(c.method, c.path) for c in fakes.products.calls] == [("GET", "/products")]  # only the unfaulted read


def test_invalid_rules_for_the_gateway_are_a_422_invalid_faults_and_the_old_rules_stay(client, gateway):
    rule = {"target": "upstream:products", "fault": "hang", "ratio": 0.5, "hang_seconds": 1.0}
    client.put("/api/v1/admin/faults/gateway", headers=ADMIN, json=[rule])

    refused = client.put("/api/v1/admin/faults/gateway", headers=ADMIN, json=[{"target": "GET /x", "fault": "slow"}])

    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "invalid_faults"
    assert "faults[0].fault" in refused.get_json()["error"]["message"]
    assert [r.to_dict() for r in gateway.app.extensions["telemetry"].faults.list()] == [rule]


def test_the_admin_route_itself_cannot_be_faulted(client):
    rule = {"target": "PUT /api/v1/admin/faults/{service}", "fault": "error"}

    refused = client.put("/api/v1/admin/faults/gateway", headers=ADMIN, json=[rule])

    assert refused.status_code == 422
    assert "admin route cannot be faulted" in refused.get_json()["error"]["message"]
    assert client.get("/api/v1/admin/faults/gateway", headers=ADMIN).get_json()["faults"] == []


def test_the_gateways_public_port_serves_no_unauthenticated_admin_faults_endpoint(client, gateway):
    for method in ("GET", "PUT", "DELETE"):
        response = client.open("/admin/faults", method=method, json=[{"target": "GET /x", "fault": "drop"}])

        assert response.status_code == 404
    assert gateway.app.extensions["telemetry"].faults.list() == ()


def test_the_openapi_document_describes_the_admin_route_with_the_services_it_reaches(client):
    document = client.get("/api/v1/openapi.json").get_json()
    operations = document["paths"]["/admin/faults/{service}"]

    assert set(operations) == {"get", "put", "delete"}
    for operation in operations.values():
        (parameter,) = operation["parameters"]
        assert parameter["schema"]["enum"] == ["gateway", "users", "products", "orders", "payments"]
        assert operation["security"] == [{"bearerAuth": []}] and operation["tags"] == ["admin"]
        assert {"401", "403", "404"} <= set(operation["responses"])
    assert operations["put"]["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/FaultsIn")


def test_where_the_gateway_allows_no_faults_its_own_rules_are_a_404_faults_disabled(monkeypatch, make_gateway):
    monkeypatch.setenv("FAULTS_ENABLED", "false")
    gateway = make_gateway()

    answers = [
        gateway.client.open("/api/v1/admin/faults/gateway", method=method, headers=ADMIN, json=[RULE])
        for method in ("GET", "PUT", "DELETE")
    ]

    assert [(a.status_code, a.get_json()["error"]["code"]) for a in answers] == [(404, "faults_disabled")] * 3
    assert gateway.app.extensions["telemetry"].faults.list() == ()
