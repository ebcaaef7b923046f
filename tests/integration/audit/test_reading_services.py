"""The audit's HTTP reader: an answer outside a service's audit contract fails the run, never passes as empty."""

from __future__ import annotations

import pytest

from services.audit.clients import HttpStateSource
from services.common.errors import Failure, UpstreamFailure
from telemetry.http import Client
from tests.support.auth import AUDIT
from tests.support.captured import Captured, instrumented
from tests.support.scripted_upstream import ScriptedUpstream


@pytest.fixture
def tel():
    captured = Captured()
    yield instrumented("audit", captured)
    captured.close()


def source(tel, url: str) -> HttpStateSource:
    return HttpStateSource(
        orders=Client(url, telemetry=tel, name="orders"),
        payments=Client(url, telemetry=tel, name="payments"),
        products=Client(url, telemetry=tel, name="products"),
        tokens=AUDIT.tokens,
    )


def test_a_body_without_the_contracts_lists_is_a_bad_response_from_that_service(tel):
    with ScriptedUpstream() as server:  # answers 200 {} to every GET
        reader = source(tel, server.url)
        reads = (
            (reader.orders, "orders"), (reader.payments, "payments"), (reader.reservations, "products"),
            (reader.stock, "products"),
        )  # fmt: skip
        for read, upstream in reads:
            with pytest.raises(UpstreamFailure) as failure:
                read(after=None, until=None, limit=10)
            assert failure.value.kind is Failure.BAD_RESPONSE
            assert failure.value.upstream == upstream
            assert failure.value.status == 502


def test_a_service_that_cannot_be_reached_fails_the_read_as_unreachable(tel):
    with ScriptedUpstream() as server:
        url = server.url
    with pytest.raises(UpstreamFailure) as failure:
        source(tel, url).payments(after=None, until=None, limit=10)
    assert failure.value.kind is Failure.UNREACHABLE
    assert failure.value.status == 503
