"""docker-compose.yml on its own: valid, healthy start order, bounded memory and logs, pinned images."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.support.compose import DOTENV, MIB, ROOT, ComposeUnavailable, mapping_get, merged_nodes, run_compose

MEMORY_BUDGET = 2048 * MIB
IMAGE_PIN = re.compile(r"(?P<name>[a-z0-9][a-z0-9._/-]*):\$\{(?P<var>[A-Z][A-Z0-9_]*)\}")


def test_docker_compose_config_accepts_the_file():
    try:
        result = run_compose("config", "-q")
    except ComposeUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr


def test_the_file_follows_the_compose_specification_without_a_version_key(raw_compose):
    assert "version" not in raw_compose


def test_every_service_has_a_healthcheck(services):
    missing = [
        name
        for name, service in services.items()
        if not (service.config.get("healthcheck") or {}).get("test")
        or service.config["healthcheck"].get("disable")
        or service.config["healthcheck"]["test"] in (["NONE"], "NONE")
    ]
    assert not missing, f"services without a healthcheck: {missing}"


def test_every_app_service_is_healthy_only_when_its_own_port_answers_health_live(app_services):
    for name, service in app_services.items():
        port = service.gunicorn_port
        assert port is not None, f"{name}: command is not `gunicorn ... -b 0.0.0.0:<port> ...`"
        probe = " ".join(service.config["healthcheck"]["test"])
        assert f"127.0.0.1:{port}/health/live" in probe, f"{name}: healthcheck does not probe :{port}/health/live"
        assert "curl" not in probe, f"{name}: curl is not in python:slim; use python -c with urllib"


def test_every_app_service_runs_its_own_app_under_the_repositorys_gunicorn_config(app_services):
    for name, service in app_services.items():
        command = service.command
        assert command[:3] == ["gunicorn", "-c", "gunicorn.conf.py"], f"{name}: {command}"
        assert command[-1] == f"services.{name}.app:create_app()", f"{name}: {command}"
        assert any(part.startswith("0.0.0.0:") for part in command), f"{name}: must bind 0.0.0.0 in a container"


def test_every_depends_on_waits_for_a_healthy_service(services):
    for name, service in services.items():
        depends_on = service.config.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"{name}: depends_on must use the long form with conditions"
        for target, options in depends_on.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert (options or {}).get("condition") == "service_healthy", f"{name} -> {target}: {options}"


def test_every_service_has_a_memory_limit_and_together_they_fit_in_2_gib(services):
    missing = [name for name, service in services.items() if service.mem_limit is None]
    assert not missing, f"services without mem_limit: {missing}"
    total = sum(service.mem_limit for service in services.values())
    assert total <= MEMORY_BUDGET, f"mem_limit total {total // MIB} MiB is over the 2048 MiB budget"


def test_python_services_get_between_128_and_192_mib(app_services):
    for name, service in app_services.items():
        assert 128 * MIB <= service.mem_limit <= 192 * MIB, f"{name}: {service.mem_limit // MIB} MiB"


def test_every_service_logs_through_the_one_shared_logging_anchor(compose_nodes, raw_compose):
    anchor = mapping_get(compose_nodes, "x-logging")
    assert anchor is not None, "no top-level x-logging anchor"
    logging = raw_compose["x-logging"]
    assert logging["driver"] == "json-file"
    assert {"max-size", "max-file"} <= set(logging["options"]), "json-file logs must be rotated"
    for service_key, service_node in mapping_get(compose_nodes, "services").value:
        node = mapping_get(service_node, "logging")
        assert node is anchor, f"{service_key.value}: logging is not *logging"


def test_every_app_service_gets_the_standard_otel_variables_from_the_shared_anchor(
    compose_nodes, raw_compose, app_services
):
    otel_anchor = mapping_get(compose_nodes, "x-otel-env")
    assert otel_anchor is not None, "no top-level x-otel-env anchor"
    expected = raw_compose["x-otel-env"]
    assert {
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_RESOURCE_ATTRIBUTES",
    } <= set(expected)
    assert all(key.startswith("OTEL_") for key in expected), "x-otel-env is for the OpenTelemetry variables"
    assert "deployment.environment.name=" in expected["OTEL_RESOURCE_ATTRIBUTES"]
    services_node = mapping_get(compose_nodes, "services")
    for name, service in app_services.items():
        environment = mapping_get(mapping_get(services_node, name), "environment")
        assert otel_anchor in merged_nodes(environment), f"{name}: environment does not merge *otel-env"
        env = service.environment
        assert set(expected) <= set(env), f"{name}: missing {set(expected) - set(env)}"
        for key, value in expected.items():
            if "${" not in value:
                assert env[key] == value, f"{name}: {key}={env[key]!r}"
        assert env.get("OTEL_SERVICE_NAME") == name, f"{name}: OTEL_SERVICE_NAME={env.get('OTEL_SERVICE_NAME')!r}"


def test_every_image_is_pinned_by_a_variable_from_dotenv_and_never_latest(raw_compose, dotenv, services):
    for name, config in raw_compose["services"].items():
        image = config.get("image")
        assert image, f"{name}: no image (app services name the image they build)"
        match = IMAGE_PIN.fullmatch(image)
        assert match, f"{name}: image {image!r} is not name:${{VARIABLE}}"
        variable = match["var"]
        assert variable in dotenv, f"{name}: {variable} is not set in .env"
        tag = dotenv[variable]
        assert tag and tag != "latest", f"{name}: {variable}={tag!r}"
        assert services[name].config["image"] == f"{match['name']}:{tag}"


def test_dotenv_pins_every_image_of_the_stack(dotenv):
    for variable in (
        "PYTHON_IMAGE_TAG",
        "POSTGRES_IMAGE_TAG",
        "RABBITMQ_IMAGE_TAG",
        "REDIS_IMAGE_TAG",
        "JAEGER_IMAGE_TAG",
        "PROMETHEUS_IMAGE_TAG",
        "GRAFANA_IMAGE_TAG",
        "LOCUST_IMAGE_TAG",
        "NGINX_IMAGE_TAG",
    ):
        assert re.search(r"\d", dotenv.get(variable, "")), f".env: {variable} must pin a version"
    assert dotenv["PYTHON_IMAGE_TAG"].startswith("3.11"), "the services target Python 3.11"
    assert dotenv["JAEGER_IMAGE_TAG"].startswith("2."), "deploy/compose/jaeger.yaml is a Jaeger v2 config"
    assert "management" in dotenv["RABBITMQ_IMAGE_TAG"], "the Prometheus and management plugins need -management"


def test_the_app_image_is_tagged_with_the_projects_version(dotenv):
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert dotenv["TIENDA_VERSION"] == version


def test_the_app_image_is_built_once_from_the_dockerfile_with_the_pinned_python(app_services, dotenv):
    images = {service.config["image"] for service in app_services.values()}
    assert len(images) == 1, f"the app services should share one image, not {images}"
    for name, service in app_services.items():
        build = service.config["build"]
        assert build.get("dockerfile", "Dockerfile") == "Dockerfile", name
        assert build.get("args", {}).get("PYTHON_IMAGE_TAG") == dotenv["PYTHON_IMAGE_TAG"], name


def test_published_ports_are_bound_to_loopback_only(services):
    for name, service in services.items():
        for port, host_ip in service.published_ports.items():
            assert host_ip == "127.0.0.1", f"{name}: port {port} is published on {host_ip or 'every interface'}"


def test_no_service_of_the_shop_is_published_the_front_proxy_is_its_public_entry(app_services, services):
    published = {name for name, service in app_services.items() if service.published_ports}
    assert published == set(), "the shop is reached through the front proxy only"
    front = services["front"]
    assert front.config["image"].startswith("nginx:")
    assert set(front.published_ports) == {8000}
    assert front.environment["TIENDA_GATEWAY"] == f"gateway:{app_services['gateway'].gunicorn_port}"
    assert app_services["gateway"].environment["TRUSTED_PROXY_HOPS"] == "1"


def test_dotenv_marks_its_secrets_as_demo_only(dotenv):
    text = DOTENV.read_text()
    assert re.search(r"demo[- ]only", text, re.IGNORECASE), ".env must say its credentials are demo-only"
    for key in ("JWT_SECRET", "POSTGRES_PASSWORD", "TIENDA_DB_PASSWORD", "RABBITMQ_PASSWORD", "ADMIN_PASSWORD"):
        assert "demo" in dotenv[key].lower(), f".env: {key} must say in its value that it is a demo value"
