import pytest

VALID = ["a", "abc-123", "x" * 128, "trace:span.1_2-3", "load-7f3a:00001"]
INVALID = ["", "tab\there", "x" * 129, "has space", 'quote"s', "semi;colon", "ünïcode", "<script>"]


@pytest.mark.parametrize("rid", VALID)
def test_a_well_formed_incoming_request_id_is_kept_and_echoed(harness, rid):
    response = harness.client.get("/items/1", headers={"X-Request-ID": rid})
    assert response.headers["X-Request-ID"] == rid


@pytest.mark.parametrize("rid", INVALID)
def test_a_malformed_request_id_is_replaced_and_the_replacement_logged(harness, rid):
    response = harness.client.get("/items/1", headers={"X-Request-ID": rid})
    echoed = response.headers["X-Request-ID"]
    assert echoed != rid and len(echoed) == 32 and int(echoed, 16) >= 0
    (warning,) = [r for r in harness.logs() if r["level"] == "WARNING"]
    assert warning["event"] == "request_id.replaced"
    assert warning["request_id"] == echoed


def test_a_request_without_an_id_gets_a_fresh_one_each_time(harness):
    first = harness.client.get("/items/1").headers["X-Request-ID"]
    second = harness.client.get("/items/1").headers["X-Request-ID"]
    assert first != second and len(first) == 32


@pytest.mark.parametrize("path", ["/items/1", "/nope", "/boom", "/health/live", "/metrics"])
def test_every_response_carries_a_request_id(harness, path):
    assert harness.client.get(path).headers.get("X-Request-ID")
