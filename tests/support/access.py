"""Every gated endpoint of an app, read from its URL map, and everything a refused request must leave alone.

:func:`gated` lists the ``(method, rule, endpoint)`` of every route the access gate guards
(:mod:`services.common.access`), so a new route is in the tests the moment it is registered. :func:`path_of`
fills a rule's variables, :func:`rows` reads every row of every table of a database, and :func:`callers`
are the candidate callers a test tries against each endpoint's declared rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask import Flask
from sqlalchemy import MetaData
from sqlalchemy.engine import Engine

from services.common.access import FAULTS_ENDPOINT, FAULTS_RULE, Rule, rules_of
from services.common.auth import Caller, Identity
from telemetry.faults import route_template

from .auth import CallerHeaders

_VARIABLE = re.compile(r"<(?:([^<>:]+):)?([^<>]+)>")
SKIPPED_METHODS = {"HEAD", "OPTIONS"}

#: Who might knock: each service as itself, users and admins through the gateway, and a service that is not
#: the gateway passing a user on (only the gateway may speak for users).
CANDIDATES = (
    Caller("gateway"),
    Caller("orders"),
    Caller("payments"),
    Caller("products"),
    Caller("users"),
    Caller("audit"),
    Caller("relay"),
    Caller("gateway", Identity(7, "user")),
    Caller("gateway", Identity(1, "admin")),
    Caller("orders", Identity(7, "user")),
    Caller("audit", Identity(1, "admin")),
)


def declared_rules(app: Flask, open_endpoints: frozenset[str] = frozenset()) -> dict[str, Rule]:
    return rules_of(app, FAULTS_RULE, open_endpoints)


def gated(app: Flask, open_endpoints: frozenset[str] = frozenset()) -> list[tuple[str, str, str]]:
    """``(method, rule, endpoint)`` of every gated route of ``app``, in a stable order."""
    rules = declared_rules(app, open_endpoints)
    return sorted(
        (method, rule.rule, rule.endpoint)
        for rule in app.url_map.iter_rules()
        if rule.endpoint in rules
        for method in (rule.methods or set()) - SKIPPED_METHODS
    )


def template(rule: str) -> str:
    """``/products/<int:product_id>`` -> ``/products/{product_id}``, as docs/security.md writes routes."""
    return route_template(rule)


def path_of(rule: str, values: Mapping[str, str]) -> str:
    """``rule`` with each variable replaced by ``values[name]`` (``1`` for an int without a value, else ``x``)."""

    def value(match: re.Match[str]) -> str:
        converter, name = match.group(1), match.group(2)
        return values.get(name, "1" if converter == "int" else "x")

    return _VARIABLE.sub(value, rule)


def headers_of(caller: Caller) -> CallerHeaders:
    return CallerHeaders(caller.service, caller.user)


def is_faults(endpoint: str) -> bool:
    return endpoint == FAULTS_ENDPOINT


def rows(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table (alembic's version table included), sorted: a snapshot to compare."""
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as connection:
        return {
            name: sorted((tuple(row) for row in connection.execute(table.select())), key=repr)
            for name, table in sorted(metadata.tables.items())
        }
