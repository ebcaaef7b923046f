"""The load shapes' plans and the runner's duration parsing, without a shop.

Importing Locust monkey-patches the importing process with gevent, so the shapes are evaluated in a subprocess.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from loadtest.run import parse_timespan

ROOT = Path(__file__).resolve().parents[2]

PLANS = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, "loadtest")
    import shapes

    settings = shapes.ShapeSettings(users=20, duration=100.0)
    plans = {}
    for name, cls in shapes.SHAPES.items():
        shape = cls(settings)
        plan = [shape.users_at(t)[0] for t in range(0, 100, 10)]
        running = shape.tick()
        shape.start_time -= 100  # as if the whole duration had passed
        plans[name] = {"plan": plan, "running": running is not None, "stops": shape.tick() is None}

    def chosen(env):
        try:
            shape = shapes.shape_from_env(env)
        except ValueError as exc:
            return "error: " + str(exc)
        return shape.__name__ if shape else None

    environments = [
        {},
        {"LOAD_SHAPE": ""},
        {"LOAD_SHAPE": "Spike"},
        {"LOAD_SHAPE": "step", "LOAD_USERS": "5", "LOAD_DURATION": "2m"},
        {"LOAD_SHAPE": "wave"},
        {"LOAD_SHAPE": "steady", "LOAD_USERS": "0"},
        {"LOAD_SHAPE": "steady", "LOAD_DURATION": "1.5s"},
    ]
    print(json.dumps({"plans": plans, "chosen": [chosen(env) for env in environments]}))
    """
)


@pytest.fixture(scope="module")
def shapes_report() -> dict:
    done = subprocess.run([sys.executable, "-c", PLANS], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_steady_shape_holds_all_users_until_the_duration_ends(shapes_report):
    steady = shapes_report["plans"]["steady"]
    assert steady == {"plan": [20] * 10, "running": True, "stops": True}


def test_the_step_shape_climbs_in_five_equal_steps(shapes_report):
    assert shapes_report["plans"]["step"]["plan"] == [4, 4, 8, 8, 12, 12, 16, 16, 20, 20]
    assert shapes_report["plans"]["step"]["stops"]


def test_the_spike_shape_jumps_to_all_users_in_the_middle_fifth_only(shapes_report):
    assert shapes_report["plans"]["spike"]["plan"] == [4, 4, 4, 4, 20, 20, 4, 4, 4, 4]
    assert shapes_report["plans"]["spike"]["stops"]


def test_load_shape_picks_one_shape_by_name_or_none_and_rejects_bad_settings(shapes_report):
    none, empty, spike, step, unknown, no_users, bad_duration = shapes_report["chosen"]
    assert (none, empty, spike, step) == (None, None, "SpikeShape", "StepShape")
    assert unknown.startswith("error: LOAD_SHAPE must be one of steady, step, spike")
    assert no_users.startswith("error: LOAD_USERS must be a positive integer")
    assert bad_duration.startswith("error: LOAD_DURATION must look like")


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("60s", 60), ("5m", 300), ("1h30m", 5400), ("1h2m3s", 3723)])
def test_the_runner_reads_durations_as_locust_run_time_does(text, seconds):
    assert parse_timespan(text) == seconds


@pytest.mark.parametrize("text", ["", "1.5s", "abc", "m", "10 s"])
def test_the_runner_rejects_durations_locust_would_reject(text):
    with pytest.raises(ValueError):
        parse_timespan(text)
