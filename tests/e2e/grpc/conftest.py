"""products serving gRPC from real gunicorn processes (SQLite and PostgreSQL), and a gateway reading over it."""

import pytest

from tests.support.databases import database
from tests.support.grpc.catalog import gateway_over_grpc, grpc_products
from tests.support.otlp import OtlpReceiver


@pytest.fixture(scope="module")
def grpc_receiver():
    receiver = OtlpReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def products(request, tmp_path_factory, grpc_receiver):
    directory = tmp_path_factory.mktemp(f"grpc-{request.param}")
    with (
        database(request.param, directory, "products") as url,
        grpc_products(url, directory / "products.log", grpc_receiver) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def sqlite_products(tmp_path_factory, grpc_receiver):
    directory = tmp_path_factory.mktemp("grpc-catalog")
    with (
        database("sqlite", directory, "products") as url,
        grpc_products(url, directory / "products.log", grpc_receiver) as running,
    ):
        yield running


@pytest.fixture(scope="module")
def gateway(sqlite_products, tmp_path_factory, grpc_receiver):
    directory = tmp_path_factory.mktemp("grpc-gateway")
    with gateway_over_grpc(sqlite_products, directory / "gateway.log", grpc_receiver) as running:
        yield running
