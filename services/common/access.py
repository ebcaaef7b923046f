"""Who may call what: every endpoint of a service declares its callers, and one gate refuses everyone else.

A handler says who may call it with :func:`callers`, next to its route::

    @bp.post("/reservations")
    @callers(services("orders"))
    def reserve() -> Answer: ...

The rules are

* :func:`services` ``(names...)``: those services, acting for themselves (the saga, the audit);
* :func:`users` ``(via="gateway")``: a user, for their own data, through the gateway (the handler reads
  :func:`current_user` and looks only at what is theirs); an admin is a user too;
* :func:`admins` ``(via="gateway")``: a user with the admin role, through the gateway;
* :data:`ANY_CALLER`: any valid internal token (public data such as the catalog);

and ``a | b`` allows the callers of both. :func:`install` adds the gate (a ``before_request``) to the app once
its routes are registered, and refuses to start when an endpoint declares nothing, so a new route cannot be
forgotten. The health endpoints, ``/metrics`` and ``/openapi.json`` stay open; ``/admin/faults`` (registered by
:mod:`telemetry.faults`, which knows nothing of callers) gets the rule the service passes, by default
:data:`FAULTS_RULE`.

A request without a token is answered 401 ``missing_token``; a token that does not verify 401 ``invalid_token``
or ``token_expired``; a caller the rule does not name 403 ``forbidden_caller``. Each refusal writes one log line
(``event=auth.refused``, ``route``, ``reason``, the caller when known) and counts in
``tienda_auth_refusals_total{route,reason}``, whose series exist from the start for every gated route.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

from flask import Flask, g, request
from prometheus_client import CollectorRegistry, Counter

from telemetry import ConfigError

from .auth import Caller, Identity, bearer_token
from .errors import Forbidden, Unauthorized

log = logging.getLogger("services.access")

#: Endpoints that need no token: probes, scraping, the API document.
OPEN_ENDPOINTS = frozenset({"telemetry_health_live", "telemetry_health_ready", "telemetry_metrics", "openapi"})
FAULTS_ENDPOINT = "telemetry_faults"
REASONS = ("missing_token", "invalid_token", "token_expired", "forbidden_caller")
_ATTRIBUTE = "__tienda_callers__"

F = TypeVar("F", bound=Callable[..., object])


@dataclass(frozen=True)
class Rule:
    """The callers one endpoint accepts."""

    services: frozenset[str] = frozenset()
    users_via: frozenset[str] = frozenset()
    admins_via: frozenset[str] = frozenset()
    anyone: bool = False

    def __or__(self, other: Rule) -> Rule:
        return Rule(
            self.services | other.services,
            self.users_via | other.users_via,
            self.admins_via | other.admins_via,
            self.anyone or other.anyone,
        )

    def allows(self, caller: Caller) -> bool:
        if self.anyone:
            return True
        if caller.user is None:
            return caller.service in self.services
        return caller.service in self.users_via or (caller.user.is_admin and caller.service in self.admins_via)

    def describe(self) -> str:
        """The rule in words, as ``docs/security.md`` writes it."""
        if self.anyone:
            return "any service or user"
        parts = [f"{name} (as itself)" for name in sorted(self.services)]
        parts += [f"a user via {name}" for name in sorted(self.users_via)]
        parts += [f"an admin via {name}" for name in sorted(self.admins_via - self.users_via)]
        return ", ".join(parts)


ANY_CALLER = Rule(anyone=True)
NOBODY = Rule()


def services(*names: str) -> Rule:
    return Rule(services=frozenset(names))


def users(via: str = "gateway") -> Rule:
    return Rule(users_via=frozenset({via}))


def admins(via: str = "gateway") -> Rule:
    return Rule(admins_via=frozenset({via}))


#: Who may read and change a service's fault rules: an admin through the gateway, or the gateway itself, whose
#: ``/api/v1/admin/faults/{service}`` checks the admin's JWT before it forwards (``services.gateway.clients``).
FAULTS_RULE = Rule(services=frozenset({"gateway"}), admins_via=frozenset({"gateway"}))


def callers(rule: Rule) -> Callable[[F], F]:
    """Declare who may call the decorated view (put it under the route decorator)."""

    def declare(view: F) -> F:
        setattr(view, _ATTRIBUTE, rule)
        return view

    return declare


def current_caller() -> Caller:
    """The caller of the current request, as the gate verified it."""
    caller: Caller | None = g.get("caller")
    if caller is None:
        raise Unauthorized("This endpoint needs an internal token.", code="missing_token")
    return caller


def current_user() -> Identity:
    """The user the current request acts for; 401 when it acts for none (a rule with :func:`users` sees to it)."""
    user = current_caller().user
    if user is None:
        raise Unauthorized("This endpoint needs an authenticated user.", code="unauthenticated")
    return user


class AuthMetrics:
    """``tienda_auth_refusals_total{route,reason}``, every series of ``routes`` present at zero."""

    def __init__(self, registry: CollectorRegistry, routes: Iterable[str]) -> None:
        self.refusals = Counter(
            "tienda_auth_refusals_total",
            "Requests refused for their credentials, by route template and reason.",
            ("route", "reason"),
            registry=registry,
        )
        for route in routes:
            for reason in REASONS:
                self.refusals.labels(route, reason)


def rules_of(app: Flask, faults: Rule, open_endpoints: frozenset[str] = frozenset()) -> dict[str, Rule]:
    """The rule of every gated endpoint of ``app``; :class:`telemetry.ConfigError` names any that has none."""
    found: dict[str, Rule] = {}
    missing = []
    for endpoint, view in app.view_functions.items():
        if endpoint in OPEN_ENDPOINTS or endpoint in open_endpoints or endpoint == "static":
            continue
        rule = faults if endpoint == FAULTS_ENDPOINT else getattr(view, _ATTRIBUTE, None)
        if rule is None:
            missing.append(endpoint)
        else:
            found[endpoint] = rule
    if missing:
        raise ConfigError(f"no callers declared for {', '.join(sorted(missing))} (services.common.access)")
    return found


def install(
    app: Flask,
    verify: Callable[[str], Caller],
    registry: CollectorRegistry,
    *,
    faults: Rule | None = None,
    open_endpoints: Iterable[str] = (),
) -> None:
    """Gate every route of ``app`` registered so far (call it last in ``create_app``).

    ``verify`` turns a bearer token into its :class:`~services.common.auth.Caller` or raises
    :class:`~services.common.errors.Unauthorized` (behind the gateway:
    :meth:`services.common.auth.InternalTokens.verify`);
    ``open_endpoints`` are left to their handlers (the gateway's public API, which checks user JWTs itself).
    """
    rules = rules_of(app, faults or FAULTS_RULE, frozenset(open_endpoints))
    routes = sorted({rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in rules})
    metrics = AuthMetrics(registry, routes)

    def refuse(reason: str, error: Unauthorized | Forbidden, caller: Caller | None = None) -> NoReturn:
        route = request.url_rule.rule if request.url_rule is not None else ""
        metrics.refusals.labels(route, reason).inc()
        fields = {"event": "auth.refused", "route": route, "reason": reason}
        if caller is not None:
            fields |= {"caller_service": caller.service, "caller_subject": caller.subject}
        log.warning("request refused: %s", reason, extra=fields)
        raise error

    unchecked = OPEN_ENDPOINTS | frozenset(open_endpoints) | {"static"}

    def gate() -> None:
        endpoint = request.endpoint
        if endpoint is None or endpoint in unchecked:  # no route matched (a 404 or 405 follows), or open
            return
        # A route registered after install() declared nothing the gate saw: refused like any unnamed caller.
        rule = rules.get(endpoint, NOBODY)
        try:
            caller = verify(bearer_token(request.headers.get("Authorization")))
        except Unauthorized as error:
            refuse(error.code, error)
        if not rule.allows(caller):
            message = f"{caller.subject} via {caller.service} may not call this endpoint."
            refuse("forbidden_caller", Forbidden(message, code="forbidden_caller"), caller)
        g.caller = caller

    app.before_request(gate)
