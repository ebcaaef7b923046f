"""``make up`` picks the broker: the caller's ``AMQP_URL``, else a RabbitMQ answering on 127.0.0.1:5672, else none."""

from __future__ import annotations

from services import stack
from tests.support import broker as rabbit
from tests.support.procs import free_port


def test_a_given_amqp_url_is_used_and_named_without_its_credentials():
    url, line = stack.choose_broker({"AMQP_URL": "amqp://shop:s3cret@broker.internal:5673/%2F"})

    assert url == "amqp://shop:s3cret@broker.internal:5673/%2F"
    assert "broker.internal:5673 (AMQP_URL)" in line and "s3cret" not in line


def test_without_amqp_url_the_local_broker_is_used_when_it_answers(monkeypatch):
    monkeypatch.setattr(stack, "LOCAL_AMQP_URL", rabbit.AMQP_URL)

    url, line = stack.choose_broker({})

    assert url == rabbit.AMQP_URL
    assert "found there" in line


def test_with_no_broker_anywhere_the_shop_runs_and_says_events_wait_in_the_outbox(monkeypatch):
    monkeypatch.setattr(stack, "LOCAL_AMQP_URL", f"amqp://guest:guest@127.0.0.1:{free_port()}/%2F")

    url, line = stack.choose_broker({"AMQP_URL": "  "})

    assert url is None
    assert "no broker" in line and "events wait in the outbox of orders and payments" in line
