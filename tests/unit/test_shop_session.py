"""The test shop's HTTP session resends an idempotent request whose connection closed unanswered, nothing else."""

import pytest
import requests

from tests.support.scripted_upstream import DROP
from tests.support.shop import session


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_idempotent_request_whose_connection_closed_unanswered_is_sent_once_more(upstream, method):
    upstream.script(DROP, 200)

    response = session().request(method, upstream.url + "/admin/faults", timeout=5)

    assert response.status_code == 200
    assert [m for m, _, _ in upstream.requests] == [method, method]


def test_a_post_whose_connection_closed_unanswered_is_not_sent_again(upstream):
    upstream.script(DROP, 200)

    with pytest.raises(requests.ConnectionError):
        session().post(upstream.url + "/orders", json={}, timeout=5)
    assert len(upstream.requests) == 1


def test_a_request_closed_unanswered_twice_raises(upstream):
    upstream.script(DROP, DROP, 200)

    with pytest.raises(requests.ConnectionError):
        session().get(upstream.url + "/orders", timeout=5)
    assert len(upstream.requests) == 2
