"""Every service has the same shape inside: a newcomer who knows one finds the same names in the next."""

from __future__ import annotations

import importlib
import inspect

import pytest

#: Each service and the singular its names are made of (``ProductService``, ``ProductEvents``, ...).
SERVICES = {
    "products": "Product",
    "orders": "Order",
    "payments": "Payment",
    "users": "User",
    "notifications": "Notification",
    "gateway": "Gateway",
    "audit": "Audit",
}


@pytest.mark.parametrize(("service", "singular"), SERVICES.items())
def test_the_use_case_is_told_what_happened_through_an_events_port_that_the_business_metrics_implement(
    service, singular
):
    domain = importlib.import_module(f"services.{service}.domain")
    metrics = importlib.import_module(f"services.{service}.metrics")
    port = getattr(domain, f"{singular}Events")
    use_case = getattr(domain, f"{singular}Service")

    assert inspect.isabstract(port), f"{port.__qualname__} is an abstract class"
    assert issubclass(getattr(metrics, f"{singular}Metrics"), port)
    assert "events" in inspect.signature(use_case).parameters, f"{use_case.__qualname__} takes its port as events"
