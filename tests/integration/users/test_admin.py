"""The first admin: ensured at start from config or environment, or made with the admin CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import jwt
import pytest

from services.common.settings import ROOT
from services.users import admin
from telemetry import ConfigError
from tests.support.auth import as_admin
from tests.support.users import JWT_SECRET, user_rows

ROOT_ADMIN = {"admin_email": "Root@Example.com", "admin_password": "root password"}


def login(app, email, password):
    return app.test_client().post("/auth/token", json={"email": email, "password": password})


def test_the_admin_named_in_the_config_is_created_once_at_start_and_logs_in_as_admin(make_app):
    app = make_app(**ROOT_ADMIN)
    restarted = make_app(**ROOT_ADMIN)

    (row,) = user_rows(restarted)
    assert (row["email"], row["name"], row["role"]) == ("root@example.com", "Admin", "admin")
    response = login(restarted, "root@example.com", "root password")
    assert response.status_code == 200
    me = app.test_client().get("/users/me", headers=as_admin(row["id"]))
    assert me.json["role"] == "admin"


def test_the_admin_named_in_the_environment_is_created_at_start(make_app, monkeypatch):
    monkeypatch.setenv("ADMIN_EMAIL", "env-root@example.com")
    monkeypatch.setenv("ADMIN_PASSWORD", "env root password")

    app = make_app()

    assert [(r["email"], r["role"]) for r in user_rows(app)] == [("env-root@example.com", "admin")]


def test_an_ordinary_account_is_promoted_at_start_only_when_the_admin_password_is_its_own(make_app):
    app = make_app()
    app.test_client().post("/users", json={"email": "root@example.com", "password": "early bird", "name": "Early"})

    with pytest.raises(ConfigError, match="ordinary account"):
        make_app(**ROOT_ADMIN)
    assert [r["role"] for r in user_rows(app)] == ["user"]

    make_app(admin_email="root@example.com", admin_password="early bird")
    assert [(r["name"], r["role"]) for r in user_rows(app)] == [("Early", "admin")]


def test_a_malformed_admin_email_stops_the_start_with_a_config_error(make_sqlite_app):
    with pytest.raises(ConfigError, match="email: must be an email address"):
        make_sqlite_app(admin_email="root", admin_password="root password")


def run_admin_cli(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "TIENDA_ENV": "development",
        "OTEL_TRACES_EXPORTER": "none",
    }
    return subprocess.run(
        [sys.executable, "-m", "services.users.admin", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_admin_cli_creates_an_admin_who_can_log_in(database_url, make_app):
    result = run_admin_cli(
        database_url, "--email", "Boss@Example.com", "--password", "boss password", "--name", "The Boss"
    )

    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["action"] == "created"
    assert (output["user"]["email"], output["user"]["name"], output["user"]["role"]) == (
        "boss@example.com",
        "The Boss",
        "admin",
    )
    assert "boss password" not in result.stdout + result.stderr
    app = make_app()
    assert [(r["id"], r["email"], r["role"]) for r in user_rows(app)] == [
        (output["user"]["id"], "boss@example.com", "admin")
    ]
    token = login(app, "boss@example.com", "boss password").json["access_token"]
    assert jwt.decode(token, JWT_SECRET, algorithms=["HS256"])["role"] == "admin"


def run_in_process(monkeypatch, capsys, database_url: str, *args: str) -> tuple[int, str, str]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    status = admin.main(list(args))
    out, err = capsys.readouterr()
    return status, out.splitlines()[-1] if out else "", err  # the result line; log lines may come before


def test_running_the_admin_cli_again_leaves_the_admin_unchanged(database_url, make_app, monkeypatch, capsys):
    args = ("--email", "boss@example.com", "--password", "boss password")
    first = run_in_process(monkeypatch, capsys, database_url, *args)

    again = run_in_process(monkeypatch, capsys, database_url, *args)

    assert (first[0], json.loads(first[1])["action"]) == (0, "created")
    assert (again[0], json.loads(again[1])) == (0, {**json.loads(first[1]), "action": "unchanged"})
    assert len(user_rows(make_app())) == 1


def test_the_admin_cli_promotes_an_existing_user_keeping_their_password(database_url, make_app, monkeypatch, capsys):
    app = make_app()
    client = app.test_client()
    user = client.post("/users", json={"email": "ada@example.com", "password": "analytical engine", "name": "Ada"}).json

    status, out, _ = run_in_process(
        monkeypatch, capsys, database_url, "--email", "ADA@example.com", "--password", "x" * 8
    )

    assert (status, json.loads(out)["action"]) == (0, "promoted")
    assert [(r["id"], r["name"], r["role"]) for r in user_rows(app)] == [(user["id"], "Ada", "admin")]
    assert login(app, "ada@example.com", "analytical engine").status_code == 200


def test_the_admin_cli_rejects_bad_input_on_stderr_with_exit_status_2_without_opening_the_database(
    tmp_path, monkeypatch, capsys
):
    database = tmp_path / "users.db"

    status, out, err = run_in_process(
        monkeypatch, capsys, f"sqlite:///{database}", "--email", "boss", "--password", "tiny12"
    )

    assert (status, out) == (2, "")
    assert "email: must be an email address" in err
    assert "password: must have 8 to 128 characters" in err
    assert "tiny12" not in err
    assert not database.exists()
