"""A gRPC call whose deadline passes while products waits for its database (PostgreSQL: a table lock)."""

import time
import uuid

import grpc
import psycopg
import pytest

from services.products.grpc_contract import pb
from tests.support.databases import postgres_database
from tests.support.grpc.catalog import grpc_products, wait_for_log

pytestmark = pytest.mark.postgres

SERVER_DEADLINE_MARGIN_SECONDS = 0.3


@pytest.fixture(scope="module")
def products_on_postgres(tmp_path_factory):
    directory = tmp_path_factory.mktemp("grpc-deadline")
    with postgres_database("tienda_test_products") as url, grpc_products(url, directory / "products.log") as running:
        running.url = url
        yield running


def test_a_call_whose_deadline_expires_is_deadline_exceeded_and_the_catalog_still_answers(products_on_postgres):
    products = products_on_postgres
    rid = f"late-{uuid.uuid4().hex}"
    with psycopg.connect(products.url.replace("+psycopg", ""), autocommit=False) as locker:
        locker.execute("LOCK TABLE products IN ACCESS EXCLUSIVE MODE")
        try:
            with pytest.raises(grpc.RpcError) as failed:
                products.stub.GetProduct(pb.GetProductRequest(id=1), timeout=0.5, metadata=(("x-request-id", rid),))
            assert failed.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
            # The server's deadline runs from when the call reached it, a little after the client's: hold the lock
            # past it, or a query freed at once can finish inside it and the call is logged OK.
            time.sleep(SERVER_DEADLINE_MARGIN_SECONDS)
        finally:
            locker.rollback()
    assert products.stub.GetProduct(pb.GetProductRequest(id=1), timeout=5).id == 1
    # products finished the call once the lock went, after its caller had given up: logged as what the caller saw
    line = wait_for_log(products, lambda line: line.get("request_id") == rid and line.get("event") == "rpc.access")
    assert line["grpc_status"] == "DEADLINE_EXCEEDED"
