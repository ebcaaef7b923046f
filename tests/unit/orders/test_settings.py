"""The orders service's settings: typed recovery timings, and no silently ignored override."""

from __future__ import annotations

import io
import json

import pytest

from services.orders.app import create_app
from services.orders.settings import OrderSettings
from telemetry import ConfigError


def test_the_recovery_timings_default_to_30_and_15_seconds_and_take_overrides():
    settings = OrderSettings.from_env(env={})

    assert (settings.service, settings.recovery_grace_seconds, settings.recovery_interval_seconds) == (
        "orders",
        30.0,
        15.0,
    )
    changed = settings.with_overrides({"recovery_grace_seconds": 5, "recovery_interval_seconds": 0})
    assert (changed.recovery_grace_seconds, changed.recovery_interval_seconds) == (5.0, 0.0)


def test_the_recovery_timings_are_read_from_the_environment():
    settings = OrderSettings.from_env(env={"RECOVERY_GRACE_SECONDS": "1.5", "RECOVERY_INTERVAL_SECONDS": " 0 "})

    assert (settings.recovery_grace_seconds, settings.recovery_interval_seconds) == (1.5, 0.0)


@pytest.mark.parametrize("raw", ["soon", "-2"])
def test_a_recovery_timing_in_the_environment_that_is_not_a_number_of_seconds_names_the_variable(raw):
    with pytest.raises(ConfigError, match="RECOVERY_GRACE_SECONDS=.* is not a number of seconds"):
        OrderSettings.from_env(env={"RECOVERY_GRACE_SECONDS": raw})


@pytest.mark.parametrize("value", [-1, "30", True, None])
def test_a_recovery_timing_that_is_not_a_number_of_seconds_is_refused(value):
    with pytest.raises(ConfigError, match=f"recovery_grace_seconds={value!r} is not a number of seconds"):
        OrderSettings.from_env(env={}).with_overrides({"recovery_grace_seconds": value})


def test_a_misspelt_override_is_a_configuration_error_before_anything_is_opened():
    with pytest.raises(ConfigError, match="OrderSettings has no setting recovery_grace"):
        create_app({"database_url": "sqlite:///:memory:", "recovery_grace": 0})


def test_an_inventory_that_does_not_implement_the_port_is_refused():
    with pytest.raises(ConfigError, match="inventory must be"):
        OrderSettings.from_env(env={}).with_overrides({"inventory": object()})


def test_the_upstream_timeouts_default_to_1_and_5_seconds_and_are_read_from_the_environment():
    env = {"UPSTREAM_CONNECT_TIMEOUT_SECONDS": "0.25", "UPSTREAM_READ_TIMEOUT_SECONDS": "3"}

    settings = OrderSettings.from_env(env=env)

    assert (settings.upstream_connect_timeout_seconds, settings.upstream_read_timeout_seconds) == (0.25, 3.0)
    default = OrderSettings.from_env(env={})
    assert (default.upstream_connect_timeout_seconds, default.upstream_read_timeout_seconds) == (1.0, 5.0)


@pytest.mark.parametrize("raw", ["0", "soon"])
def test_an_upstream_timeout_in_the_environment_that_is_not_above_0_names_the_variable(raw):
    with pytest.raises(ConfigError, match="UPSTREAM_READ_TIMEOUT_SECONDS"):
        OrderSettings.from_env(env={"UPSTREAM_READ_TIMEOUT_SECONDS": raw})


def test_a_grace_period_shorter_than_a_live_request_goes_without_saving_is_unsafe_once_the_sweep_runs():
    settings = OrderSettings.from_env(env={})

    assert not settings.unsafe_grace()  # 30 s against 3 calls of 1 + 5 s
    assert settings.with_overrides({"recovery_grace_seconds": 17}).unsafe_grace()
    assert not settings.with_overrides(
        {"recovery_grace_seconds": 17, "upstream_read_timeout_seconds": 4}
    ).unsafe_grace()
    assert not settings.with_overrides({"recovery_grace_seconds": 0, "recovery_interval_seconds": 0}).unsafe_grace()


def test_an_app_whose_sweep_could_take_live_orders_says_so_at_start(tmp_path):
    stream = io.StringIO()

    app = create_app({"database_url": f"sqlite:///{tmp_path / 'o.db'}", "recovery_grace_seconds": 1,
                      "recovery_interval_seconds": 3600, "log_stream": stream})  # fmt: skip
    for loop in app.extensions["tienda"].loops:
        loop.stop()

    events = [json.loads(line).get("event") for line in stream.getvalue().splitlines()]
    assert "orders.recovery_grace_short" in events
