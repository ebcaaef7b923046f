"""The users HTTP API through the Flask test client, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import time

import jwt
import pytest

from tests.support.auth import GATEWAY, as_user, signed
from tests.support.users import JWT_SECRET, log_records, post_body, sample, user_rows

ADA = {"email": "Ada.Lovelace@Example.com", "password": "analytical engine", "name": "  Ada Lovelace "}


def register(client, **overrides):
    return client.post("/users", json={**ADA, **overrides})


def login(client, email="ada.lovelace@example.com", password="analytical engine"):
    return client.post("/auth/token", json={"email": email, "password": password})


def test_registering_answers_201_with_the_user_and_stores_the_email_lower_cased_and_the_password_hashed(app, client):
    response = register(client)

    assert response.status_code == 201
    body = response.json
    assert set(body) == {"id", "email", "name", "role", "created_at"}
    assert (body["email"], body["name"], body["role"]) == ("ada.lovelace@example.com", "Ada Lovelace", "user")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["created_at"])
    (row,) = user_rows(app)
    assert (row["id"], row["email"], row["name"], row["role"]) == (body["id"], body["email"], "Ada Lovelace", "user")
    assert row["password_hash"].startswith("$argon2id$")
    assert ADA["password"] not in row["password_hash"]


def test_registering_the_same_email_in_another_letter_case_is_409_email_taken_and_stores_nothing(app, client):
    assert register(client).status_code == 201

    response = register(client, email="ADA.LOVELACE@example.COM", password="another password", name="Impostor")

    assert response.status_code == 409
    assert response.json["error"]["code"] == "email_taken"
    assert [row["name"] for row in user_rows(app)] == ["Ada Lovelace"]


def test_a_registration_counts_in_tienda_users_registered_total_and_logs_user_registered(make_app, capfd):
    app = make_app()  # made after capfd started, so its log lines are captured
    client = app.test_client()
    assert sample(app, "tienda_users_registered_total") == 0

    user = register(client).json
    register(client)  # a duplicate is not a registration

    assert sample(app, "tienda_users_registered_total") == 1
    events = [r for r in log_records(capfd.readouterr().out) if r.get("event") == "user.registered"]
    assert [(e["user_id"], e["service"], e["level"]) for e in events] == [(user["id"], "users", "INFO")]
    assert events[0]["request_id"]


#: name -> (request body or raw bytes, status, error code, fields named in details)
BAD_REGISTRATIONS = {
    "missing name": ({"email": "a@example.com", "password": "long enough"}, 422, "invalid_input", ["name"]),
    "extra role field": ({**ADA, "role": "admin"}, 422, "invalid_input", ["role"]),
    "password as a number": ({**ADA, "password": 12345678}, 422, "invalid_input", ["password"]),
    "email as null": ({**ADA, "email": None}, 422, "invalid_input", ["email"]),
    "short password": ({**ADA, "password": "seven77"}, 422, "invalid_input", ["password"]),
    "long password": ({**ADA, "password": "p" * 129}, 422, "invalid_input", ["password"]),
    "bad email": ({**ADA, "email": "ada-at-example.com"}, 422, "invalid_input", ["email"]),
    "long email": ({**ADA, "email": "a" * 243 + "@example.com"}, 422, "invalid_input", ["email"]),
    "blank name": ({**ADA, "name": "   "}, 422, "invalid_input", ["name"]),
    "long name": ({**ADA, "name": "n" * 101}, 422, "invalid_input", ["name"]),
    "a JSON array": ([ADA], 400, "invalid_json", None),
    "form encoded": (b"email=a@example.com&password=long+enough&name=A", 400, "invalid_json", None),
    "empty body": (b"", 400, "invalid_json", None),
    "truncated JSON": (b'{"email": "a@example.com", "password": "trunc', 400, "invalid_json", None),
}


def test_every_bad_registration_body_is_4xx_naming_the_field_never_echoing_it_and_stores_no_row(app, client, subtests):
    for case, (body, status, code, fields) in BAD_REGISTRATIONS.items():
        with subtests.test(case):
            response = post_body(client, "/users", body)

            assert response.status_code == status
            assert response.json["error"]["code"] == code
            if fields is not None:
                assert [d["field"] for d in response.json["error"]["details"]] == fields
            password = body.get("password") if isinstance(body, dict) else None
            if isinstance(password, str):
                assert password not in response.get_data(as_text=True)
            assert user_rows(app) == []


def test_logging_in_returns_a_bearer_jwt_carrying_the_user_id_role_and_expiry(client):
    user = register(client).json

    response = login(client, email="ADA.LOVELACE@EXAMPLE.COM")

    assert response.status_code == 200
    body = response.json
    assert (body["token_type"], body["expires_in"]) == ("bearer", 3600)
    claims = jwt.decode(body["access_token"], JWT_SECRET, algorithms=["HS256"], issuer="tienda")
    assert (claims["sub"], claims["role"]) == (str(user["id"]), "user")
    assert 3590 <= claims["exp"] - time.time() <= 3600
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(body["access_token"], "another-secret-" + "y" * 32, algorithms=["HS256"])


def test_a_wrong_password_and_an_unknown_email_get_the_same_401_and_count_as_failed_logins(app, client):
    assert sample(app, "tienda_logins_total", {"outcome": "success"}) == 0
    assert sample(app, "tienda_logins_total", {"outcome": "failure"}) == 0
    register(client)

    wrong_password = login(client, password="difference engine")
    unknown_email = login(client, email="grace@example.com")
    right = login(client)

    for response in (wrong_password, unknown_email):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert "access_token" not in response.json
    assert wrong_password.json["error"]["code"] == "invalid_credentials"
    assert {k: v for k, v in wrong_password.json["error"].items() if k != "request_id"} == {
        k: v for k, v in unknown_email.json["error"].items() if k != "request_id"
    }
    assert right.status_code == 200
    assert sample(app, "tienda_logins_total", {"outcome": "success"}) == 1
    assert sample(app, "tienda_logins_total", {"outcome": "failure"}) == 2


BAD_LOGINS = {
    "missing password": ({"email": "ada.lovelace@example.com"}, 422),
    "password as a number": ({"email": "ada.lovelace@example.com", "password": 12345678}, 422),
    "extra field": ({"email": "ada.lovelace@example.com", "password": "analytical engine", "remember": True}, 422),
    "a JSON string": ("analytical engine", 400),
    "not JSON": (b"email=ada.lovelace@example.com&password=analytical+engine", 400),
}


def test_a_malformed_login_body_is_4xx_and_not_counted_as_a_login(app, client, subtests):
    register(client)

    for case, (body, status) in BAD_LOGINS.items():
        with subtests.test(case):
            response = post_body(client, "/auth/token", body)

            assert response.status_code == status
            assert "access_token" not in response.json
    assert sample(app, "tienda_logins_total", {"outcome": "failure"}) == 0
    assert sample(app, "tienda_logins_total", {"outcome": "success"}) == 0


BAD_IDENTITIES = {  # tokens made when the test runs: they live a minute
    "no token": (lambda: {"Authorization": ""}, 401, "missing_token"),
    "forged identity headers": (lambda: {"Authorization": "", "X-User-Id": "1", "X-User-Role": "admin"}, 401,
                                "missing_token"),
    "no role": (lambda: signed(sub="user:1", role=None), 401, "invalid_token"),
    "id not a number": (lambda: signed(sub="user:one"), 401, "invalid_token"),
    "unknown role": (lambda: signed(sub="user:1", role="root"), 401, "invalid_token"),
    "another key": (lambda: signed(key="k" * 40, sub="user:1"), 401, "invalid_token"),
    "the gateway for no user": (lambda: GATEWAY, 403, "forbidden_caller"),
}  # fmt: skip


def test_users_me_is_the_user_the_gateway_names_401_or_403_for_anyone_else_and_404_when_unknown(client, subtests):
    user = register(client).json

    with subtests.test("known user"):
        response = client.get("/users/me", headers=as_user(user["id"]))
        assert response.status_code == 200
        assert response.json == user
    for case, (headers, status, code) in BAD_IDENTITIES.items():
        with subtests.test(case):
            response = client.get("/users/me", headers=headers())
            assert (response.status_code, response.json["error"]["code"]) == (status, code)
    with subtests.test("unknown user"):
        response = client.get("/users/me", headers=as_user(user["id"] + 1))
        assert response.status_code == 404
        assert response.json["error"]["code"] == "user_not_found"


def test_the_clear_password_never_appears_in_the_log_output(make_app, capfd):
    client = make_app().test_client()  # made after capfd started, so its log lines are captured
    register(client)
    login(client)
    login(client, password="difference engine")
    register(client, email="x@example.com", password="shorty1")
    client.post("/users", data=b'{"password": "unparsable secret', content_type="application/json")

    out, err = capfd.readouterr()

    records = log_records(out)
    assert [r["status"] for r in records if r.get("event") == "http.access"] == [201, 200, 401, 422, 400]
    for secret in ("analytical engine", "difference engine", "shorty1", "unparsable secret"):
        assert secret not in out and secret not in err


def test_a_stale_hash_is_replaced_with_the_current_parameters_at_login(make_app):
    old = make_app(argon2_time_cost=2)
    register(old.test_client())
    (before,) = user_rows(old)
    current = make_app()

    assert login(current.test_client()).status_code == 200

    (after,) = user_rows(current)
    assert "t=2," in before["password_hash"] and "t=1," in after["password_hash"]
    assert login(current.test_client()).status_code == 200


def test_openapi_documents_every_route_of_the_service(make_sqlite_app):
    app = make_sqlite_app()
    document = app.test_client().get("/openapi.json").json

    routes = {
        (method, re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("users.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    assert routes == documented == {("POST", "/users"), ("POST", "/auth/token"), ("GET", "/users/me")}
    schemas = document["components"]["schemas"]
    assert set(schemas["RegisterUser"]["required"]) == {"email", "password", "name"}
    assert schemas["RegisterUser"]["additionalProperties"] is False


def test_readiness_checks_the_database(client):
    response = client.get("/health/ready")

    assert response.status_code == 200
    assert response.json["checks"]["database"]["status"] == "ok"
