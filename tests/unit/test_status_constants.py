"""The domains name their contract's statuses by unpacking its tuple (``PENDING, RESERVED, ... = STATUSES``): a
reordered tuple would give a constant another status's value, so each must be named after the value it holds."""

from __future__ import annotations

from types import ModuleType

import pytest

from services.common import auth
from services.orders import contract as orders_contract
from services.orders.domain import model as orders_model
from services.payments import contract as payments_contract
from services.payments import domain as payments_domain
from services.products import contract as products_contract
from services.products import domain as products_domain

CASES = [
    (orders_model, orders_contract.STATUSES, ""),
    (orders_model, payments_contract.STATUSES, "PAYMENT_"),
    (payments_domain, payments_contract.STATUSES, ""),
    (products_domain, products_contract.STATUSES, ""),
    (auth, auth.ROLES, "ROLE_"),
]


@pytest.mark.parametrize(
    ("module", "values", "prefix"), CASES, ids=["orders", "orders-payments", "payments", "products", "roles"]
)
def test_every_status_constant_holds_the_value_it_is_named_after(module: ModuleType, values, prefix):
    for value in values:
        assert getattr(module, prefix + value.upper()) == value
