"""Generated messages of every RPC against products' gRPC server (in process, SQLite): each answer is a message or a
status that names the caller's mistake, never UNKNOWN or INTERNAL, and a refused AddProduct adds nothing."""

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.common.web import wiring
from services.products.grpc_contract import pb, pb_grpc
from tests.support.grpc.catalog import ADMIN_METADATA, USER_METADATA
from tests.support.products import ProductsHarness

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
TEXT = st.text(max_size=300)
#: What a well-meant but wrong request may get; UNKNOWN and INTERNAL are defects.
EXPECTED = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

money = st.builds(pb.Money, cents=INT64, currency=st.sampled_from(["", "EUR", "USD", "eur"]) | TEXT)
add_requests = st.builds(
    pb.AddProductRequest,
    sku=st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True) | TEXT,
    name=TEXT,
    description=st.text(max_size=2100),
    price=money,
    stock=INT64,
)
identities = st.sampled_from([(), ADMIN_METADATA, USER_METADATA, (("x-user-id", "x"), ("x-user-role", "admin"))])


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    harness = ProductsHarness(f"sqlite:///{tmp_path_factory.mktemp('grpc-fuzz') / 'products.db'}", grpc_port=0)
    server, port = wiring(harness.app).grpc_server
    channel = grpc.insecure_channel(f"127.0.0.1:{port}")
    harness.add_product("FUZZ-1", stock=3)
    yield pb_grpc.ProductServiceStub(channel), harness
    channel.close()
    server.stop(None)


def code_of(call, request, **kwargs) -> grpc.StatusCode:
    try:
        call(request, timeout=10, **kwargs)
    except grpc.RpcError as exc:
        return exc.code()
    return grpc.StatusCode.OK


def count(harness) -> int:
    with harness.products.service.repository.atomic() as tx:
        return tx.count_all_products()


@FUZZ
@given(request=st.builds(pb.GetProductRequest, id=INT64))
def test_get_product_never_answers_unknown_or_internal(stub, request):
    assert code_of(stub[0].GetProduct, request) in EXPECTED


@FUZZ
@given(request=st.builds(pb.ListProductsRequest, limit=INT32, offset=INT64))
def test_list_products_never_answers_unknown_or_internal(stub, request):
    assert code_of(stub[0].ListProducts, request) in EXPECTED


@FUZZ
@given(request=add_requests, metadata=identities)
def test_add_product_never_answers_unknown_or_internal_and_a_refusal_adds_nothing(stub, request, metadata):
    grpc_stub, harness = stub
    before = count(harness)
    code = code_of(grpc_stub.AddProduct, request, metadata=metadata)
    assert code in EXPECTED
    assert count(harness) == before + (1 if code is grpc.StatusCode.OK else 0)
