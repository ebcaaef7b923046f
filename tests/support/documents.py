"""The OpenAPI document of every service, as each builds it (``openapi()`` in its ``api.py``)."""

from __future__ import annotations

from collections.abc import Callable

from services.audit import api as audit_api
from services.common.openapi import ApiSpec
from services.gateway import api as gateway_api
from services.notifications import api as notifications_api
from services.orders import api as orders_api
from services.payments import api as payments_api
from services.products import api as products_api
from services.users import api as users_api

#: How each service builds its OpenAPI document.
DOCUMENTS: dict[str, Callable[[], ApiSpec]] = {
    "gateway": gateway_api.openapi,
    "products": products_api.openapi,
    "orders": orders_api.openapi,
    "payments": payments_api.openapi,
    "users": users_api.openapi,
    "notifications": notifications_api.openapi,
    "audit": audit_api.openapi,
}
