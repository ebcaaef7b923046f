"""Login and registration throttled at the gateway, per client address and per account, under real gunicorn, with
the counters in memory and in the local Redis (a key prefix of its own per test).

The test plays the one trusted front proxy (TRUSTED_PROXY_HOPS=1): the last X-Forwarded-For entry is the client.
"""

from __future__ import annotations

import uuid

import pytest
import redis
import requests

from tests.support.procs import Service

JWT_SECRET = "throttling-tests-secret-" + "t" * 24
REDIS_URL = "redis://127.0.0.1:6379/0"
PASSWORD = "a long enough password"
PER_ADDRESS, PER_ACCOUNT = 35, 10
LOGIN, REGISTER = "/api/v1/auth/token", "/api/v1/users"


@pytest.fixture(scope="module")
def users(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("throttled-users")
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'users.db'}", "JWT_SECRET": JWT_SECRET, "TIENDA_ENV": "test",
           "OTEL_TRACES_EXPORTER": "none", "ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "8"}  # fmt: skip
    service = Service("services.users.app:create_app()", env=env, log_path=tmp / "users.log")
    yield service
    service.stop()


@pytest.fixture(scope="module", params=["memory", "redis"])
def gateway(request, users, tmp_path_factory):
    """One gateway per storage for the module; each test uses addresses and accounts of its own."""
    prefix = f"tienda-test-{uuid.uuid4().hex}"
    env = {
        "USERS_URL": users.url,
        "JWT_SECRET": JWT_SECRET,
        "TIENDA_ENV": "test",
        "OTEL_TRACES_EXPORTER": "none",
        "TRUSTED_PROXY_HOPS": "1",
        "THROTTLE_LOGIN_PER_ADDRESS": f"{PER_ADDRESS} per minute",
        "THROTTLE_LOGIN_PER_ACCOUNT": f"{PER_ACCOUNT} per minute",
        "THROTTLE_REGISTER_PER_ADDRESS": f"{PER_ADDRESS} per minute",
        "THROTTLE_REGISTER_PER_ACCOUNT": f"{PER_ACCOUNT} per minute",
        "THROTTLE_KEY_PREFIX": prefix,
    }
    if request.param == "redis":
        env["REDIS_URL"] = REDIS_URL
    service = Service(
        "services.gateway.app:create_app()", env=env, log_path=tmp_path_factory.mktemp("gateway") / "gateway.log"
    )
    service.storage, service.prefix = request.param, prefix
    yield service
    service.stop()
    if request.param == "redis":
        store = redis.Redis.from_url(REDIS_URL)
        keys = list(store.scan_iter(f"*/{prefix}/*"))
        if keys:
            store.delete(*keys)


def post(gateway: Service, path: str, body: dict, address: str, forged: str | None = None) -> requests.Response:
    forwarded = f"{forged}, {address}" if forged else address
    return requests.post(gateway.url + path, json=body, headers={"X-Forwarded-For": forwarded}, timeout=10)


def register(gateway: Service, address: str) -> str:
    email = f"user-{uuid.uuid4().hex[:12]}@throttle.test"
    r = post(gateway, REGISTER, {"email": email, "password": PASSWORD, "name": "Ada"}, address)
    assert r.status_code == 201, r.text
    return email


def refused(response: requests.Response) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    error = response.json()["error"]
    assert error["code"] == "rate_limited"
    assert error["request_id"]


def rate_limited_total(gateway: Service, route: str) -> float:
    text = requests.get(gateway.url + "/metrics", timeout=5).text
    for line in text.splitlines():
        if line.startswith(f'tienda_rate_limited_total{{route="{route}"}}'):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no tienda_rate_limited_total for {route}")


def redis_keys(prefix: str) -> list[bytes]:
    return list(redis.Redis.from_url(REDIS_URL).scan_iter(f"*/{prefix}/*"))


def test_thirty_rapid_wrong_passwords_for_one_account_are_throttled_while_another_account_logs_in(gateway):
    victim, other = register(gateway, "198.51.100.1"), register(gateway, "198.51.100.1")
    limited_before = rate_limited_total(gateway, LOGIN)
    answers = [post(gateway, LOGIN, {"email": victim, "password": f"guess {n}"}, "203.0.113.7") for n in range(30)]
    assert [r.status_code for r in answers[:PER_ACCOUNT]] == [401] * PER_ACCOUNT
    for answer in answers[PER_ACCOUNT:]:
        refused(answer)
    # The right password is refused too while the account is throttled, from any address.
    refused(post(gateway, LOGIN, {"email": victim.upper(), "password": PASSWORD}, "192.0.2.50"))
    # Another account logs in fine, from the same address.
    ok = post(gateway, LOGIN, {"email": other, "password": PASSWORD}, "203.0.113.7")
    assert ok.status_code == 200, ok.text
    assert ok.json()["access_token"]
    assert rate_limited_total(gateway, LOGIN) - limited_before == 30 - PER_ACCOUNT + 1
    assert bool(redis_keys(gateway.prefix)) is (gateway.storage == "redis")


def test_a_throttled_address_leaves_a_valid_login_from_another_address_alone(gateway):
    email, tag = register(gateway, "198.51.100.2"), uuid.uuid4().hex[:8]
    for n in range(PER_ADDRESS):
        r = post(gateway, LOGIN, {"email": f"nobody-{n}-{tag}@throttle.test", "password": PASSWORD}, "203.0.113.9")
        assert r.status_code == 401, r.text
    refused(post(gateway, LOGIN, {"email": email, "password": PASSWORD}, "203.0.113.9"))
    ok = post(gateway, LOGIN, {"email": email, "password": PASSWORD}, "203.0.113.10")
    assert ok.status_code == 200, ok.text


def test_a_client_cannot_leave_its_address_budget_by_writing_x_forwarded_for_itself(gateway):
    tag = uuid.uuid4().hex[:8]
    for n in range(PER_ADDRESS):
        body = {"email": f"nobody-{n}-{tag}@throttle.test", "password": PASSWORD}
        assert post(gateway, LOGIN, body, "203.0.113.11", forged=f"10.0.0.{n}").status_code == 401
    refused(post(gateway, LOGIN, {"email": "x@throttle.test", "password": PASSWORD}, "203.0.113.11", forged="10.9.9.9"))


def test_registration_is_throttled_per_account_and_the_refusal_creates_nothing(gateway):
    email = f"taken-{uuid.uuid4().hex[:8]}@throttle.test"
    body = {"email": email, "password": PASSWORD, "name": "Ada"}
    registrations_before, logins_before = rate_limited_total(gateway, REGISTER), rate_limited_total(gateway, LOGIN)
    answers = [post(gateway, REGISTER, body, f"203.0.113.{20 + n}") for n in range(PER_ACCOUNT + 2)]
    assert [r.status_code for r in answers[:PER_ACCOUNT]] == [201] + [409] * (PER_ACCOUNT - 1)
    for answer in answers[PER_ACCOUNT:]:
        refused(answer)
    assert rate_limited_total(gateway, REGISTER) - registrations_before == 2
    assert rate_limited_total(gateway, LOGIN) == logins_before
