"""The throttle in front of the users service, in process (a fake users over real HTTP): a refused attempt never
reaches users, and an unreachable Redis leaves logins both possible and throttled."""

from __future__ import annotations

import pytest

from tests.support.gateway import SECRET, FakeUpstream, Gateway
from tests.support.procs import free_port

LOGIN = "/api/v1/auth/token"
PER_ACCOUNT = 10


@pytest.fixture
def users():
    fake = FakeUpstream("users")
    yield fake
    fake.stop()


def gateway(users: FakeUpstream, **config: object) -> Gateway:
    return Gateway({"users_url": users.url, "jwt_secret": SECRET, **config})


def test_a_refused_attempt_never_reaches_the_users_service(users):
    users.reply("POST", "/auth/token", 401, {"error": {"code": "invalid_credentials", "message": "no"}})
    g = gateway(users)
    try:
        body = {"email": "ada@example.test", "password": "guess"}
        statuses = [g.client.post(LOGIN, json=body).status_code for _ in range(PER_ACCOUNT + 5)]
    finally:
        g.close()
    assert statuses == [401] * PER_ACCOUNT + [429] * 5
    assert len(users.calls_to("POST", "/auth/token")) == PER_ACCOUNT


def test_with_redis_unreachable_logins_stay_possible_and_throttled(users):
    users.reply("POST", "/auth/token", 200, {"access_token": "t", "token_type": "bearer", "expires_in": 900})
    g = gateway(users, redis_url=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    try:
        body = {"email": "ada@example.test", "password": "the right one"}
        answers = [g.client.post(LOGIN, json=body) for _ in range(PER_ACCOUNT + 1)]
    finally:
        g.close()
    assert [r.status_code for r in answers] == [200] * PER_ACCOUNT + [429]
    assert answers[-1].json["error"]["code"] == "rate_limited"
    assert int(answers[-1].headers["Retry-After"]) >= 1
