"""Synthetic shoppers for tienda: what ``make load`` runs against the gateway (``/api/v1``).

Run it with ``make load`` (``loadtest/run.py``: headless, HTML report and CSV under ``var/loadtest/``), or by hand::

    locust -f loadtest/locustfile.py --host http://127.0.0.1:8080            # web UI on :8089
    locust -f loadtest/locustfile.py --host http://127.0.0.1:8080 --headless -u 20 -r 2 -t 60s
    LOAD_SHAPE=spike LOAD_USERS=50 LOAD_DURATION=5m locust -f loadtest/locustfile.py --headless --host ...

Users, spawn rate and run time follow Locust's conventions (``-u``/``-r``/``-t`` or ``LOCUST_USERS``,
``LOCUST_SPAWN_RATE``, ``LOCUST_RUN_TIME``) unless ``LOAD_SHAPE`` picks a shape from ``shapes.py``
(``steady``, ``step``, ``spike``), which reads ``LOAD_USERS`` and ``LOAD_DURATION`` instead.

Who visits the shop (weights are relative: with 17 users, 10 browse, 4 buy, ...):

==============  ======  ==============================================================================
class           weight  journey
==============  ======  ==============================================================================
Browser         10      lists a page of the catalog, looks at one to three products
Buyer           4       signs in once, looks at 1-3 distinct products, orders them with the approving
                        card 4242424242424242, reads the order's details (order + payment)
UnluckyBuyer    1       signs in once, orders with 4000000000000002 (declined) and 4000000000009995
                        (insufficient funds) in turn: the 402 with the right error code is the success
Canceller       1       signs in once, orders, finds the order in its list, cancels it, reads it back
Scanner         1       probes paths that do not exist: a 404 with the JSON error body is the success
==============  ======  ==============================================================================

Customers sign in once, in ``on_start`` (again only when a sign-in failed or the token is about to expire), with
an account from a small shared pool or a freshly registered one. Every response is checked, status and body
(an order must come back ``confirmed`` with the items sent and integer totals, a decline must carry its code, ...),
and a response that fails a check is a failure in the statistics, with the reason.

Every request is named by its route (``/api/v1/products/[id]``, ``/api/v1/orders/[id]/details``), never by its
URL, and carries ``baggage: synthetic_request=true`` and an ``X-Request-ID`` starting with ``load-``, so the
shop's logs, traces and metrics can tell this traffic apart; the gateway must echo that id.

Stock is tended like a real operator would: product ids come from the catalog (read once, shared by all users);
whenever a response shows a product's stock below ``LOAD_RESTOCK_BELOW``, or an order is refused with 409
``insufficient_stock``, the user who saw it restocks the product up to ``LOAD_RESTOCK_TO`` through the admin
API (``POST /api/v1/products/{id}/restock``, with an admin token obtained once). A 409 counts as expected only
when that restock succeeded. Long runs therefore keep selling instead of turning into streams of 409s.

Environment (all optional):

``LOAD_ADMIN_EMAIL``, ``LOAD_ADMIN_PASSWORD``  the admin who restocks (default: the development admin
                                               ``admin@tienda.local`` / ``admin-password`` of ``make up``)
``LOAD_RESTOCK_BELOW``  restock a product seen with less stock than this (default 100; 0 restocks only on 409)
``LOAD_RESTOCK_TO``     stock level a restock aims for (default 1000; more than ``LOAD_RESTOCK_BELOW``)
``LOAD_ACCOUNT_POOL``   how many customer accounts are kept for reuse (default 20)
``LOAD_SHAPE``, ``LOAD_USERS``, ``LOAD_DURATION``  see ``shapes.py``
"""

from __future__ import annotations

import itertools
import json
import os
import random
import secrets
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

import gevent
import shapes  # a sibling module: Locust puts the locustfile's directory on sys.path
from gevent.lock import Semaphore
from locust import FastHttpUser, between, events, task
from locust.stats import CSV_STATS_INTERVAL_SEC

# --- what the traffic looks like ----------------------------------------------------------------------------

API = "/api/v1"
BAGGAGE = "synthetic_request=true"
REQUEST_ID_PREFIX = "load-"

# Request names: routes, never URLs.
PRODUCTS = f"{API}/products"
PRODUCT = f"{API}/products/[id]"
RESTOCK = f"{API}/products/[id]/restock"
USERS = f"{API}/users"
TOKEN = f"{API}/auth/token"
ME = f"{API}/users/me"
ORDERS = f"{API}/orders"
ORDER = f"{API}/orders/[id]"
CANCEL = f"{API}/orders/[id]/cancel"
DETAILS = f"{API}/orders/[id]/details"
UNKNOWN = "[unknown path]"

APPROVE = "4242424242424242"
#: The declining test cards and the error code each one must produce; each has its own request name.
DECLINES = (("4000000000000002", "card_declined"), ("4000000000009995", "insufficient_funds"))
CARD_EXPIRY = f"12/{(date.today().year + 3) % 100:02d}"
CURRENCY = "EUR"

#: Paths no route matches: what a scanner tries. (A GET on a route that exists for another method would be a 405.)
SCAN_PATHS = (
    "/.env",
    "/.git/config",
    "/wp-login.php",
    "/phpmyadmin/index.php",
    "/server-status",
    "/api/v2/products",
    "/api/v1/admin",
    "/api/v1/products/0",
    "/api/v1/products/not-a-number",
    "/api/v1/products/1/reviews",
    "/api/v1/orders/99999999999",
    "/api/v1/users/1/password",
)

#: Share of sign-ins that register a new account even when the pool is full (keeps registrations in the mix).
FRESH_ACCOUNT_SHARE = 0.25
#: Renew a token this long before it expires.
TOKEN_MARGIN_SECONDS = 60
#: After a failed admin sign-in, wait this long before trying again (no 401 floods with wrong credentials).
ADMIN_RETRY_SECONDS = 30


@dataclass(frozen=True)
class LoadSettings:
    """The locustfile's own environment variables (see the module docstring), read and checked once."""

    admin_email: str = "admin@tienda.local"
    admin_password: str = "admin-password"
    restock_below: int = 100
    restock_to: int = 1000
    account_pool: int = 20

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LoadSettings:
        env = os.environ if environ is None else environ

        def integer(name: str, default: int, minimum: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"{name} must be an integer, not {raw!r}") from None
            if value < minimum:
                raise ValueError(f"{name} must be at least {minimum}, not {value}")
            return value

        settings = cls(
            admin_email=env.get("LOAD_ADMIN_EMAIL", "").strip() or cls.admin_email,
            admin_password=env.get("LOAD_ADMIN_PASSWORD", "") or cls.admin_password,
            restock_below=integer("LOAD_RESTOCK_BELOW", cls.restock_below, 0),
            restock_to=integer("LOAD_RESTOCK_TO", cls.restock_to, 1),
            account_pool=integer("LOAD_ACCOUNT_POOL", cls.account_pool, 1),
        )
        if settings.restock_to <= settings.restock_below:
            raise ValueError(
                f"LOAD_RESTOCK_TO ({settings.restock_to}) must be more than "
                f"LOAD_RESTOCK_BELOW ({settings.restock_below})"
            )
        return settings


def new_request_id() -> str:
    """``load-`` and 12 hex digits: within the gateway's accepted ``[A-Za-z0-9._:-]{1,128}``."""
    return REQUEST_ID_PREFIX + uuid.uuid4().hex[:12]


# --- checks: each returns None when the answer is right, else the reason (which becomes the failure message) ------


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any  # the parsed JSON, or None
    request_id: str  # the X-Request-ID that was sent


Check = Callable[[Reply], "str | None"]


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def unexpected(reply: Reply, status: int) -> str | None:
    if reply.status == status:
        return None
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    code = f" {error.get('code')}" if isinstance(error, dict) else ""
    return f"HTTP {reply.status}{code}, expected {status}"


def error_problem(reply: Reply, status: int, code: str) -> str | None:
    """The project's error body: ``{"error": {"code", "message", "request_id"}}`` with the expected code."""
    if problem := unexpected(reply, status):
        return problem
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    if not isinstance(error, dict):
        return f"HTTP {status} without a JSON error body"
    if error.get("code") != code:
        return f"error code {error.get('code')!r}, expected {code!r}"
    if not isinstance(error.get("message"), str) or not error["message"]:
        return "error without a message"
    if error.get("request_id") != reply.request_id:
        return "error request_id is not the X-Request-ID sent"
    return None


def token_problem(reply: Reply) -> str | None:
    if problem := unexpected(reply, 200):
        return problem
    body = reply.body
    if not (isinstance(body, dict) and isinstance(body.get("access_token"), str) and body["access_token"]):
        return "no access_token"
    if body.get("token_type") != "bearer" or not is_int(body.get("expires_in")) or body["expires_in"] <= 0:
        return "token_type or expires_in wrong"
    return None


def user_problem(body: Any, email: str) -> str | None:
    if not isinstance(body, dict) or not is_int(body.get("id")):
        return "not a user"
    if body.get("email") != email.lower():
        return "user email differs from the account's"
    if body.get("role") not in ("user", "admin"):
        return f"unknown role {body.get('role')!r}"
    return None


def product_problem(body: Any, product_id: int | None = None) -> str | None:
    if not isinstance(body, dict) or not is_int(body.get("id")):
        return "not a product"
    if product_id is not None and body["id"] != product_id:
        return "product id differs from the one asked for"
    if not is_int(body.get("price_cents")) or body["price_cents"] <= 0:
        return "price_cents is not a positive integer"
    if not is_int(body.get("stock")) or body["stock"] < 0:
        return "stock is not a non-negative integer"
    if body.get("currency") != CURRENCY or not isinstance(body.get("name"), str):
        return "product currency or name wrong"
    return None


def page_problem(body: Any, limit: int, offset: int) -> str | None:
    """A page ``{items, total, limit, offset}``; the items are checked by ``item_problem``."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return "not a page"
    if body.get("limit") != limit or body.get("offset") != offset:
        return "page limit/offset differ from the query"
    if len(body["items"]) > limit or not is_int(body.get("total")) or body["total"] < len(body["items"]):
        return "page size or total wrong"
    return None


def product_page_problem(body: Any, limit: int, offset: int) -> str | None:
    if problem := page_problem(body, limit, offset):
        return problem
    return next(filter(None, map(product_problem, body["items"])), None)


def order_problem(body: Any, status: str, sent: set[tuple[int, int]], user_id: int | None) -> str | None:
    """An order with ``status``, exactly the ``(product_id, quantity)`` pairs sent, and consistent integer money."""
    if not isinstance(body, dict) or not is_int(body.get("id")):
        return "not an order"
    if body.get("status") != status:
        return f"order status {body.get('status')!r}, expected {status!r}"
    if user_id is not None and body.get("user_id") != user_id:
        return "order belongs to another user"
    items = body.get("items")
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        return "order without items"
    if {(item.get("product_id"), item.get("quantity")) for item in items} != sent or len(items) != len(sent):
        return "order items differ from those ordered"
    prices = [item.get("unit_price_cents") for item in items]
    if not all(is_int(price) and price > 0 for price in prices):
        return "unit_price_cents is not a positive integer"
    total = body.get("total_cents")
    if not is_int(total) or total != sum(price * item["quantity"] for price, item in zip(prices, items, strict=True)):
        return "total_cents is not the integer sum of the items"
    if body.get("currency") != CURRENCY or not is_int(body.get("payment_id")):
        return "order currency or payment_id wrong"
    return None


def details_problem(body: Any, order_id: int, sent: set[tuple[int, int]], user_id: int | None) -> str | None:
    """``{order, payments, partial}``: the confirmed order, complete, with its completed payment for the total."""
    if not isinstance(body, dict) or body.get("partial") is not False:
        return "details missing or partial"
    order = body.get("order")
    if problem := order_problem(order, "confirmed", sent, user_id):
        return problem
    if order["id"] != order_id:
        return "details of another order"
    payments = body.get("payments")
    if not isinstance(payments, list) or not payments:
        return "details without payments"
    for payment in payments:
        if (
            isinstance(payment, dict)
            and payment.get("status") == "completed"
            and payment.get("order_id") == order_id
            and is_int(payment.get("amount_cents"))
            and payment["amount_cents"] == order["total_cents"]
            and payment.get("card_last4") == APPROVE[-4:]
        ):
            return None
    return "no completed payment of the order total"


# --- what all users share: the catalog, the operator's stock keeping, the account pool ------------------------


@dataclass(frozen=True)
class Account:
    email: str
    password: str


class Shop:
    """The shared picture of the shop, one per test run (``test_start``), used by every user of the process.

    Users are gevent greenlets in one process: the plain data structures need no locks; the semaphores only keep
    two users from loading the catalog or signing the admin in at the same time.
    """

    def __init__(self, settings: LoadSettings) -> None:
        self.settings = settings
        self.stock: dict[int, int] = {}  # product id -> last stock seen; its keys are the catalog
        self.accounts: list[Account] = []
        self._catalog_loaded = False
        self._catalog_lock = Semaphore()
        self._due: set[int] = set()  # products seen below the threshold, not restocked yet
        self._restocking: set[int] = set()
        self._admin_lock = Semaphore()
        self._admin_token: str | None = None
        self._admin_token_until = 0.0
        self._admin_retry_at = 0.0

    # catalog ---------------------------------------------------------------------------------------------------

    def product_ids(self, user: ShopUser) -> list[int]:
        """The catalog's product ids, read page by page by the first user who needs them (retried if that fails)."""
        with self._catalog_lock:
            offset, limit = 0, 100
            while not self._catalog_loaded:
                reply = user.send(
                    "GET", f"{PRODUCTS}?limit={limit}&offset={offset}", name=PRODUCTS,
                    check=lambda r, o=offset: unexpected(r, 200) or product_page_problem(r.body, limit, o),
                )  # fmt: skip
                if reply is None:
                    break
                for product in reply.body["items"]:
                    self.observe(product)
                offset += limit
                self._catalog_loaded = offset >= reply.body["total"]
        return list(self.stock)

    def observe(self, product: dict[str, Any]) -> None:
        """Note a product's stock as a response showed it; below the threshold it is due for a restock."""
        product_id, stock = product["id"], product["stock"]
        self.stock[product_id] = stock
        if stock < self.settings.restock_below and product_id not in self._restocking:
            self._due.add(product_id)

    # the operator ----------------------------------------------------------------------------------------------

    def restock_due(self, user: ShopUser) -> None:
        """Restock, as ``user``, every product seen running low since the last call."""
        due, self._due = self._due, set()
        for product_id in due:
            self.restock(user, product_id, self.settings.restock_to - self.stock.get(product_id, 0))

    def after_shortage(self, user: ShopUser, reply: Reply) -> str | None:
        """Check for an order's 409 ``insufficient_stock``: expected only once the short products are restocked."""
        if problem := error_problem(reply, 409, "insufficient_stock"):
            return problem
        details = reply.body["error"].get("details")
        shortages = [(d.get("product_id"), d.get("available")) for d in details or () if isinstance(d, dict)]
        if not shortages or not all(is_int(pid) and is_int(available) for pid, available in shortages):
            return "insufficient_stock without product_id/available details"
        restocked = [self.restock(user, pid, self.settings.restock_to - available) for pid, available in shortages]
        return None if all(restocked) else "insufficient_stock and no restock followed"

    def restock(self, user: ShopUser, product_id: int, quantity: int) -> bool:
        """Add ``quantity`` (at least 1) to a product's stock through the admin API; True when it worked."""
        token = self.admin_token(user)
        if token is None:
            return False
        quantity = max(1, quantity)

        def check(reply: Reply) -> str | None:
            if reply.status in (401, 403):
                self._admin_token = None  # expired or not an admin: sign in again (after the retry delay)
                self._admin_retry_at = time.monotonic() + ADMIN_RETRY_SECONDS
            return unexpected(reply, 200) or product_problem(reply.body, product_id)

        self._restocking.add(product_id)
        try:
            reply = user.send(
                "POST", f"{API}/products/{product_id}/restock", name=RESTOCK, token=token,
                body={"quantity": quantity}, check=check,
            )  # fmt: skip
        finally:
            self._restocking.discard(product_id)
        if reply is None:
            return False
        self.observe(reply.body)
        return True

    def admin_token(self, user: ShopUser) -> str | None:
        """The admin's bearer token: obtained once (renewed before it expires), None while signing in fails."""
        with self._admin_lock:
            now = time.monotonic()
            if self._admin_token is not None and now < self._admin_token_until:
                return self._admin_token
            if now < self._admin_retry_at:
                return None
            credentials = {"email": self.settings.admin_email, "password": self.settings.admin_password}
            reply = user.send("POST", f"{API}/auth/token", name=TOKEN, body=credentials, check=token_problem)
            if reply is None:
                self._admin_retry_at = now + ADMIN_RETRY_SECONDS
                return None
            self._admin_token = reply.body["access_token"]
            self._admin_token_until = now + reply.body["expires_in"] - TOKEN_MARGIN_SECONDS
            return self._admin_token

    # accounts --------------------------------------------------------------------------------------------------

    def account(self, user: ShopUser) -> Account | None:
        """An account to sign in with: one from the pool, or a new one registered by ``user`` (None if that failed)."""
        pool = self.accounts
        if len(pool) >= self.settings.account_pool and random.random() >= FRESH_ACCOUNT_SHARE:
            return random.choice(pool)
        account = Account(f"load-{uuid.uuid4().hex[:16]}@loadtest.tienda.test", secrets.token_urlsafe(12))
        body = {"email": account.email, "password": account.password, "name": "Load Tester"}
        reply = user.send(
            "POST", f"{API}/users", name=USERS, body=body,
            check=lambda r: unexpected(r, 201) or user_problem(r.body, account.email),
        )  # fmt: skip
        if reply is None:
            return None
        if len(pool) < self.settings.account_pool:
            pool.append(account)
        else:
            pool[random.randrange(len(pool))] = account
        return account


SETTINGS = LoadSettings.from_env()  # a malformed variable stops Locust here, before any user starts


@events.test_start.add_listener
def _new_shop(environment, **_kwargs) -> None:
    ShopUser.shop = Shop(SETTINGS)


@events.test_stop.add_listener
def _let_csv_catch_up(environment, **_kwargs) -> None:
    """With ``--csv``, Locust rewrites its stats file every ``CSV_STATS_INTERVAL_SEC`` and only closes it at exit:
    waiting one interval after the users stopped makes the file hold the final numbers, as the printed table does."""
    options = environment.parsed_options
    if options is not None and getattr(options, "csv_prefix", None):
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.25)


# --- the users ----------------------------------------------------------------------------------------------


class ShopUser(FastHttpUser):
    """Sends checked, route-named, load-marked requests (:meth:`send`); shares :class:`Shop` with the others."""

    abstract = True
    shop: ClassVar[Shop]
    connection_timeout = 10.0
    network_timeout = 30.0

    def send(
        self,
        method: str,
        path: str,
        *,
        name: str,
        check: Check,
        token: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply | None:
        """Send one request and record it as a success only if the answer passes ``check`` (and echoes our
        X-Request-ID); returns the checked :class:`Reply`, or None when the request failed."""
        request_id = new_request_id()
        all_headers = {"baggage": BAGGAGE, "X-Request-ID": request_id, **(headers or {})}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        with self.client.request(
            method, path, name=name, headers=all_headers, json=body, catch_response=True
        ) as response:
            if not response.status_code:
                response.failure(f"no answer: {type(getattr(response, 'error', None)).__name__}")
                return None
            if response.headers.get("X-Request-ID") != request_id:
                response.failure("X-Request-ID not echoed")
                return None
            try:
                parsed = json.loads(response.content) if response.content else None
            except ValueError:
                response.failure(f"HTTP {response.status_code} with a body that is not JSON")
                return None
            reply = Reply(response.status_code, parsed, request_id)
            problem = check(reply)
            if problem:
                response.failure(problem)
                return None
            response.success()
            return reply

    def view_product(self, product_id: int) -> dict[str, Any] | None:
        reply = self.send(
            "GET", f"{API}/products/{product_id}", name=PRODUCT,
            check=lambda r: unexpected(r, 200) or product_problem(r.body, product_id),
        )  # fmt: skip
        if reply is None:
            return None
        self.shop.observe(reply.body)
        return reply.body


class Browser(ShopUser):
    """Anonymous window shopping: a page of the catalog, then one to three of its products."""

    weight = 10
    wait_time = between(1, 3)

    @task
    def browse(self) -> None:
        catalog = self.shop.product_ids(self)
        limit = random.choice((4, 8, 12, 20))
        offset = random.randrange(0, max(1, len(catalog)), limit)
        reply = self.send(
            "GET", f"{PRODUCTS}?limit={limit}&offset={offset}", name=PRODUCTS,
            check=lambda r: unexpected(r, 200) or product_page_problem(r.body, limit, offset),
        )  # fmt: skip
        if reply is None:
            return
        for product in reply.body["items"]:
            self.shop.observe(product)
        seen = [product["id"] for product in reply.body["items"]] or catalog
        for product_id in random.sample(seen, min(len(seen), random.randint(1, 3))):
            self.view_product(product_id)
        self.shop.restock_due(self)


class Customer(ShopUser):
    """A signed-in shopper: signs in once in ``on_start`` and places orders."""

    abstract = True
    token: str | None = None
    token_until = 0.0
    user_id: int | None = None

    def on_start(self) -> None:
        self.sign_in()

    def signed_in(self) -> bool:
        """True with a valid token; signs in again only if the first sign-in failed or the token is about to expire."""
        if self.token is None or time.monotonic() >= self.token_until:
            self.sign_in()
        return self.token is not None

    def sign_in(self) -> None:
        self.token = None
        account = self.shop.account(self)
        if account is None:
            return
        credentials = {"email": account.email, "password": account.password}
        reply = self.send("POST", f"{API}/auth/token", name=TOKEN, body=credentials, check=token_problem)
        if reply is None:
            return
        token, until = reply.body["access_token"], time.monotonic() + reply.body["expires_in"] - TOKEN_MARGIN_SECONDS
        me = self.send(
            "GET", f"{API}/users/me", name=ME, token=token,
            check=lambda r: unexpected(r, 200) or user_problem(r.body, account.email),
        )  # fmt: skip
        if me is not None:
            self.token, self.token_until, self.user_id = token, until, me.body["id"]

    def pick_products(self, most: int) -> list[int]:
        """1..``most`` distinct product ids from the catalog to order, signed in; empty while the user cannot sign
        in or the catalog cannot be read."""
        if not self.signed_in():
            return []
        catalog = self.shop.product_ids(self)
        return random.sample(catalog, random.randint(1, min(most, len(catalog)))) if catalog else []

    def order(self, items: list[dict[str, int]], card: str, *, name: str, check: Check) -> Reply | None:
        payment = {"card_number": card, "expiry": CARD_EXPIRY, "cvc": "123"}
        return self.send(
            "POST", f"{API}/orders", name=name, token=self.token, body={"items": items, "payment": payment},
            headers={"Idempotency-Key": f"load-{uuid.uuid4().hex}"}, check=check,
        )  # fmt: skip

    def buy(self, items: list[dict[str, int]]) -> dict[str, Any] | None:
        """Order ``items`` with the approving card: the confirmed order, or None (failure, or a shortage restocked)."""
        sent = {(item["product_id"], item["quantity"]) for item in items}

        def check(reply: Reply) -> str | None:
            if reply.status == 409:
                return self.shop.after_shortage(self, reply)
            return unexpected(reply, 201) or order_problem(reply.body, "confirmed", sent, self.user_id)

        reply = self.order(items, APPROVE, name=ORDERS, check=check)
        return reply.body if reply is not None and reply.status == 201 else None


def order_lines(product_ids: list[int]) -> list[dict[str, int]]:
    return [{"product_id": product_id, "quantity": random.randint(1, 2)} for product_id in product_ids]


def sent_items(order: dict[str, Any]) -> set[tuple[int, int]]:
    return {(item["product_id"], item["quantity"]) for item in order["items"]}


class Buyer(Customer):
    """Looks at 1-3 products, orders them with the approving card, reads the order's details."""

    weight = 4
    wait_time = between(1, 3)

    @task
    def shop_and_buy(self) -> None:
        if not (product_ids := self.pick_products(3)):
            return
        for product_id in product_ids:
            self.view_product(product_id)
        order = self.buy(order_lines(product_ids))
        if order is not None:
            order_id, sent = order["id"], sent_items(order)
            self.send(
                "GET", f"{API}/orders/{order_id}/details", name=DETAILS, token=self.token,
                check=lambda r: unexpected(r, 200) or details_problem(r.body, order_id, sent, self.user_id),
            )  # fmt: skip
        self.shop.restock_due(self)


class UnluckyBuyer(Customer):
    """Orders with the declining cards in turn; the 402 with the card's error code is the expected answer."""

    weight = 1
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.declines = itertools.cycle(DECLINES)
        super().on_start()

    @task
    def try_to_buy(self) -> None:
        if not (product_ids := self.pick_products(2)):
            return
        self.view_product(product_ids[0])
        card, code = next(self.declines)

        def check(reply: Reply) -> str | None:
            if reply.status == 409:  # the stock check comes before the charge
                return self.shop.after_shortage(self, reply)
            return error_problem(reply, 402, code)

        self.order(order_lines(product_ids), card, name=f"{ORDERS} ({code})", check=check)
        self.shop.restock_due(self)


class Canceller(Customer):
    """Orders, finds the order in its list, cancels it (refund and restock), reads it back cancelled."""

    weight = 1
    wait_time = between(2, 4)

    @task
    def order_and_cancel(self) -> None:
        if not (product_ids := self.pick_products(2)):
            return
        order = self.buy(order_lines(product_ids))
        if order is None:
            return
        order_id, sent = order["id"], sent_items(order)

        def listed(reply: Reply) -> str | None:
            if problem := unexpected(reply, 200) or page_problem(reply.body, 20, 0):
                return problem
            if any(not isinstance(o, dict) or o.get("user_id") != self.user_id for o in reply.body["items"]):
                return "orders of another user listed"
            return None if any(o.get("id") == order_id for o in reply.body["items"]) else "new order not listed"

        self.send("GET", f"{API}/orders?limit=20&offset=0", name=ORDERS, token=self.token, check=listed)
        cancelled = self.send(
            "POST", f"{API}/orders/{order_id}/cancel", name=CANCEL, token=self.token,
            check=lambda r: unexpected(r, 200) or order_problem(r.body, "cancelled", sent, self.user_id),
        )  # fmt: skip
        if cancelled is not None:
            self.send(
                "GET", f"{API}/orders/{order_id}", name=ORDER, token=self.token,
                check=lambda r: unexpected(r, 200) or order_problem(r.body, "cancelled", sent, self.user_id),
            )  # fmt: skip


class Scanner(ShopUser):
    """Probes paths that do not exist, as bots do; a 404 with the JSON error body is the expected answer."""

    weight = 1
    wait_time = between(2, 5)

    @task
    def probe(self) -> None:
        self.send("GET", random.choice(SCAN_PATHS), name=UNKNOWN, check=lambda r: error_problem(r, 404, "not_found"))


#: The shape named by LOAD_SHAPE, or None (no shape: -u/-r/-t rule). Locust runs any LoadTestShape subclass it finds
#: in this module, so this is the only place one may appear.
LoadShape = shapes.shape_from_env()
