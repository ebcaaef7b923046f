"""One mapping from a failed call to another service to the caller's answer, and one transport classifier."""

from __future__ import annotations

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError, ReadTimeoutError

from services.common.errors import FAILURES, Failure, UpstreamFailure, classify


@pytest.mark.parametrize(
    ("kind", "status", "code", "outcome_unknown"),
    [
        (Failure.UNREACHABLE, 503, "upstream_unavailable", False),
        (Failure.TIMEOUT, 504, "upstream_timeout", True),
        (Failure.SERVER_ERROR, 502, "upstream_error", True),
        (Failure.BAD_RESPONSE, 502, "upstream_error", True),
    ],
)
def test_each_kind_of_failure_has_one_status_and_code(kind, status, code, outcome_unknown):
    failure = UpstreamFailure("products", kind)

    assert (failure.status, failure.code, failure.outcome_unknown) == (status, code, outcome_unknown)
    assert failure.details == {"upstream": "products"}
    assert "products" in failure.message


def test_every_kind_of_failure_is_mapped():
    assert set(FAILURES) == set(Failure)


def test_a_caller_may_say_more_than_the_template():
    failure = UpstreamFailure("payments", Failure.BAD_RESPONSE, "The payments service answered a malformed list.")

    assert failure.message == "The payments service answered a malformed list."
    assert failure.status == 502


def _refused() -> requests.ConnectionError:
    reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.ConnectionError(MaxRetryError(None, "/", reason))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (requests.ConnectTimeout(), Failure.UNREACHABLE),
        (_refused(), Failure.UNREACHABLE),
        (requests.ReadTimeout(), Failure.TIMEOUT),
        (requests.ConnectionError(ReadTimeoutError(None, "/", "read timed out")), Failure.TIMEOUT),  # type: ignore[arg-type]
        (requests.ConnectionError("connection reset by peer"), Failure.BAD_RESPONSE),
        (requests.exceptions.ChunkedEncodingError(), Failure.BAD_RESPONSE),
    ],
)
def test_transport_errors_are_classified_by_whether_the_request_could_have_arrived(exc, kind):
    assert classify(exc) is kind
