"""Internal tokens (services.common.auth.InternalTokens): what a service mints, what it accepts, what it keeps."""

from __future__ import annotations

import time

import jwt
import pytest

from services.common.auth import Caller, Identity, InternalTokens, issue_token, verify_token
from services.common.errors import Unauthorized

KEY = "unit-tests-internal-key-" + "i" * 24
USER_KEY = "unit-tests-user-jwt-key-" + "u" * 24


class Clock:
    def __init__(self, now: float | None = None) -> None:
        self.now = time.time() if now is None else now

    def __call__(self) -> float:
        return self.now


def refused(tokens: InternalTokens, token: str) -> str:
    with pytest.raises(Unauthorized) as raised:
        tokens.verify(token)
    return raised.value.code


def test_a_service_token_names_the_service_acting_for_itself():
    tokens = InternalTokens(KEY, "orders")

    assert InternalTokens(KEY, "products").verify(tokens.token()) == Caller("orders")


def test_a_token_for_a_user_names_the_sending_service_and_the_user_with_their_role():
    token = InternalTokens(KEY, "gateway").token(Identity(42, "admin"))

    assert InternalTokens(KEY, "orders").verify(token) == Caller("gateway", Identity(42, "admin"))
    claims = jwt.decode(token, KEY, algorithms=["HS256"], audience="tienda-internal")
    assert {k: claims[k] for k in ("iss", "sub", "role", "aud")} == {
        "iss": "gateway", "sub": "user:42", "role": "admin", "aud": "tienda-internal",
    }  # fmt: skip
    assert claims["exp"] - claims["iat"] == 60


def test_a_token_is_reused_for_half_its_life_then_minted_again():
    clock = Clock()
    tokens = InternalTokens(KEY, "orders", clock=clock)
    first = tokens.token()

    clock.now += 29
    assert tokens.token() == first
    clock.now += 2
    second = tokens.token()
    assert second != first
    issued = [
        jwt.decode(t, KEY, algorithms=["HS256"], options={"verify_aud": False, "verify_iat": False})["iat"]
        for t in (first, second)
    ]
    assert issued[1] - issued[0] == 31


def test_each_user_has_their_own_token_and_the_service_its_own():
    tokens = InternalTokens(KEY, "gateway")
    alice, bob = tokens.token(Identity(1, "user")), tokens.token(Identity(2, "user"))

    assert len({alice, bob, tokens.token()}) == 3
    assert tokens.verify(bob).user == Identity(2, "user")


def test_a_token_is_accepted_until_a_few_seconds_past_its_expiry_then_refused_as_expired_even_if_seen_before():
    clock = Clock()
    receiver = InternalTokens(KEY, "products", clock=clock)
    token = InternalTokens(KEY, "orders", clock=clock).token()

    assert receiver.verify(token) == Caller("orders")
    clock.now += 60 + 4
    assert receiver.verify(token) == Caller("orders")  # the tolerated clock difference
    clock.now += 1
    assert refused(receiver, token) == "token_expired"


def test_a_token_issued_in_the_future_is_invalid():
    clock = Clock()
    token = InternalTokens(KEY, "orders", clock=lambda: clock.now + 30).token()

    assert refused(InternalTokens(KEY, "products", clock=clock), token) == "invalid_token"


def test_an_expired_token_is_refused_as_expired():
    clock = Clock(now=1_000_000_000.0)  # long ago: the token expired a minute after
    old = InternalTokens(KEY, "orders", clock=clock).token()

    assert refused(InternalTokens(KEY, "products"), old) == "token_expired"


def test_a_token_signed_with_another_key_is_invalid():
    assert refused(InternalTokens(KEY, "products"), InternalTokens("x" * 40, "orders").token()) == "invalid_token"


def test_a_user_jwt_from_the_users_service_is_not_an_internal_token_and_an_internal_token_is_not_a_user_jwt():
    user_jwt = issue_token(7, "admin", KEY)  # even signed with the internal key: no audience
    internal = InternalTokens(USER_KEY, "gateway").token(Identity(7, "admin"))

    assert refused(InternalTokens(KEY, "products"), user_jwt) == "invalid_token"
    with pytest.raises(Unauthorized):
        verify_token(internal, USER_KEY)  # the gateway never takes one for a user's JWT


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "orders", "role": "service"},  # a service token must name its issuer
        {"sub": "user:7", "role": "service"},
        {"sub": "user:7", "role": "root"},
        {"sub": "user:7", "role": None},
        {"sub": "7", "role": "user"},
        {"iss": "Gateway!", "sub": "user:7", "role": "user"},
        {"aud": "tienda", "sub": "user:7", "role": "user"},
        {"aud": None, "sub": "user:7", "role": "user"},
        {"iat": None, "sub": "user:7", "role": "user"},
        {"exp": None, "sub": "user:7", "role": "user"},
        {"exp": "4000000000", "sub": "user:7", "role": "user"},
        {"iat": 1.5e9, "sub": "user:7", "role": "user"},
    ],
)
def test_a_token_with_claims_no_service_mints_is_invalid(claims):
    base = {"iss": "gateway", "aud": "tienda-internal", "iat": int(time.time()), "exp": 4_000_000_000}
    merged = {k: v for k, v in {**base, **claims}.items() if v is not None}

    assert refused(InternalTokens(KEY, "products"), jwt.encode(merged, KEY, algorithm="HS256")) == "invalid_token"


def test_a_token_signed_with_none_or_another_algorithm_is_invalid():
    claims = {"iss": "orders", "sub": "orders", "role": "service", "aud": "tienda-internal", "iat": 1, "exp": 2**40}

    assert refused(InternalTokens(KEY, "products"), jwt.encode(claims, None, algorithm="none")) == "invalid_token"
    assert refused(InternalTokens(KEY, "products"), jwt.encode(claims, KEY, algorithm="HS512")) == "invalid_token"
