"""Every service's OpenAPI document lists the answers that follow from how an operation is declared: a JSON
body can be unreadable, too large or invalid; a token can be missing; a route of the gateway calls a service."""

from __future__ import annotations

import pytest

from tests.support.documents import DOCUMENTS

OPERATIONS = [
    (service, f"{method.upper()} {path}", operation)
    for service, document in DOCUMENTS.items()
    for path, methods in document().to_dict()["paths"].items()
    for method, operation in methods.items()
]


def each(where):
    """Parametrize over the operations ``where(service, operation)`` selects, each test id naming its route."""
    chosen = [
        (f"{service}: {route}", operation) for service, route, operation in OPERATIONS if where(service, operation)
    ]
    return pytest.mark.parametrize("operation", [operation for _, operation in chosen], ids=[i for i, _ in chosen])


@each(lambda service, operation: "requestBody" in operation)
def test_an_operation_with_a_json_body_documents_400_413_and_422(operation):
    assert {"400", "413", "422"} <= set(operation["responses"])


@each(lambda service, operation: "security" in operation)
def test_an_operation_that_needs_a_token_documents_401(operation):
    assert "401" in operation["responses"]


@each(lambda service, operation: service != "gateway")
def test_an_internal_services_operation_needs_a_token_and_documents_401_and_403(operation):
    assert {"401", "403"} <= set(operation["responses"])
    assert operation["security"] == [{"bearerAuth": []}]


@each(lambda service, operation: service == "gateway")
def test_every_gateway_operation_documents_the_upstream_failures_502_503_and_504(operation):
    assert {"502", "503", "504"} <= set(operation["responses"])


@each(lambda service, operation: True)
def test_an_operations_answers_are_listed_in_status_order(operation):
    statuses = list(operation["responses"])
    assert statuses == sorted(statuses)
