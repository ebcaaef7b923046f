"""Internal tokens for tests: the headers each kind of caller sends to a service behind the gateway.

Every app a test starts, in process or under gunicorn, reads :data:`INTERNAL_TOKEN_KEY` (``tests/conftest.py``
puts it in the environment of the test run), so these headers are the real callers' headers. They are
mappings that hand out a valid token whenever they are read (a token lives a minute, a test run longer), and
can be given as ``headers=`` to Flask's test client and to ``requests`` alike, or spread with ``**``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import jwt
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers

from services.common.auth import INTERNAL_AUDIENCE, Identity, InternalTokens

INTERNAL_TOKEN_KEY = "tests-internal-token-key-" + "k" * 24


class CallerHeaders(Mapping[str, str]):
    """The ``Authorization`` header of ``service`` acting for ``identity`` (None: for itself)."""

    def __init__(self, service: str, identity: Identity | None = None, key: str = INTERNAL_TOKEN_KEY) -> None:
        self.tokens = InternalTokens(key, service)
        self.identity = identity

    def _current(self) -> dict[str, str]:
        return self.tokens.headers(self.identity)

    def __getitem__(self, name: str) -> str:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return 1

    def __repr__(self) -> str:
        who = "itself" if self.identity is None else f"user {self.identity.user_id} ({self.identity.role})"
        return f"<{self.tokens.service} for {who}>"


def signed(key: str = INTERNAL_TOKEN_KEY, **claims: Any) -> dict[str, str]:
    """The headers of a token with the claims of the gateway acting for user 7, changed by ``claims`` (a claim
    given as None is left out): for tokens no service would mint."""
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": "gateway", "sub": "user:7", "role": "user", "aud": INTERNAL_AUDIENCE, "iat": now, "exp": now + 60,
    }  # fmt: skip
    merged = {name: value for name, value in {**base, **claims}.items() if value is not None}
    return {"Authorization": "Bearer " + jwt.encode(merged, key, algorithm="HS256")}


def as_service(name: str, key: str = INTERNAL_TOKEN_KEY) -> CallerHeaders:
    """The headers of service ``name`` acting for itself."""
    return CallerHeaders(name, key=key)


def as_user(user_id: int, role: str = "user", *, via: str = "gateway", key: str = INTERNAL_TOKEN_KEY) -> CallerHeaders:
    """The headers ``via`` (the gateway) sends for user ``user_id`` with ``role``."""
    return CallerHeaders(via, Identity(user_id, role), key)


def as_admin(user_id: int = 1, *, via: str = "gateway") -> CallerHeaders:
    return as_user(user_id, "admin", via=via)


GATEWAY = as_service("gateway")
ORDERS = as_service("orders")
AUDIT = as_service("audit")
ADMIN = as_admin(1)


class CallerClient(FlaskClient):
    """Flask's test client sending :attr:`caller`'s token with every request that brings no ``Authorization``."""

    caller: Mapping[str, str] | None = None

    def open(self, *args: Any, **kwargs: Any) -> Any:
        if self.caller is not None and not (args and not isinstance(args[0], str)):
            headers = Headers(kwargs.pop("headers", None))
            if "Authorization" not in headers:
                headers.update(self.caller)
            kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def calling_as(app: Flask, caller: Mapping[str, str]) -> Flask:
    """``app``, whose ``test_client()`` calls as ``caller`` unless a request says otherwise."""
    app.test_client_class = type("CallerClient", (CallerClient,), {"caller": caller})
    return app
