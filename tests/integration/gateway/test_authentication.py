"""Bearer JWTs are checked at the gateway, and the identity sent on is always the token's."""

from __future__ import annotations

import time

import jwt
import pytest

from services.common.auth import Caller, Identity
from tests.support.gateway import SECRET, bearer

PROTECTED = [
    ("GET", "/api/v1/users/me"),
    ("POST", "/api/v1/products"),
    ("PUT", "/api/v1/products/3"),
    ("DELETE", "/api/v1/products/3"),
    ("POST", "/api/v1/products/3/restock"),
    ("POST", "/api/v1/orders"),
    ("GET", "/api/v1/orders"),
    ("GET", "/api/v1/orders/5"),
    ("POST", "/api/v1/orders/5/cancel"),
    ("GET", "/api/v1/orders/5/details"),
]


def _token(**claims) -> str:
    now = int(time.time())
    # Built at collection time, so valid for a day: the suite may reach these tests minutes later.
    base = {"sub": "7", "role": "user", "iat": now, "exp": now + 86_400, "iss": "tienda"}
    return jwt.encode({**base, **claims}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(("method", "path"), PROTECTED)
def test_a_protected_route_without_a_token_is_401_missing_token_and_reaches_no_service(client, fakes, method, path):
    response = client.open(path, method=method, json={"quantity": 1})

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "missing_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert not any(f.calls for f in fakes.values())


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Basic dXNlcjpwYXNz", "missing_token"),
        ("Bearer", "missing_token"),
        ("Bearer    ", "missing_token"),
        ("Bearer not-a-jwt", "invalid_token"),
        (bearer(secret="y" * 32)["Authorization"], "invalid_token"),
        (bearer(ttl_seconds=-10)["Authorization"], "token_expired"),
        (f"Bearer {_token(iss='someone-else')}", "invalid_token"),
        (f"Bearer {_token(role='root')}", "invalid_token"),
        (f"Bearer {_token(sub='alice')}", "invalid_token"),
        (f"Bearer {jwt.encode({'sub': '7', 'role': 'user', 'iss': 'tienda'}, SECRET, algorithm='HS256')}",
         "invalid_token"),
        (f"Bearer {jwt.encode({'sub': '7', 'role': 'admin', 'iss': 'tienda', 'exp': 2**40}, None, algorithm='none')}",
         "invalid_token"),
    ],
    ids=["basic-scheme", "no-token", "blank-token", "garbage", "wrong-secret", "expired", "wrong-issuer",
         "unknown-role", "non-numeric-subject", "no-expiry", "unsigned"],
)  # fmt: skip
def test_a_bad_token_is_401_with_its_reason_and_reaches_no_service(client, fakes, authorization, code):
    response = client.get("/api/v1/orders/5", headers={"Authorization": authorization})

    assert response.status_code == 401
    body = response.get_json()
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]
    assert not fakes.orders.calls


def test_the_bearer_scheme_is_case_insensitive(client, fakes):
    token = bearer(7)["Authorization"].split(" ", 1)[1]

    response = client.get("/api/v1/users/me", headers={"Authorization": f"bearer {token}"})

    assert response.status_code == 200
    assert fakes.users.only_call().caller == Caller("gateway", Identity(7, "user"))


def test_forged_identity_headers_do_not_change_who_the_caller_is(client, fakes):
    headers = {**bearer(7, "user"), "X-User-Id": "1", "X-User-Role": "admin"}

    response = client.get("/api/v1/orders/5", headers=headers)

    assert response.status_code == 200
    call = fakes.orders.only_call()
    assert call.caller == Caller("gateway", Identity(7, "user"))
    assert "X-User-Id" not in call.headers and "X-User-Role" not in call.headers


def test_forged_identity_headers_without_a_token_are_not_an_identity(client, fakes):
    response = client.post("/api/v1/products", json={"sku": "A"}, headers={"X-User-Id": "1", "X-User-Role": "admin"})

    assert response.status_code == 401
    assert not fakes.products.calls


def test_forged_identity_headers_on_a_public_route_are_not_forwarded(client, fakes):
    response = client.get("/api/v1/products/3", headers={"X-User-Id": "1", "X-User-Role": "admin"})

    assert response.status_code == 200
    call = fakes.products.only_call()
    assert call.caller == Caller("gateway")
    assert "X-User-Id" not in call.headers and "X-User-Role" not in call.headers


def test_the_callers_token_and_other_headers_are_not_forwarded(client, fakes):
    client.get("/api/v1/users/me", headers={**bearer(7), "Cookie": "session=abc", "X-Forwarded-For": "10.0.0.1"})

    call = fakes.users.only_call()
    assert call.headers.getlist("Authorization") != [bearer(7)["Authorization"]]
    assert call.caller == Caller("gateway", Identity(7, "user"))  # the internal token replaces the user's JWT
    assert "Cookie" not in call.headers
    assert "X-Forwarded-For" not in call.headers
