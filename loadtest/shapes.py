"""Load shapes for the tienda load test, chosen by name with ``LOAD_SHAPE``.

Locust runs a shape only when the locustfile defines one, so ``locustfile.py`` binds at most one of these
(:func:`shape_from_env`); with ``LOAD_SHAPE`` unset there is none and ``-u``/``-r``/``-t`` (or
``LOCUST_USERS``/``LOCUST_SPAWN_RATE``/``LOCUST_RUN_TIME``) drive the run as usual. A shape ignores those
options and reads instead:

``LOAD_SHAPE``     ``steady``, ``step`` or ``spike`` (unset or empty: no shape).
``LOAD_USERS``     the peak number of users, a positive integer (default 20).
``LOAD_DURATION``  the whole run, in Locust's ``-t`` format: ``90``, ``60s``, ``5m``, ``1h30m`` (default ``60s``).

The shapes, for ``U`` users over ``D`` seconds (each stops the run at ``D``):

``steady``  ramp to ``U`` at ``U/10`` users a second (at least 1), then hold.
``step``    five equal steps of ``D/5``: ``U/5``, ``2U/5``, ... ``U`` users, each reached within a second or two.
``spike``   a base load of ``U/5`` users (at least 1) for the first 40% of the run, all ``U`` at once for the next
            20%, then the base load again: what the dashboards and alerts should make obvious.

Each shape is a pure function of the run time (``users_at``), so the plan can be checked without Locust running.
"""

from __future__ import annotations

import math
import os
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass

from locust import LoadTestShape
from locust.util.timespan import parse_timespan

DEFAULT_USERS = 20
DEFAULT_DURATION = "60s"
STEPS = 5


@dataclass(frozen=True)
class ShapeSettings:
    users: int
    duration: float  # seconds

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ShapeSettings:
        env = os.environ if environ is None else environ
        raw_users = env.get("LOAD_USERS", "").strip() or str(DEFAULT_USERS)
        raw_duration = env.get("LOAD_DURATION", "").strip() or DEFAULT_DURATION
        try:
            users = int(raw_users)
        except ValueError:
            raise ValueError(f"LOAD_USERS must be a positive integer, not {raw_users!r}") from None
        try:
            duration = float(parse_timespan(raw_duration))
        except ValueError:
            raise ValueError(f"LOAD_DURATION must look like 90, 60s, 5m or 1h30m, not {raw_duration!r}") from None
        if users < 1:
            raise ValueError(f"LOAD_USERS must be a positive integer, not {raw_users!r}")
        if duration <= 0:
            raise ValueError(f"LOAD_DURATION must be longer than zero, not {raw_duration!r}")
        return cls(users, duration)


class EnvShape(LoadTestShape):
    """A shape whose users and duration come from :class:`ShapeSettings`; subclasses define ``users_at``."""

    abstract = True

    def __init__(self, settings: ShapeSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or ShapeSettings.from_env()

    @abstractmethod
    def users_at(self, run_time: float) -> tuple[int, float]:
        """``(user_count, spawn_rate)`` at ``run_time`` seconds, for ``0 <= run_time < duration``."""

    def tick(self) -> tuple[int, float] | None:
        run_time = self.get_run_time()
        if run_time >= self.settings.duration:
            return None
        return self.users_at(run_time)


class SteadyShape(EnvShape):
    """Ramp to ``LOAD_USERS`` at a tenth of them a second, hold until ``LOAD_DURATION``."""

    def users_at(self, run_time: float) -> tuple[int, float]:
        users = self.settings.users
        return users, max(1.0, users / 10)


class StepShape(EnvShape):
    """Five equal steps up to ``LOAD_USERS``, each lasting a fifth of ``LOAD_DURATION``."""

    def users_at(self, run_time: float) -> tuple[int, float]:
        users, duration = self.settings.users, self.settings.duration
        step = min(STEPS - 1, int(run_time * STEPS // duration))
        target = max(1, math.ceil(users * (step + 1) / STEPS))
        return target, max(1.0, users / STEPS)


class SpikeShape(EnvShape):
    """A fifth of ``LOAD_USERS``, then all of them at once for the middle fifth of the run, then a fifth again."""

    def users_at(self, run_time: float) -> tuple[int, float]:
        users, duration = self.settings.users, self.settings.duration
        base = max(1, users // 5)
        if 0.4 * duration <= run_time < 0.6 * duration:
            return users, float(users)  # everyone arrives within a second
        return base, float(users)  # and leaves as fast


SHAPES: dict[str, type[EnvShape]] = {"steady": SteadyShape, "step": StepShape, "spike": SpikeShape}


def shape_from_env(environ: Mapping[str, str] | None = None) -> type[EnvShape] | None:
    """The shape class ``LOAD_SHAPE`` names, or None when it is unset or empty; ValueError for an unknown name."""
    env = os.environ if environ is None else environ
    name = env.get("LOAD_SHAPE", "").strip().lower()
    if not name:
        return None
    if name not in SHAPES:
        raise ValueError(f"LOAD_SHAPE must be one of {', '.join(SHAPES)} (or unset), not {name!r}")
    ShapeSettings.from_env(env)  # a bad LOAD_USERS / LOAD_DURATION fails here, before Locust starts
    return SHAPES[name]
