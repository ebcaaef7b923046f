"""The gateway's OpenAPI document describes exactly the public routes it serves, with the contracts' shapes."""

from __future__ import annotations

import io
import re

import pytest
import schemathesis
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry

from services.gateway.app import create_app

PROTECTED = {
    ("get", "/users/me"),
    ("post", "/products"),
    ("put", "/products/{product_id}"),
    ("delete", "/products/{product_id}"),
    ("post", "/products/{product_id}/restock"),
    ("post", "/orders"),
    ("get", "/orders"),
    ("get", "/orders/{order_id}"),
    ("post", "/orders/{order_id}/cancel"),
    ("get", "/orders/{order_id}/details"),
    ("get", "/admin/faults/{service}"),
    ("put", "/admin/faults/{service}"),
    ("delete", "/admin/faults/{service}"),
    ("get", "/notifications"),
}
PUBLIC = {("post", "/users"), ("post", "/auth/token"), ("get", "/products"), ("get", "/products/{product_id}")}
WITH_BODY = {
    ("post", "/users"): "RegisterUser",
    ("post", "/auth/token"): "TokenRequest",
    ("post", "/products"): "ProductCreate",
    ("put", "/products/{product_id}"): "ProductUpdate",
    ("post", "/products/{product_id}/restock"): "Restock",
    ("post", "/orders"): "OrderCreate",
    ("put", "/admin/faults/{service}"): "FaultsIn",
}


@pytest.fixture(scope="module")
def app():
    provider = TracerProvider()
    app = create_app(
        {
            "jwt_secret": "x" * 32,
            "tracer_provider": provider,
            "registry": CollectorRegistry(),
            "log_stream": io.StringIO(),
        }
    )
    yield app
    provider.shutdown()


@pytest.fixture(scope="module")
def document(app):
    return app.test_client().get("/api/v1/openapi.json").get_json()


def _operations(document):
    return {(method, path): op for path, item in document["paths"].items() for method, op in item.items()}


def test_the_document_is_served_at_the_root_and_under_the_api_prefix(app, document):
    assert app.test_client().get("/openapi.json").get_json() == document
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "/api/v1", "description": "this gateway"}]


def test_every_public_route_is_documented_and_every_documented_operation_is_a_route(app, document):
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = re.sub(r"<\w+:(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        served |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}

    assert served == set(_operations(document)) == PROTECTED | PUBLIC


def test_protected_operations_require_a_bearer_token_and_public_ones_do_not(document):
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http", "scheme": "bearer", "bearerFormat": "JWT"}  # fmt: skip
    for key, op in _operations(document).items():
        if key in PROTECTED:
            assert op["security"] == [{"bearerAuth": []}], key
            assert "401" in op["responses"], key
        else:
            assert "security" not in op, key


def test_every_operation_documents_the_gateway_failures_with_the_error_schema(document):
    for key, op in _operations(document).items():
        for status in ("502", "503", "504"):
            schema = op["responses"][status]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, key


def test_operations_with_a_body_reference_the_contract_models_and_document_400_413_422(document):
    for key, op in _operations(document).items():
        if key in WITH_BODY:
            schema = op["requestBody"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": f"#/components/schemas/{WITH_BODY[key]}"}, key
            assert {"400", "413", "422"} <= set(op["responses"]), key
        else:
            assert "requestBody" not in op, key


def test_path_ids_are_integers_from_1_to_2_pow_31_minus_1(document):
    for (_method, path), op in _operations(document).items():
        names = re.findall(r"{(\w+)}", path)
        params = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
        assert set(params) == set(names), path
        for name, param in params.items():
            assert param["required"] is True
            if name == "service":  # the admin fault routes name a service, not a resource
                assert param["schema"]["enum"] == ["gateway", "users", "products", "orders", "payments"]
            else:
                assert param["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


@pytest.mark.parametrize("path", ["/products", "/orders"])
def test_lists_take_limit_and_offset(document, path):
    params = {p["name"]: p for p in document["paths"][path]["get"]["parameters"]}

    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert params["offset"]["schema"] == {"type": "integer", "minimum": 0, "maximum": 1_000_000_000, "default": 0}


def test_placing_an_order_takes_an_optional_idempotency_key(document):
    (param,) = document["paths"]["/orders"]["post"]["parameters"]

    assert (param["name"], param["in"], param["required"]) == ("Idempotency-Key", "header", False)
    assert param["schema"] == {"type": "string", "minLength": 1, "maxLength": 255}
    assert {"201", "402", "409", "422"} <= set(document["paths"]["/orders"]["post"]["responses"])


def test_an_order_body_is_described_as_the_orders_contract_says(document):
    schemas = document["components"]["schemas"]
    order = schemas["OrderCreate"]
    item = schemas["OrderItemIn"]["properties"]
    card = schemas["PaymentCard"]["properties"]

    assert order["required"] == ["items", "payment"]
    assert order["additionalProperties"] is False
    assert (order["properties"]["items"]["minItems"], order["properties"]["items"]["maxItems"]) == (1, 20)
    assert (item["product_id"]["type"], item["product_id"]["minimum"]) == ("integer", 1)
    assert (item["quantity"]["minimum"], item["quantity"]["maximum"]) == (1, 100)
    assert card["card_number"]["pattern"] == "^[0-9]{13,19}$"
    assert card["expiry"]["pattern"] == "^(0[1-9]|1[0-2])/[0-9]{2}$"
    assert card["cvc"]["pattern"] == "^[0-9]{3,4}$"


def test_a_registration_body_bounds_the_password_to_8_to_128_characters(document):
    register = document["components"]["schemas"]["RegisterUser"]

    assert set(register["required"]) == {"email", "password", "name"}
    password = register["properties"]["password"]
    assert (password["minLength"], password["maxLength"]) == (8, 128)


def test_order_details_document_payments_as_nullable_and_the_partial_flag(document):
    details = document["components"]["schemas"]["OrderDetails"]

    assert details["properties"]["order"] == {"$ref": "#/components/schemas/OrderOut"}
    assert details["properties"]["payments"]["anyOf"] == [
        {"items": {"$ref": "#/components/schemas/PaymentOut"}, "type": "array"},
        {"type": "null"},
    ]
    assert details["properties"]["partial"]["type"] == "boolean"


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_reference_in_the_document_resolves(document):
    refs = set(_refs(document))

    assert "#/components/schemas/Error" in refs
    for ref in refs:
        assert ref.removeprefix("#/components/schemas/") in document["components"]["schemas"], ref


def test_schemathesis_loads_every_operation_under_the_api_prefix(app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)

    operations = [result.ok() for result in schema.get_all_operations()]

    assert len(operations) == len(PROTECTED | PUBLIC)
    assert schema.base_path == "/api/v1/"


def test_the_request_bodies_are_the_owning_services_contracts_to_the_letter(document):
    from services.orders.contract import OrderCreate
    from services.products.contract import ProductCreate, ProductUpdate, Restock
    from services.users.contract import RegisterUser, TokenRequest

    schemas = document["components"]["schemas"]
    for model in (RegisterUser, TokenRequest, ProductCreate, ProductUpdate, Restock, OrderCreate):
        own = model.model_json_schema(ref_template="#/components/schemas/{model}")
        own.pop("$defs", None)
        assert schemas[model.__name__] == own, model.__name__


def test_the_gateway_pages_with_the_bounds_of_every_listing_service():
    from services.gateway.api import openapi as gateway_openapi
    from services.products.api import openapi as products_openapi

    gateway = gateway_openapi().to_dict()["paths"]
    products = products_openapi().to_dict()["paths"]

    assert gateway["/products"]["get"]["parameters"] == products["/products"]["get"]["parameters"]
    assert gateway["/orders"]["get"]["parameters"] == gateway["/products"]["get"]["parameters"]
    assert {p["name"] for p in gateway["/orders"]["get"]["parameters"]} == {"limit", "offset"}
