"""The local RabbitMQ for tests: a private exchange and queue name per test, deleted afterwards.

Tests run side by side on one broker, so none uses the shop's own names (``tienda.events``,
``notifications.events``); :func:`private_topology` hands out fresh ones and removes everything made under them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pika

#: The local broker (guest/guest). Override with TEST_AMQP_URL.
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")


@dataclass(frozen=True)
class Topology:
    exchange: str
    queue: str

    @property
    def queues(self) -> tuple[str, str, str]:
        return (self.queue, f"{self.queue}.retry", f"{self.queue}.dead")


def channel() -> tuple[pika.BlockingConnection, pika.adapters.blocking_connection.BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    return connection, connection.channel()


@contextmanager
def private_topology() -> Iterator[Topology]:
    """Fresh exchange and queue names; the exchange and the three queues are deleted at the end."""
    suffix = uuid.uuid4().hex[:10]
    topology = Topology(exchange=f"test.events.{suffix}", queue=f"test.notifications.{suffix}")
    try:
        yield topology
    finally:
        connection, ch = channel()
        try:
            for queue in topology.queues:
                ch.queue_delete(queue)
            ch.exchange_delete(topology.exchange)
        finally:
            connection.close()


def bind_queue(topology: Topology, binding: str = "#") -> None:
    """Declare the exchange and a plain queue bound to it (a consumer stand-in that keeps what arrives)."""
    connection, ch = channel()
    try:
        ch.exchange_declare(topology.exchange, exchange_type="topic", durable=True)
        ch.queue_declare(topology.queue, durable=True)
        ch.queue_bind(topology.queue, topology.exchange, routing_key=binding)
    finally:
        connection.close()


def drain(queue: str) -> list[tuple[pika.spec.BasicProperties, bytes]]:
    """Every message waiting in ``queue`` (acknowledged: they are gone afterwards)."""
    connection, ch = channel()
    taken = []
    try:
        while True:
            method, properties, body = ch.basic_get(queue, auto_ack=True)
            if method is None:
                return taken
            taken.append((properties, body))
    finally:
        connection.close()


def depth(queue: str) -> int:
    connection, ch = channel()
    try:
        return ch.queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()
