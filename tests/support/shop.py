"""The whole shop as real gunicorn processes (one per service), exporting spans to a real OTLP receiver."""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError

from tests.support.auth import ADMIN as ADMIN_TOKEN
from tests.support.databases import databases
from tests.support.otlp import OtlpReceiver, exporting_to
from tests.support.procs import Service, free_port, stop_together

SHOP = ("users", "products", "payments", "orders", "gateway")
#: The shop with notifications (give it, orders and payments an ``AMQP_URL`` through ``extra_env``).
EVENTS_SHOP = ("users", "products", "payments", "orders", "notifications", "gateway")
JWT_SECRET = "e2e-secret-" + "x" * 32
ADMIN = {"email": "admin@e2e.test", "password": "admin-password-123"}
APPROVE, DECLINE, NO_FUNDS = "4242424242424242", "4000000000000002", "4000000000009995"
_emails = itertools.count()
#: How long a shop's services, booting together, may take to answer: each competes with the others for the CPU.
START_SECONDS = 60.0
#: Every test shop's users hashes passwords cheaply: its tests register and sign in customers by the dozen, and
#: hashing at production cost (about half a second of CPU per registration and sign-in) is not what they test;
#: tests/unit/users/test_passwords.py holds the production defaults.
CHEAP_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST": "1024", "ARGON2_PARALLELISM": "1"}
#: The per-address limits of a test shop's gateway; the per-account ones keep their defaults.
SHOP_THROTTLE = {"THROTTLE_LOGIN_PER_ADDRESS": "1000 per minute", "THROTTLE_REGISTER_PER_ADDRESS": "1000 per minute"}


IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


class ResendOnReset(HTTPAdapter):
    """Sends an idempotent request (GET, PUT, DELETE, ...) once more, on a new connection, when its connection was
    reset or closed before any answer. gunicorn closes a keep-alive connection idle for its ``keepalive`` seconds,
    and a process killed and restarted on the same port leaves the pool's connections to it dead: a request sent
    on one just then is lost unanswered, which says nothing of the shop. A timeout is not resent."""

    def send(self, request, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return super().send(request, *args, **kwargs)
        except requests.ConnectionError as exc:
            reason = exc.args[0] if exc.args else None
            if request.method not in ("GET", "HEAD", "PUT", "DELETE", "OPTIONS") or not isinstance(
                reason, ProtocolError
            ):
                raise
            return super().send(request, *args, **kwargs)


def session() -> requests.Session:
    """A session whose idempotent requests survive a reset keep-alive connection (:class:`ResendOnReset`)."""
    http = requests.Session()
    http.mount("http://", ResendOnReset())
    return http


class Shop:
    """A running shop: ``services`` are its processes by name, ``entries`` where each service is reached (by
    default the process of that name; a replicated shop's are its proxies, tests/support/replicas.py)."""

    def __init__(
        self,
        services: dict[str, Service],
        receiver: OtlpReceiver,
        databases: dict[str, str],
        entries: dict[str, str] | None = None,
    ):
        self.services = services
        self.receiver = receiver
        self.databases = databases  # each service's DATABASE_URL, for tests that read or break the state
        self.entries = entries or {name: service.url for name, service in services.items()}
        self.api = self.entries["gateway"] + "/api/v1"
        self.http = session()
        self.restarts: dict[str, int] = {}
        self._admin_token: str | None = None

    def url(self, path: str) -> str:
        return self.api + path

    def register(self, name: str = "Ada") -> tuple[dict, str]:
        """A new user and their bearer token."""
        email = f"user{next(_emails)}-{uuid.uuid4().hex[:6]}@e2e.test"
        password = "correct horse battery"
        r = self.http.post(self.url("/users"), json={"email": email, "password": password, "name": name}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json(), self.login(email, password)

    def login(self, email: str, password: str) -> str:
        r = self.http.post(self.url("/auth/token"), json={"email": email, "password": password}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def admin_token(self) -> str:
        if self._admin_token is None:
            self._admin_token = self.login(ADMIN["email"], ADMIN["password"])
        return self._admin_token

    def create_product(self, stock: int, price_cents: int = 1250) -> dict:
        sku = f"E2E-{uuid.uuid4().hex[:10]}"
        body = {"sku": sku, "name": f"Product {sku}", "description": "e2e", "price_cents": price_cents,
                "currency": "EUR", "stock": stock}  # fmt: skip
        r = self.http.post(self.url("/products"), json=body, headers=bearer(self.admin_token()), timeout=10)
        assert r.status_code == 201, r.text
        return r.json()

    def product(self, product_id: int) -> dict:
        return self.http.get(self.url(f"/products/{product_id}"), timeout=10).json()

    def order(
        self, token: str, items: list[dict], card: str = APPROVE, *, api: str | None = None, **headers
    ) -> requests.Response:
        """Place an order through the shop's gateway, or through the gateway at ``api`` (one replica's)."""
        body = {"items": items, "payment": {"card_number": card, "expiry": "12/30", "cvc": "123"}}
        url = (api or self.api) + "/orders"
        return self.http.post(url, json=body, headers={**bearer(token), **headers}, timeout=30)

    def logs(self, name: str) -> list[dict]:
        lines = []
        for line in self.services[name].log_lines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def kill(self, name: str) -> None:
        """SIGKILL the service (worker and master), as a crash would."""
        self.services[name].kill()

    def restart(self, name: str) -> Service:
        """Start the service again on its port, logging to a new file (the old log stays for reading)."""
        old = self.services[name]
        old.stop()  # a killed one only has its log closed
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self.services[name] = old.restarted(old.log_path.with_name(f"{name}.restart{self.restarts[name]}.log"))
        return self.services[name]

    def replicas(self, name: str) -> list[Service]:
        """The processes of service ``name``: itself here, each of its replicas in a replicated shop."""
        return [self.services[name]]

    def set_faults(self, name: str, rules: list[dict]) -> None:
        """Replace the fault rules of one service, every replica of it (``PUT /admin/faults`` as an admin,
        docs/faults.md)."""
        for replica in self.replicas(name):
            r = self.http.put(replica.url + "/admin/faults", json={"faults": rules}, headers=ADMIN_TOKEN, timeout=10)
            assert r.status_code == 200, r.text

    def clear_faults(self, name: str) -> None:
        for replica in self.replicas(name):
            r = self.http.delete(replica.url + "/admin/faults", headers=ADMIN_TOKEN, timeout=10)
            assert r.status_code == 200, r.text


def service_env(
    name: str, urls: dict[str, str], database_url: str, receiver: OtlpReceiver, extra: dict[str, str]
) -> dict[str, str]:
    """The environment of a test shop's service ``name``: where the others are (``urls``, ``*_URL`` by name), its
    database, the spans to ``receiver``, and ``extra`` laid over it."""
    env = {
        **urls,
        "DATABASE_URL": database_url,
        "JWT_SECRET": JWT_SECRET,
        "TIENDA_ENV": "test",
        **exporting_to(receiver.endpoint),
        "LOG_LEVEL": "INFO",
    }
    if name == "users":
        env.update({"ADMIN_EMAIL": ADMIN["email"], "ADMIN_PASSWORD": ADMIN["password"], **CHEAP_HASHING})
    if name == "gateway":  # every test client is 127.0.0.1: one address registering many accounts
        env.update(SHOP_THROTTLE)
    return env | extra


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.contextmanager
def running_shop(
    db_kind: str,
    tmp_path,
    receiver: OtlpReceiver,
    extra_env: dict[str, dict[str, str]] | None = None,
    names: tuple[str, ...] = SHOP,
):
    """The services ``names`` on ``db_kind`` databases; ``extra_env`` adds variables per service
    (``{"orders": {...}}``). The databases are created and the services booted side by side: none needs another at
    start-up (each calls the others on demand, by the URLs they are all given)."""
    ports = {name: free_port() for name in names}
    urls = {f"{name.upper()}_URL": f"http://127.0.0.1:{port}" for name, port in ports.items()}
    started: dict[str, Service] = {}
    with databases(db_kind, tmp_path, names) as database_urls:
        try:
            for name in names:
                env = service_env(name, urls, database_urls[name], receiver, (extra_env or {}).get(name, {}))
                started[name] = Service(
                    f"services.{name}.app:create_app()",
                    env=env,
                    log_path=tmp_path / f"{name}.log",
                    port=ports[name],
                    start_timeout=START_SECONDS,
                    wait=False,
                )
            for service in started.values():
                service.wait_until_ready()
            yield Shop(started, receiver, database_urls)
        finally:
            stop_together(reversed(started.values()))
