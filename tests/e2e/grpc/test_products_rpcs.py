"""Each RPC of tienda.products.v1.ProductService against products under gunicorn, on SQLite and PostgreSQL."""

import uuid

import grpc
import pytest
import requests
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from services.products.grpc_contract import SERVICE_NAME, pb
from tests.support.auth import GATEWAY
from tests.support.grpc.catalog import ADMIN_METADATA, USER_METADATA, series, wait_for_log

pytestmark = pytest.mark.postgres


def sku() -> str:
    return f"GRPC-{uuid.uuid4().hex[:10]}"


def status_of(call, *args, **kwargs) -> tuple[grpc.StatusCode, dict]:
    with pytest.raises(grpc.RpcError) as failed:
        call(*args, timeout=5, **kwargs)
    return failed.value.code(), dict(failed.value.trailing_metadata() or ())


def total(products) -> int:
    return products.stub.ListProducts(pb.ListProductsRequest(limit=1), timeout=5).total


def test_get_product_answers_the_product_with_its_price_in_integer_cents(products):
    added = products.add(sku(), price_cents=1999, stock=7)
    got = products.stub.GetProduct(pb.GetProductRequest(id=added.id), timeout=5)
    assert (got.sku, got.price.cents, got.price.currency, got.stock) == (added.sku, 1999, "EUR", 7)
    http = requests.get(f"{products.service.url}/products/{added.id}", headers=GATEWAY, timeout=5).json()
    assert (http["price_cents"], http["name"], http["stock"]) == (got.price.cents, got.name, got.stock)


def test_an_unknown_product_is_not_found_with_the_domain_error_code(products):
    code, trailing = status_of(products.stub.GetProduct, pb.GetProductRequest(id=2**31 - 1))
    assert code is grpc.StatusCode.NOT_FOUND
    assert trailing["tienda-error-code"] == "product_not_found"


@pytest.mark.parametrize("product_id", [0, -1, -(2**63), 2**31, 2**63 - 1])
def test_an_id_outside_1_to_2_31_is_an_invalid_argument(products, product_id):
    code, _ = status_of(products.stub.GetProduct, pb.GetProductRequest(id=product_id))
    assert code is grpc.StatusCode.INVALID_ARGUMENT


def test_list_products_pages_through_the_catalog(products):
    for _ in range(3):
        products.add(sku())
    everything = total(products)
    first = products.stub.ListProducts(pb.ListProductsRequest(limit=2, offset=0), timeout=5)
    second = products.stub.ListProducts(pb.ListProductsRequest(limit=2, offset=2), timeout=5)
    assert (first.total, first.limit, first.offset, len(first.items)) == (everything, 2, 0, 2)
    assert {p.id for p in first.items}.isdisjoint(p.id for p in second.items)
    default = products.stub.ListProducts(pb.ListProductsRequest(), timeout=5)
    assert default.limit == 20


@pytest.mark.parametrize(("limit", "offset"), [(101, 0), (-1, 0), (2**31 - 1, 0), (10, -1), (10, 10**9 + 1)])
def test_an_oversized_or_negative_page_is_an_invalid_argument(products, limit, offset):
    code, trailing = status_of(products.stub.ListProducts, pb.ListProductsRequest(limit=limit, offset=offset))
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert trailing["tienda-error-code"] == "invalid_input"


def test_add_product_by_an_admin_creates_it_for_both_apis(products):
    before = total(products)
    added = products.add(sku(), price_cents=4990, stock=3)
    assert total(products) == before + 1
    assert (
        requests.get(f"{products.service.url}/products/{added.id}", headers=GATEWAY, timeout=5).json()["price_cents"]
        == 4990
    )


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ((), grpc.StatusCode.UNAUTHENTICATED),
        ((("x-user-id", "1"),), grpc.StatusCode.UNAUTHENTICATED),
        ((("x-user-id", "-1"), ("x-user-role", "admin")), grpc.StatusCode.UNAUTHENTICATED),
        ((("x-user-id", "1"), ("x-user-role", "admin")), grpc.StatusCode.UNAUTHENTICATED),  # forged: no token
        (USER_METADATA, grpc.StatusCode.PERMISSION_DENIED),
    ],
)
def test_add_product_without_an_admin_identity_is_refused_and_adds_nothing(products, metadata, expected):
    before = total(products)
    request = pb.AddProductRequest(sku=sku(), name="Nope", price=pb.Money(cents=100), stock=1)
    code, _ = status_of(products.stub.AddProduct, request, metadata=metadata)
    assert code is expected
    assert total(products) == before


@pytest.mark.parametrize(
    "request_fields",
    [
        {"name": "No price", "price": pb.Money(cents=0)},
        {"name": "Negative", "price": pb.Money(cents=-5)},
        {"name": "Dollars", "price": pb.Money(cents=100, currency="USD")},
        {"name": "", "price": pb.Money(cents=100)},
        {"name": "Bad stock", "price": pb.Money(cents=100), "stock": -1},
        {"name": "Bad\x00name", "price": pb.Money(cents=100)},
    ],
)
def test_an_invalid_product_is_an_invalid_argument_and_adds_nothing(products, request_fields):
    before = total(products)
    code, _ = status_of(
        products.stub.AddProduct, pb.AddProductRequest(sku=sku(), **request_fields), metadata=ADMIN_METADATA
    )
    assert code is grpc.StatusCode.INVALID_ARGUMENT
    assert total(products) == before


def test_a_taken_sku_already_exists(products):
    taken = products.add(sku())
    again = pb.AddProductRequest(sku=taken.sku, name="Again", price=pb.Money(cents=100))
    code, trailing = status_of(products.stub.AddProduct, again, metadata=ADMIN_METADATA)
    assert code is grpc.StatusCode.ALREADY_EXISTS
    assert trailing["tienda-error-code"] == "sku_taken"


def test_health_answers_serving_for_the_server_and_the_catalog(products):
    health = health_pb2_grpc.HealthStub(products.channel)
    for service in ("", SERVICE_NAME):
        answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.RpcError) as failed:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert failed.value.code() is grpc.StatusCode.NOT_FOUND


def test_reflection_lists_the_services_and_describes_the_catalog(products):
    reflection = reflection_pb2_grpc.ServerReflectionStub(products.channel)
    asks = [
        reflection_pb2.ServerReflectionRequest(list_services=""),
        reflection_pb2.ServerReflectionRequest(file_containing_symbol=SERVICE_NAME),
    ]
    listed, described = list(reflection.ServerReflectionInfo(iter(asks), timeout=5))
    names = {s.name for s in listed.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names
    assert described.file_descriptor_response.file_descriptor_proto


def test_every_call_writes_one_access_line_with_its_request_and_trace_ids(products):
    rid = f"grpc-{uuid.uuid4().hex}"
    products.stub.GetProduct(pb.GetProductRequest(id=1), metadata=(("x-request-id", rid),), timeout=5)
    line = wait_for_log(products, lambda line: line.get("request_id") == rid and line.get("event") == "rpc.access")
    assert (line["rpc_method"], line["grpc_status"], line["logger"]) == ("GetProduct", "OK", "telemetry.access")
    assert len(line["trace_id"]) == 32 and line["duration_ms"] >= 0


def test_random_method_names_add_no_series(products):
    products.stub.GetProduct(pb.GetProductRequest(id=1), timeout=5)
    for _ in range(2):  # the second round must find every series already there
        before = series(products.scrape(), "rpc_server_duration_seconds_count")
        for n in range(25):
            call = products.channel.unary_unary(f"/scan{uuid.uuid4().hex[:6]}.Svc{n}/M{uuid.uuid4().hex[:8]}")
            with pytest.raises(grpc.RpcError) as failed:
                call(b"", timeout=5)
            assert failed.value.code() is grpc.StatusCode.UNIMPLEMENTED
        after = series(products.scrape(), "rpc_server_duration_seconds_count")
        assert len(after - before) <= 1
    other = [s for s in after if 'rpc_method="_OTHER"' in s]
    assert other == ['rpc_server_duration_seconds_count{rpc_grpc_status_code="UNIMPLEMENTED",rpc_method="_OTHER",'
                     'rpc_service="_OTHER"}']  # fmt: skip
