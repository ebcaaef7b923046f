import threading

import telemetry


def test_liveness_answers_ok_without_running_checks(harness):
    telemetry.health.register("broken", lambda: 1 / 0, app=harness.app)
    response = harness.client.get("/health/live")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_readiness_is_ok_when_every_check_passes(harness):
    telemetry.health.register("database", lambda: None, app=harness.app)
    telemetry.health.register("cache", lambda: True, app=harness.app)
    response = harness.client.get("/health/ready")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["status"] == "ok"


def test_readiness_is_503_naming_the_check_that_failed(harness):
    telemetry.health.register("database", lambda: None, app=harness.app)

    def broker():
        raise ConnectionRefusedError("broker down")

    telemetry.health.register("broker", broker, app=harness.app)
    response = harness.client.get("/health/ready")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "fail"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"] == {
        "status": "fail",
        "duration_ms": body["checks"]["broker"]["duration_ms"],
        "error": "ConnectionRefusedError: broker down",
    }


def test_a_check_returning_false_fails(harness):
    telemetry.health.register("flag", lambda: False, app=harness.app)
    assert harness.client.get("/health/ready").status_code == 503


def test_a_hanging_check_fails_after_its_timeout(harness):
    release = threading.Event()
    telemetry.health.register("slow", lambda: release.wait(5), timeout_seconds=0.2, app=harness.app)
    try:
        response = harness.client.get("/health/ready")
    finally:
        release.set()
    body = response.get_json()
    assert response.status_code == 503
    assert body["checks"]["slow"]["error"] == "timed out after 0.2 s"
    assert body["checks"]["slow"]["duration_ms"] < 2000


def test_register_uses_the_current_app_inside_an_app_context(harness):
    with harness.app.app_context():
        telemetry.health.register("ctx", lambda: False)
    assert harness.client.get("/health/ready").get_json()["checks"]["ctx"]["status"] == "fail"


def test_a_degraded_dependency_keeps_readiness_at_200_and_says_degraded(harness):
    telemetry.health.register("database", lambda: None, app=harness.app)

    def broker():
        raise telemetry.health.Degraded("events wait in the outbox")

    telemetry.health.register("broker", broker, app=harness.app)
    response = harness.client.get("/health/ready")
    body = response.get_json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["broker"] == {
        "status": "degraded",
        "duration_ms": body["checks"]["broker"]["duration_ms"],
        "error": "events wait in the outbox",
    }
    assert body["checks"]["database"]["status"] == "ok"


def test_a_failing_check_beside_a_degraded_one_makes_readiness_fail(harness):
    def broker():
        raise telemetry.health.Degraded("no broker")

    telemetry.health.register("broker", broker, app=harness.app)
    telemetry.health.register("database", lambda: False, app=harness.app)
    response = harness.client.get("/health/ready")
    assert response.status_code == 503 and response.get_json()["status"] == "fail"
