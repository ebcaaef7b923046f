"""Fixtures of the gateway integration tests: fake upstreams over real HTTP, and a fresh gateway per test."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.gateway import SECRET, UPSTREAMS, Fakes, FakeUpstream, Gateway


@pytest.fixture(scope="session")
def _fake_servers() -> Iterator[Fakes]:
    fakes = Fakes({name: FakeUpstream(name) for name in UPSTREAMS})
    yield fakes
    for fake in fakes.values():
        fake.stop()


@pytest.fixture
def fakes(_fake_servers: Fakes) -> Iterator[Fakes]:
    for fake in _fake_servers.values():
        fake.reset()
    yield _fake_servers
    for fake in _fake_servers.values():
        fake.reset()


@pytest.fixture
def closed_url() -> str:
    """A URL where nothing listens: connecting is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_gateway(fakes: Fakes) -> Iterator[Callable[..., Gateway]]:
    """``make_gateway(orders_url=..., upstream_read_timeout_seconds=...)``: a gateway in front of the fakes."""
    made: list[Gateway] = []

    def make(**overrides: Any) -> Gateway:
        config = {f"{name}_url": fake.url for name, fake in fakes.items()}
        gateway = Gateway({**config, "jwt_secret": SECRET, **overrides})
        made.append(gateway)
        return gateway

    yield make
    for gateway in made:
        gateway.close()


@pytest.fixture
def gateway(make_gateway) -> Gateway:
    return make_gateway()


@pytest.fixture
def client(gateway: Gateway):
    return gateway.client
