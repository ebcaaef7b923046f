import pytest


def _assert_error_body(response, status, code):
    assert response.status_code == status
    assert response.is_json
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["X-Request-ID"]


def test_an_unknown_route_answers_a_json_404(harness):
    _assert_error_body(harness.client.get("/no/such/thing"), 404, "not_found")


def test_a_wrong_method_answers_a_json_405_with_allow(harness):
    response = harness.client.delete("/items/1")
    _assert_error_body(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_an_unhandled_exception_answers_500_without_leaking_the_stack(harness):
    response = harness.client.get("/boom")
    _assert_error_body(response, 500, "internal_error")
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "something broke inside" not in text


def test_a_too_large_body_answers_a_json_413(harness):
    harness.app.config["MAX_CONTENT_LENGTH"] = 10
    response = harness.client.post("/login", data=b"x" * 100, content_type="application/json")
    _assert_error_body(response, 413, "request_entity_too_large")


def test_domain_errors_use_the_same_shape(harness):
    _assert_error_body(harness.client.get("/teapot"), 418, "teapot")


@pytest.mark.parametrize("path", ["/items/abc", "/items/-1"])
def test_a_path_that_does_not_fit_the_route_converter_is_a_404(harness, path):
    _assert_error_body(harness.client.get(path), 404, "not_found")
