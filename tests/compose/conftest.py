"""Fixtures of the compose tests: the compose file as written (raw YAML and its node graph, anchors intact)
and as docker-compose resolves it (``.env`` interpolated, merge keys applied).

A missing docker-compose is a failure with the install command, never a skip: CI installs it.
"""

from __future__ import annotations

import pytest
import yaml

from tests.support.compose import COMPOSE_FILE, ComposeUnavailable, Service, read_dotenv, run_compose


@pytest.fixture(scope="session")
def dotenv() -> dict[str, str]:
    return read_dotenv()


@pytest.fixture(scope="session")
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


@pytest.fixture(scope="session")
def raw_compose(compose_text) -> dict:
    """The file as written: ``${VAR}`` not interpolated (anchors and merges are applied by YAML)."""
    return yaml.safe_load(compose_text)


@pytest.fixture(scope="session")
def compose_nodes(compose_text) -> yaml.MappingNode:
    """The YAML node graph: an alias is the very node its anchor names, so anchor use can be checked."""
    return yaml.compose(compose_text, Loader=yaml.SafeLoader)


@pytest.fixture(scope="session")
def resolved_compose() -> dict:
    """``docker-compose config``: what Compose will actually run."""
    try:
        result = run_compose("config")
    except ComposeUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    if result.returncode != 0:
        pytest.fail(f"docker-compose config failed:\n{result.stderr}", pytrace=False)
    return yaml.safe_load(result.stdout)


@pytest.fixture(scope="session")
def services(resolved_compose) -> dict[str, Service]:
    return {name: Service(name, config) for name, config in resolved_compose["services"].items()}


@pytest.fixture(scope="session")
def app_services(services) -> dict[str, Service]:
    apps = {name: service for name, service in services.items() if service.is_app}
    assert apps, "no service is built from the Dockerfile"
    return apps
