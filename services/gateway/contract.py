"""The public API's contract: the services' own contracts, re-used, plus what only the gateway answers.

The gateway does not validate request bodies itself (the services behind it do, and answer 422 with the
fields that failed); its OpenAPI document describes them with the services' models from their ``contract.py``,
so clients and fuzzers see exactly the bounds those services enforce. Path ids are integers in
``1..MAX_ID`` (:mod:`services.common.contract`): the gateway's route converter enforces that range, so anything
else is a 404 before any service is called.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

from services.common.contract import Id, PageQuery
from services.orders.contract import OrderOut
from services.payments.contract import PaymentOut
from telemetry.faults import MAX_ERROR_STATUS, MAX_RULES, MAX_SECONDS, MIN_ERROR_STATUS
from telemetry.faults import Kind as FaultKind

API_PREFIX = "/api/v1"


class PublicPageQuery(PageQuery):
    """``?limit=&offset=`` at the gateway: the listing services' bounds; other parameters (a browser's cache
    buster) are ignored, since only ``limit`` and ``offset`` are sent on."""

    model_config = ConfigDict(extra="ignore")


class PublicNotificationQuery(PublicPageQuery):
    """``?limit=&offset=&user_id=`` of ``GET /notifications`` (``user_id``: an admin's choice of customer)."""

    user_id: Id | None = None


class OrderDetails(BaseModel):
    """An order with its payments. When the payments service cannot answer, the order is still returned,
    with ``payments`` null and ``partial`` true."""

    order: OrderOut
    payments: list[PaymentOut] | None
    partial: bool


# --- the admin route to the services' fault rules (telemetry.faults, docs/faults.md) --------------------------

#: The services whose fault rules ``/admin/faults/{service}`` reaches: the gateway itself and the four behind it.
FaultService = Literal["gateway", "users", "products", "orders", "payments"]
FAULT_SERVICES: tuple[FaultService, ...] = get_args(FaultService)


class FaultRuleModel(BaseModel):
    """One fault rule as ``telemetry.faults`` takes it; the service that applies it validates it (422
    ``invalid_faults`` naming the field). Only the parameters of the rule's kind are allowed."""

    model_config = ConfigDict(extra="forbid", title="FaultRule")

    target: str = Field(description="`METHOD /route`, `upstream:NAME` or `upstream:NAME METHOD /route`")
    fault: FaultKind
    ratio: float = Field(1.0, gt=0, le=1, description="share of matching requests faulted")
    delay_seconds: float | None = Field(None, ge=0, le=MAX_SECONDS, description="latency: added delay")
    jitter_seconds: float | None = Field(None, ge=0, le=MAX_SECONDS, description="latency: up to this much more")
    status: int | None = Field(
        None, ge=MIN_ERROR_STATUS, le=MAX_ERROR_STATUS, description="error: the status answered (default 503)"
    )
    hang_seconds: float | None = Field(None, gt=0, le=MAX_SECONDS, description="hang: how long (default 30)")


class FaultsIn(BaseModel):
    """Every rule of the service, replacing the ones set (an empty list removes them all)."""

    faults: list[FaultRuleModel] = Field(max_length=MAX_RULES)


class FaultsOut(BaseModel):
    """The rules a service has set now."""

    service: str
    faults: list[FaultRuleModel]
