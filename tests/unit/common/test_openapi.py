"""Every service's OpenAPI document lists the answers that follow from how an operation is declared: a JSON
body can be unreadable, too large or invalid; a token can be missing (the gateway's own document, with its
upstream failures, is tests/unit/gateway/test_openapi.py).
An operation declared with none of these lists only its own answers."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from services.common.openapi import ApiSpec
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


@each(lambda service, operation: True)
def test_an_operations_answers_are_listed_in_status_order(operation):
    statuses = list(operation["responses"])
    assert statuses == sorted(statuses)


class Thing(BaseModel):
    name: str


def test_a_public_operation_without_a_body_lists_only_its_own_answers_and_needs_no_token():
    spec = ApiSpec("t")
    spec.operation("GET", "/things", summary="s", responses={200: Thing, 404: None})
    (operation,) = spec.to_dict()["paths"]["/things"].values()

    assert list(operation["responses"]) == ["200", "404"]
    assert "security" not in operation


def test_a_public_operation_with_a_token_adds_401_and_nothing_else():
    spec = ApiSpec("t")
    spec.operation("GET", "/things", summary="s", auth=True, responses={200: Thing})
    (operation,) = spec.to_dict()["paths"]["/things"].values()

    assert list(operation["responses"]) == ["200", "401"]
    assert operation["security"] == [{"bearerAuth": []}]


def test_every_operation_answers_are_added_to_each_operation_of_the_document():
    spec = ApiSpec("t", every_operation={503: None})
    spec.operation("POST", "/things", summary="s", request=Thing, responses={201: Thing})
    (operation,) = spec.to_dict()["paths"]["/things"].values()

    assert list(operation["responses"]) == ["201", "400", "413", "422", "503"]
    assert operation["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Thing"
    }
