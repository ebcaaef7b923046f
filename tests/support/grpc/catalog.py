"""products serving gRPC as a real gunicorn process, a gateway reading its catalog over it, and their clients."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import requests

from services.products.grpc_contract import pb, pb_grpc
from tests.support.auth import as_admin, as_user
from tests.support.otlp import OtlpReceiver, exporting_to
from tests.support.procs import Service, free_port

JWT_SECRET = "grpc-e2e-secret-" + "x" * 32


class TokenMetadata(Sequence[tuple[str, str]]):
    """gRPC metadata carrying the ``authorization`` of ``caller``, a fresh token whenever it is read (a token
    lives a minute)."""

    def __init__(self, caller: Mapping[str, str]) -> None:
        self.caller = caller

    def _pairs(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", self.caller["Authorization"]),)

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        return self._pairs()[index]

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        return f"TokenMetadata({self.caller!r})"


ADMIN_METADATA = TokenMetadata(as_admin(1))
USER_METADATA = TokenMetadata(as_user(2))


@dataclass
class GrpcProducts:
    """products (HTTP at ``service.url``, gRPC at ``target``), and a channel and stub to it."""

    service: Service
    target: str
    channel: grpc.Channel
    stub: pb_grpc.ProductServiceStub

    def log(self) -> list[dict]:
        lines = []
        for line in self.service.log_lines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def scrape(self, openmetrics: bool = False) -> str:
        headers = {"Accept": "application/openmetrics-text; version=1.0.0"} if openmetrics else {}
        return requests.get(self.service.url + "/metrics", headers=headers, timeout=5).text

    def add(self, sku: str, price_cents: int = 1250, stock: int = 5) -> pb.Product:
        request = pb.AddProductRequest(sku=sku, name=f"Product {sku}", price=pb.Money(cents=price_cents), stock=stock)
        return self.stub.AddProduct(request, metadata=ADMIN_METADATA, timeout=5)


def base_env(database_url: str, receiver: OtlpReceiver | None) -> dict[str, str]:
    env = {"DATABASE_URL": database_url, "JWT_SECRET": JWT_SECRET, "TIENDA_ENV": "test", "LOG_LEVEL": "INFO"}
    if receiver is not None:
        env.update(exporting_to(receiver.endpoint))
    else:
        env["OTEL_TRACES_EXPORTER"] = "none"
    return env


def wait_for_grpc(channel: grpc.Channel, timeout: float = 20.0) -> None:
    grpc.channel_ready_future(channel).result(timeout=timeout)


@contextlib.contextmanager
def grpc_products(database_url: str, log_path: Path, receiver: OtlpReceiver | None = None) -> Iterator[GrpcProducts]:
    port = free_port()
    env = {**base_env(database_url, receiver), "PRODUCTS_GRPC_PORT": str(port)}
    service = Service("services.products.app:create_app()", env=env, log_path=log_path)
    target = f"127.0.0.1:{port}"
    channel = grpc.insecure_channel(target)
    try:
        wait_for_grpc(channel)
        yield GrpcProducts(service, target, channel, pb_grpc.ProductServiceStub(channel))
    finally:
        channel.close()
        service.stop()


@contextlib.contextmanager
def gateway_over_grpc(
    products: GrpcProducts | None, log_path: Path, receiver: OtlpReceiver | None = None
) -> Iterator[Service]:
    """A gateway whose catalog reads go to ``products`` over gRPC (its other upstreams are not started); with
    ``products`` None, to a port where nothing listens."""
    nowhere = f"127.0.0.1:{free_port()}"
    env = {
        **base_env("sqlite://", receiver),
        "PRODUCTS_URL": products.service.url if products else f"http://{nowhere}",
        "PRODUCTS_GRPC_URL": f"grpc://{products.target if products else nowhere}",
        "USERS_URL": f"http://127.0.0.1:{free_port()}",
        "ORDERS_URL": f"http://127.0.0.1:{free_port()}",
        "PAYMENTS_URL": f"http://127.0.0.1:{free_port()}",
    }
    gateway = Service("services.gateway.app:create_app()", env=env, log_path=log_path)
    try:
        yield gateway
    finally:
        gateway.stop()


def series(exposition: str, name: str) -> set[str]:
    """The label sets of ``name``'s samples in a text exposition (one per series)."""
    return {line.split(" ", 1)[0] for line in exposition.splitlines() if line.startswith(name + "{")}


def wait_for_log(products: GrpcProducts, predicate, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in products.log() if predicate(line)]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError("no such log line")
        time.sleep(0.05)
