"""Input the users service refuses before it reaches the database or the identity: 4xx JSON errors, never a 500."""

from __future__ import annotations

import pytest

from tests.support.auth import signed
from tests.support.users import log_records, user_rows

ADA = {"email": "ada@example.com", "password": "correct horse", "name": "Ada Lovelace"}


@pytest.mark.parametrize("name", ["Ada\x00Lovelace", "Ada\nLovelace", "Ada\x1bLovelace", "Ada\x7f"])
def test_a_name_with_a_control_character_is_a_422_naming_the_field_and_stores_no_row(make_app, capfd, name):
    app = make_app()
    client = app.test_client()

    response = client.post("/users", json={**ADA, "name": name})

    assert response.status_code == 422
    assert response.json["error"]["code"] == "invalid_input"
    assert [d["field"] for d in response.json["error"]["details"]] == ["name"]
    assert user_rows(app) == []
    assert not [r for r in log_records(capfd.readouterr().out) if r["level"] == "ERROR"]


def test_a_name_with_inner_spaces_and_accents_is_still_welcome(client):
    response = client.post("/users", json={**ADA, "name": "  Ada  Lovelace-Núñez  "})

    assert response.status_code == 201
    assert response.json["name"] == "Ada  Lovelace-Núñez"


@pytest.mark.parametrize(
    "user_id",
    ["²", "١٢", "1²", "+1", "-1", " 1", "0", "1" * 11, "9" * 5000, "2147483648"],
)
def test_an_identity_that_is_not_an_ascii_id_is_a_401_json_error(client, user_id):
    response = client.get("/users/me", headers=signed(sub=f"user:{user_id}"))

    assert response.status_code == 401
    assert response.json["error"]["code"] == "invalid_token"


def test_the_largest_id_is_still_an_identity(client):
    response = client.get("/users/me", headers=signed(sub="user:2147483647"))

    assert response.status_code == 404
    assert response.json["error"]["code"] == "user_not_found"


def test_a_login_with_a_control_character_in_the_email_is_a_422_not_a_database_error(client):
    response = client.post("/auth/token", json={"email": "ada\x00@example.com", "password": ADA["password"]})

    assert response.status_code == 422
    assert [d["field"] for d in response.json["error"]["details"]] == ["email"]
