"""The environment compose gives each Python service against what the code reads and requires.

The list of variables the code reads is computed from the source (services/, telemetry/, gunicorn.conf.py)
plus the OpenTelemetry SDK's own list, so a renamed or removed variable shows up here, not in production.
"""

from __future__ import annotations

from tests.support.compose import env_names_read_by_code, settings_fields_used

SERVICE_URL_FIELDS = ("products_url", "orders_url", "payments_url", "users_url")


def test_the_list_of_variables_read_by_the_code_is_computed_from_the_source():
    names = env_names_read_by_code()
    # Sanity of the computation itself: one variable from each place it looks.
    assert {"JWT_SECRET", "DATABASE_URL", "TIENDA_ENV", "LOG_LEVEL", "GUNICORN_THREADS", "ADMIN_EMAIL"} <= names
    assert {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME", "OTEL_TRACES_SAMPLER"} <= names


def test_every_variable_given_to_an_app_service_is_one_the_code_reads(app_services):
    known = env_names_read_by_code()
    for name, service in app_services.items():
        unknown = sorted(set(service.environment) - known)
        assert not unknown, f"{name} is given variables no code reads: {unknown}"


def test_every_app_service_gets_a_jwt_secret_outside_development(app_services):
    for name, service in app_services.items():
        env = service.environment
        assert env.get("TIENDA_ENV") in ("test", "demo", "production"), f"{name}: TIENDA_ENV={env.get('TIENDA_ENV')!r}"
        assert env.get("JWT_SECRET"), f"{name}: JWT_SECRET is required outside development"


def test_every_service_that_opens_a_database_is_given_its_database_url(app_services):
    for name, service in app_services.items():
        if "database_url" in settings_fields_used(name):
            assert service.environment.get("DATABASE_URL", "").startswith("postgresql"), f"{name}: DATABASE_URL"
        else:
            assert "DATABASE_URL" not in service.environment, f"{name} opens no database"


def test_every_app_service_is_given_the_address_of_each_service_it_calls(app_services):
    for name, service in app_services.items():
        called = settings_fields_used(name) & set(SERVICE_URL_FIELDS)
        for field in called:
            variable = field.upper()
            target = field.removesuffix("_url")
            assert variable in service.environment, f"{name} calls {target} but has no {variable}"
            assert service.environment[variable] == f"http://{target}:{app_services[target].gunicorn_port}"
            depends = (service.config.get("depends_on") or {}).get(target) or {}
            assert depends.get("condition") == "service_healthy", f"{name} must wait for {target}"
        given = {key for key in service.environment if key.lower() in SERVICE_URL_FIELDS}
        assert given == {field.upper() for field in called}, f"{name}: given {sorted(given)}, calls {sorted(called)}"


def test_every_app_services_environment_passes_the_services_own_validation(app_services):
    from services.common.settings import Settings
    from telemetry.config import TelemetryConfig

    for name, service in app_services.items():
        env = service.environment
        settings = Settings.from_env(name, env)  # raises ConfigError naming the variable
        assert settings.environment == env["TIENDA_ENV"]
        assert settings.jwt_secret == env["JWT_SECRET"]
        config = TelemetryConfig.from_env(name, env)
        assert config.service_name == name
        assert config.otlp_protocol == "http/protobuf"
        assert config.environment == config.resource_attributes["deployment.environment.name"]


def test_all_services_share_one_jwt_secret_so_the_gateway_accepts_the_tokens_users_issues(app_services):
    secrets = {service.environment["JWT_SECRET"] for service in app_services.values()}
    assert len(secrets) == 1


def test_the_users_service_creates_the_admin_the_load_test_restocks_with(app_services, services):
    from services.users.app import admin_credentials

    users_env = app_services["users"].environment
    admin = admin_credentials({}, users_env)
    assert admin is not None, "users needs ADMIN_EMAIL and ADMIN_PASSWORD: there is no other admin in compose"
    email, password = admin
    assert 8 <= len(password) <= 128, "the users service refuses admin passwords outside 8..128 characters"
    locust = next(s for s in services.values() if s.config.get("image", "").startswith("locustio/locust:"))
    assert locust.environment.get("LOAD_ADMIN_EMAIL") == email
    assert locust.environment.get("LOAD_ADMIN_PASSWORD") == password


def test_the_users_service_hashes_one_password_at_a_time_within_its_memory_limit(app_services):
    # argon2-cffi's default profile allocates 64 MiB per hash; a service idles near 100 MiB (measured).
    import argon2

    users = app_services["users"]
    threads = int(users.environment.get("GUNICORN_THREADS", "8"))
    per_hash = argon2.PasswordHasher().memory_cost * 1024
    assert 100 * 1024**2 + threads * per_hash <= users.mem_limit, (
        f"users: {threads} threads hashing at once need more than its {users.mem_limit // 1024**2} MiB"
    )
