"""The image built for real (make image, podman) and the compose services run from it as containers against the
local PostgreSQL, RabbitMQ and Redis: the journey through the gateway container, the healthchecks, the user.

Run by .ci/image-test (make image-test), beside make test. The first run makes the stand-in base with
debootstrap (a few minutes, then cached); later runs rebuild only the layers that changed.
"""

from __future__ import annotations

import contextlib
import uuid

import pytest

from tests.support import image as harness
from tests.support.compose import memory_bytes, read_dotenv
from tests.support.databases import postgres_database
from tests.support.otlp import OtlpReceiver
from tests.support.procs import free_port
from tests.support.shop import Shop, bearer

# A build after a change to requirements.lock installs every wheel again (no cached layer): minutes on a slow host,
# past the suite's default 120 s per test, which the module's first test pays for in its fixture.
pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def image():
    harness.ensure_tools()
    harness.stand_in_base()
    seconds = harness.build_image()
    print(f"\nimage {harness.IMAGE}: built in {seconds:.0f} s, {harness.image_size() / 2**20:.0f} MiB")
    return harness.IMAGE


def start_order(services: dict) -> list[str]:
    """Compose's start order: each service after the app services it depends on."""
    ordered: list[str] = []

    def visit(name: str) -> None:
        if name in ordered or name not in services:
            return
        for dependency in services[name].config.get("depends_on") or {}:
            visit(dependency)
        ordered.append(name)

    for name in sorted(services):
        visit(name)
    return ordered


@pytest.fixture(scope="module")
def containers(image):
    """Every app service of docker-compose.yml in its container, on PostgreSQL, spans to a receiver here."""
    services = harness.compose_app_services()
    dotenv = read_dotenv()
    ports = {name: free_port() for name in services}
    grpc_port = free_port()
    local = {f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    prefix = f"tienda-image-{uuid.uuid4().hex[:6]}"
    receiver = OtlpReceiver().start()
    started: dict[str, harness.Container] = {}
    with contextlib.ExitStack() as stack:
        stack.callback(receiver.stop)
        try:
            for name in start_order(services):
                env = dict(services[name].environment)
                for key in env:
                    if key.endswith("_URL") and key in local:
                        env[key] = local[key]
                if "DATABASE_URL" in env:
                    env["DATABASE_URL"] = stack.enter_context(postgres_database(f"tienda_image_{name}"))
                if "AMQP_URL" in env:
                    env["AMQP_URL"] = "amqp://guest:guest@127.0.0.1:5672/%2F"
                if "REDIS_URL" in env:
                    env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
                if "PRODUCTS_GRPC_PORT" in env:  # products' gRPC server, on a free port of the host network too
                    env.update(PRODUCTS_GRPC_PORT=str(grpc_port), PRODUCTS_GRPC_HOST="127.0.0.1")
                if "PRODUCTS_GRPC_URL" in env:
                    env["PRODUCTS_GRPC_URL"] = f"grpc://127.0.0.1:{grpc_port}"
                env["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.endpoint
                container = harness.run_container(services[name], ports[name], env, prefix, image)
                started[name] = container
                container.wait_ready()
            yield started, receiver, dotenv
        finally:
            for container in reversed(list(started.values())):
                container.remove()


def test_the_image_runs_as_its_own_non_root_user_with_no_build_tools_left(image):
    identity = harness.in_image("id", "-u")
    assert identity.returncode == 0 and identity.stdout.strip() == "10001", identity.stdout + identity.stderr
    probe = harness.in_image(
        "python",
        "-c",
        "import shutil, sys, importlib.util; "
        f"print([t for t in {list(harness.BUILD_TOOLS)!r} if shutil.which(t)], importlib.util.find_spec('setuptools'))",
    )
    assert probe.returncode == 0, probe.stderr
    tools, setuptools = probe.stdout.strip().split(" ", 1)
    assert tools == "[]", f"build tools in the image: {tools}"
    assert setuptools == "None", "setuptools stayed in the service's venv"
    writable = harness.in_image("python", "-c", "open('/app/services/x', 'w')")
    assert writable.returncode != 0 and "Permission denied" in writable.stderr, "the source is writable by the service"


def test_without_database_url_a_service_starts_on_sqlite_under_a_read_only_root(image):
    services = harness.compose_app_services()
    products = services["products"]
    secrets = {key: value for key, value in read_dotenv().items() if key in ("JWT_SECRET", "INTERNAL_TOKEN_KEY")}
    env = {"TIENDA_ENV": "demo", **secrets, "OTEL_TRACES_EXPORTER": "none"}
    container = harness.run_container(products, free_port(), env, f"tienda-image-{uuid.uuid4().hex[:6]}", image)
    try:
        container.wait_ready()
        assert container.inspect()["HostConfig"]["ReadonlyRootfs"] is True
        assert "PermissionError" not in container.logs()
        # Ready means its database answered; the file is where the default puts it, written by the migrations.
        stored = harness.run(
            "podman", "exec", container.name, "stat", "-c", "%s %U", "/app/var/products.db", check=False
        )
        size, owner = stored.stdout.split()
        assert int(size) > 0 and owner == "tienda", stored.stdout + stored.stderr
    finally:
        container.remove()


def test_every_service_container_is_healthy_read_only_capless_non_root_and_within_its_memory(containers):
    started, _, _ = containers
    report = []
    for name, container in started.items():
        assert container.healthcheck() == 0, f"{name}: compose healthcheck failed\n{container.logs()[-2000:]}"
        info = container.inspect()
        host = info["HostConfig"]
        assert host["ReadonlyRootfs"] is True, name
        assert info["Config"]["User"] == "10001:10001", name
        assert not info.get("EffectiveCaps"), f"{name}: capabilities left {info.get('EffectiveCaps')}"
        limit = memory_bytes(container.service.config["mem_limit"])
        assert host["Memory"] == limit, name
        rss = container.rss_bytes()
        assert 0 < rss < limit, f"{name}: RSS {rss} against a limit of {limit}"
        report.append(f"{name} {rss / 2**20:.0f} MiB of {limit / 2**20:.0f} MiB")
    print("\nRSS in containers: " + ", ".join(report))


def test_a_customer_orders_and_cancels_through_the_gateway_container(containers):
    started, receiver, dotenv = containers
    shop = Shop(started, receiver, {})  # type: ignore[arg-type]
    shop._admin_token = shop.login(dotenv["ADMIN_EMAIL"], dotenv["ADMIN_PASSWORD"])
    product = shop.create_product(stock=5, price_cents=1999)
    _, token = shop.register("Grace")

    response = shop.order(token, [{"product_id": product["id"], "quantity": 2}])
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "confirmed" and order["total_cents"] == 3998
    assert shop.product(product["id"])["stock"] == 3
    details = shop.http.get(shop.url(f"/orders/{order['id']}/details"), headers=bearer(token), timeout=10).json()
    assert [p["status"] for p in details["payments"]] == ["completed"]

    cancelled = shop.http.post(shop.url(f"/orders/{order['id']}/cancel"), headers=bearer(token), timeout=30)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert shop.product(product["id"])["stock"] == 5

    spans = receiver.wait_for(lambda s: {"gateway", "orders", "payments", "products"} <= {x.service for x in s})
    assert {"gateway", "orders", "payments", "products", "users"} <= {span.service for span in spans}
