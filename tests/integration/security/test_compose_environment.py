"""Compose's environment (docker-compose.yml with .env, as docker-compose resolves it) starts the services as the
``demo`` environment, which says so; the same environment with TIENDA_ENV=production is refused at start.

The services run here under real gunicorn with compose's variables; only where things are changes (the local
PostgreSQL, Redis and OTLP receiver instead of the compose hostnames).
"""

from __future__ import annotations

import json
import re

import pytest
import requests

from tests.support.compose import Service as ComposeService
from tests.support.compose import run_compose
from tests.support.databases import postgres_database
from tests.support.otlp import exporting_to
from tests.support.procs import Service, free_port

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def compose_env() -> dict[str, dict[str, str]]:
    import yaml

    result = run_compose("config")
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    return {name: ComposeService(name, config).environment for name, config in services.items()}


def local(env: dict[str, str], receiver, **more: str) -> dict[str, str]:
    """Compose's ``env`` pointed at this machine: same secrets, same TIENDA_ENV, local addresses."""
    moved = {**env, **exporting_to(receiver.endpoint)}
    for name, host, here in (("AMQP_URL", "@rabbitmq:", "@127.0.0.1:"), ("REDIS_URL", "//redis:", "//127.0.0.1:")):
        if name in moved:
            moved[name] = moved[name].replace(host, here)
    for name in ("USERS_URL", "PRODUCTS_URL", "ORDERS_URL", "PAYMENTS_URL"):
        moved.pop(name, None)  # nothing is called at start
    return {**moved, **more}


def test_the_gateway_and_users_start_with_composes_environment_as_demo_and_say_so(compose_env, otlp_receiver, tmp_path):
    started = []
    try:
        with postgres_database("tienda_test_users") as users_db:
            for name, extra in (("users", {"DATABASE_URL": users_db}), ("gateway", {})):
                env = local(compose_env[name], otlp_receiver, **extra)
                assert env["TIENDA_ENV"] == "demo"
                started.append(Service(f"services.{name}.app:create_app()", env=env, log_path=tmp_path / f"{name}.log"))
            for service in started:
                name = service.log_path.stem
                lines = [json.loads(line) for line in service.log_lines() if line.startswith("{")]
                demo = [line for line in lines if line.get("event") == "settings.demo"]
                assert demo and demo[0]["level"] == "WARNING", f"{name} did not say it runs as demo"
                metrics = requests.get(service.url + "/metrics", timeout=5).text
                assert re.search(
                    rf'tienda_build_info\{{environment="demo",service="{name}",version="[^"]+"\}} 1', metrics
                )
    finally:
        for service in started:
            service.stop()


def test_composes_environment_with_production_is_refused_at_start_naming_the_published_secret(
    compose_env, otlp_receiver, tmp_path
):
    env = local(compose_env["gateway"], otlp_receiver, TIENDA_ENV="production")
    with pytest.raises(RuntimeError) as refused:
        Service("services.gateway.app:create_app()", env=env, log_path=tmp_path / "gateway.log", port=free_port())
    assert "JWT_SECRET is a value published in the tienda repository" in str(refused.value)
