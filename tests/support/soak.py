"""The chaos soak: customers order and cancel while a driver breaks products and payments at random.

:class:`Soak` runs, against one :class:`~tests.support.chaos.FaultShop`:

* ``clients`` customer threads, each with its own account, placing orders of one or two products (mostly with a
  card that approves, some that decline) with an ``Idempotency-Key`` and the fault tests' deadline budget, and
  cancelling about a third of those confirmed;
* a driver that, after a quiet spell, sets one to three random fault rules (any kind, any ratio, on the saga's
  routes) on products or payments for a few seconds, and every third time instead SIGKILLs one of ``crashes``
  (products and payments by default; in turn) at whatever moment it is in and restarts it;
* a monitor that reads the orders every half second to time how long the orders left unfinished by each episode
  take to finish, and runs the audit now and then while the chaos goes on.

When the time is up the clients stop, the driver ends its episode, and the soak waits until every order is
terminal and the audit finds nothing. Then every customer replays the answers that were not 201 with their keys,
and the soak checks that what each was told agrees with the orders they hold. :class:`Figures` says what
happened.
"""

from __future__ import annotations

import contextlib
import itertools
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

import requests

from services.common.errors import DomainError
from tests.support.chaos import (
    BUDGET_SECONDS,
    HEAL_BOUND_SECONDS,
    STEPS,
    FaultShop,
    budget,
    faults_injected,
    log_records,
    recoveries,
    scrape,
    shop_logs,
)
from tests.support.shop import APPROVE, DECLINE, NO_FUNDS, bearer

PRODUCTS, STOCK = 6, 150
BROKEN = ("products", "payments")
AUDIT_EVERY_SECONDS = 3.0


@dataclass
class Attempt:
    """One order a customer sent, what they were told, and what a replay with its key said after the soak."""

    token: str
    key: str
    items: list[dict]
    card: str
    status: int  # 0: no answer at all
    order_id: int | None = None
    cancel_status: int | None = None
    replay_status: int | None = None


@dataclass
class Episode:
    what: str
    ended: float
    unfinished: set[str] | None = None
    healed_after: float | None = None


@dataclass
class Figures:
    database: str
    seconds: float
    seed: int
    orders_placed: int = 0
    answers: dict[str, int] = field(default_factory=dict)
    confirmed: int = 0
    failed: int = 0
    cancelled: int = 0
    cancels_sent: int = 0
    compensations: dict[str, int] = field(default_factory=dict)
    faults_injected: int = 0
    fault_episodes: int = 0
    kills: int = 0
    recoveries: int = 0
    payments_reconciled: int = 0
    longest_heal_seconds: float = 0.0
    final_heal_seconds: float = 0.0
    violations: list[str] = field(default_factory=list)
    live_violations: list[str] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


def _rule(rng: random.Random, target: str) -> dict:
    kind = rng.choice(("latency", "error", "hang", "drop"))
    rule: dict = {"target": target, "fault": kind, "ratio": round(rng.uniform(0.3, 1.0), 2)}
    if kind == "latency":
        rule |= {"delay_seconds": round(rng.uniform(0.3, BUDGET_SECONDS * 2), 2), "jitter_seconds": 0.3}
    elif kind == "error":
        rule["status"] = rng.choice((500, 503))
    elif kind == "hang":
        rule["hang_seconds"] = round(rng.uniform(1.0, 4.0), 2)
    return rule


class Soak:
    def __init__(
        self, fs: FaultShop, *, seconds: float, seed: int, clients: int = 8, crashes: tuple[str, ...] = BROKEN
    ) -> None:
        self.fs, self.shop, self.audit = fs, fs.shop, fs.audit
        self.seconds, self.seed, self.clients = seconds, seed, clients
        self.crashes = crashes  # the processes the driver kills, in turn (a replicated shop's: one replica)
        self.rng = random.Random(seed)
        self.stop = threading.Event()
        self.driver_done = threading.Event()
        self.done = threading.Event()
        self.attempts: list[Attempt] = []
        self.episodes: list[Episode] = []
        self.live_violations: set[str] = set()
        self.errors: list[BaseException] = []
        self.lock = threading.Lock()
        self.kills = 0
        self.fault_episodes = 0

    # The threads -----------------------------------------------------------------------------------------------

    def _guarded(self, job: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                job()
            except BaseException as exc:  # reported by run(): a thread that dies must fail the soak
                self.errors.append(exc)
                self.stop.set()

        return run

    def _customer(self, token: str, products: list[int], rng: random.Random) -> None:
        while not self.stop.is_set():
            chosen = rng.sample(products, rng.choice((1, 1, 2)))
            items = [{"product_id": p, "quantity": rng.randint(1, 3)} for p in chosen]
            card = rng.choices((APPROVE, DECLINE, NO_FUNDS), weights=(8, 1, 1))[0]
            attempt = Attempt(token, uuid.uuid4().hex, items, card, 0)
            try:
                r = self.shop.order(token, items, card=card, **{"Idempotency-Key": attempt.key}, **budget())
                attempt.status = r.status_code
                if r.status_code == 201:
                    attempt.order_id = r.json()["id"]
            except requests.RequestException:
                pass
            with self.lock:
                self.attempts.append(attempt)
            if attempt.order_id is not None and rng.random() < 0.35:
                url = self.shop.url(f"/orders/{attempt.order_id}/cancel")
                attempt.cancel_status = 0
                with contextlib.suppress(requests.RequestException):
                    attempt.cancel_status = self.shop.http.post(
                        url, headers={**bearer(token), **budget()}, timeout=30
                    ).status_code

    def _episode(self, what: str) -> None:
        with self.lock:
            self.episodes.append(Episode(what, time.monotonic()))

    def _driver(self) -> None:
        rng = self.rng
        try:
            for n in itertools.count():
                if self.stop.wait(rng.uniform(0.5, 1.5)):
                    return
                service = rng.choice(BROKEN)
                if n % 3 == 2:  # every third episode a crash, of each of the crashes in turn
                    service = self.crashes[n // 3 % len(self.crashes)]
                    self.shop.kill(service)
                    self.kills += 1
                    time.sleep(rng.uniform(0.2, 1.0))  # down for a while, as a crashed process is
                    self.shop.restart(service)
                    self._episode(f"kill {service}")
                    continue
                targets = [target for name, target in STEPS.values() if name == service]
                rules = [_rule(rng, target) for target in rng.sample(targets, rng.randint(1, min(3, len(targets))))]
                self.shop.set_faults(service, rules)
                self.fault_episodes += 1
                time.sleep(rng.uniform(1.0, 3.0))  # the fault lasts this long
                self.shop.clear_faults(service)
                self._episode(f"faults on {service}: {rules}")
        finally:
            self.driver_done.set()

    def _monitor(self) -> None:
        last_audit = time.monotonic()
        while not self.done.is_set() and not (self.driver_done.is_set() and self._healed()):
            try:
                unfinished = {
                    o.saga_id for o in self.audit.orders() if o.status not in ("confirmed", "failed", "cancelled")
                }
            except DomainError:
                unfinished = None  # orders did not answer in time; the next look will
            now = time.monotonic()
            with self.lock:
                for episode in self.episodes:
                    if unfinished is None or episode.healed_after is not None:
                        continue
                    if episode.unfinished is None:
                        episode.unfinished = unfinished
                    if not episode.unfinished & unfinished:
                        episode.healed_after = now - episode.ended
            if now - last_audit >= AUDIT_EVERY_SECONDS:
                last_audit = now
                with contextlib.suppress(DomainError):  # a service is down: this run cannot judge, the next will
                    self.live_violations |= {f"{i}: {s}" for i, s in self.audit.found() - self.known}
            time.sleep(0.5)  # the monitor's period

    def _healed(self) -> bool:
        with self.lock:
            return all(e.healed_after is not None for e in self.episodes)

    # The run ---------------------------------------------------------------------------------------------------

    def run(self) -> Figures:
        shop = self.shop
        self.known = self.audit.found()
        products = [
            shop.create_product(stock=STOCK, price_cents=self.rng.randint(100, 5000))["id"] for _ in range(PRODUCTS)
        ]
        tokens = [shop.register(f"Chaos {n}")[1] for n in range(self.clients)]
        compensations_before = self._compensations()
        injected_before, recovered_before = faults_injected(shop), recoveries(shop)
        reconciled_before = self._reconciled()

        jobs = [
            lambda t=t, n=n: self._customer(t, products, random.Random(self.seed + n)) for n, t in enumerate(tokens)
        ]
        threads = [threading.Thread(target=self._guarded(job), daemon=True) for job in [*jobs, self._driver]]
        monitor = threading.Thread(target=self._guarded(self._monitor), daemon=True)
        figures = Figures(self.fs.kind, self.seconds, self.seed)
        try:
            for thread in [*threads, monitor]:
                thread.start()
            self.stop.wait(self.seconds)
            self.stop.set()
            for thread in threads:
                thread.join()
            if self.errors:
                raise self.errors[0]
            last_fault_ended = max((e.ended for e in self.episodes), default=time.monotonic())
            try:
                self.audit.settled(timeout=HEAL_BOUND_SECONDS, known=self.known)
            except AssertionError as exc:
                figures.violations.append(str(exc))
            figures.final_heal_seconds = round(time.monotonic() - last_fault_ended, 2)
            monitor.join(timeout=HEAL_BOUND_SECONDS)
        finally:
            self.stop.set()
            self.done.set()
            monitor.join()

        figures.disagreements = self._replay_and_compare()
        try:
            state = self.audit.settled(timeout=HEAL_BOUND_SECONDS, known=self.known)
        except AssertionError as exc:  # the replays placed orders of their own, under no fault
            figures.violations.append(f"after the replays: {exc}")
            state = self.audit.state()
        statuses = Counter(o.status for o in state.orders if o.saga_id)
        compensations = self._compensations()
        figures.orders_placed = len(self.attempts)
        figures.answers = dict(sorted(Counter(str(a.status) for a in self.attempts).items()))
        figures.confirmed, figures.failed, figures.cancelled = (
            statuses[s] for s in ("confirmed", "failed", "cancelled")
        )
        figures.cancels_sent = sum(1 for a in self.attempts if a.cancel_status is not None)
        figures.compensations = {k: v - compensations_before[k] for k, v in sorted(compensations.items())}
        figures.faults_injected = faults_injected(shop) - injected_before
        figures.fault_episodes, figures.kills = self.fault_episodes, self.kills
        figures.recoveries = recoveries(shop) - recovered_before
        figures.payments_reconciled = self._reconciled() - reconciled_before
        healed = [e.healed_after for e in self.episodes if e.healed_after is not None]
        figures.longest_heal_seconds = round(max([*healed, figures.final_heal_seconds]), 2)
        figures.live_violations = sorted(self.live_violations)
        return figures

    def _compensations(self) -> Counter[str]:
        """orders' compensations by step, summed over its replicas (a restarted one counts from zero again)."""
        return sum((scrape(r.url, "tienda_saga_compensations_total") for r in self.shop.replicas("orders")), Counter())

    def _reconciled(self) -> int:
        return sum(1 for r in log_records(shop_logs(self.shop, "payments")) if r.get("event") == "payment.reconciled")

    def _replay_and_compare(self) -> list[str]:
        """Replay every answer that was not 201 with its key, then compare what each customer was told with the
        orders they hold: every order they hold confirmed or cancelled was answered 201 (first or on replay), every
        201 is such an order, and a cancel answered 200 left its order cancelled."""
        shop, problems = self.shop, []

        def replay(a: Attempt) -> None:
            for tries_left in reversed(range(3)):
                try:
                    r = shop.order(a.token, a.items, card=a.card, **{"Idempotency-Key": a.key})
                    break
                except requests.ConnectionError:
                    # gunicorn closes a keep-alive connection idle for its keepalive seconds; a request sent on it
                    # just then is reset unanswered. Sending a keyed order again is what its key is for.
                    if not tries_left:
                        raise
            a.replay_status = r.status_code
            if r.status_code == 201:
                a.order_id = r.json()["id"]

        with ThreadPoolExecutor(self.clients) as pool:
            list(pool.map(replay, [a for a in self.attempts if a.status != 201]))
        told: dict[str, dict[int, Attempt]] = {}
        for a in self.attempts:
            if a.order_id is not None:
                told.setdefault(a.token, {})[a.order_id] = a
        for token in {a.token for a in self.attempts}:
            held = self._orders_of(token)
            for order_id, status in held.items():
                attempt = told.get(token, {}).get(order_id)
                if status in ("confirmed", "cancelled") and attempt is None:
                    problems.append(f"order {order_id} is {status}, but its customer was never answered 201")
                if status == "cancelled" and attempt is not None and attempt.cancel_status is None:
                    problems.append(f"order {order_id} is cancelled, but nobody cancelled it")
            for order_id, attempt in told.get(token, {}).items():
                status = held.get(order_id, "missing")
                if status not in ("confirmed", "cancelled"):
                    problems.append(f"order {order_id} was answered 201 but is {status}")
                if attempt.cancel_status == 200 and status != "cancelled":
                    problems.append(f"order {order_id}: its cancel was answered 200 but it is {status}")
        return problems

    def _orders_of(self, token: str) -> dict[int, str]:
        found: dict[int, str] = {}
        while True:
            r = self.shop.http.get(
                self.shop.url(f"/orders?limit=100&offset={len(found)}"), headers=bearer(token), timeout=10
            )
            assert r.status_code == 200, r.text
            page = r.json()
            found |= {o["id"]: o["status"] for o in page["items"]}
            if not page["items"] or len(found) >= page["total"]:
                return found
