"""The public API's contract: the services' own contracts, re-used, plus what only the gateway answers.

The gateway does not validate request bodies itself (the services behind it do, and answer 422 with the
fields that failed); its OpenAPI document describes them with the services' models from their ``contract.py``,
so clients and fuzzers see exactly the bounds those services enforce. Path ids are integers in
``1..MAX_ID`` (:mod:`services.common.contract`): the gateway's route converter enforces that range, so anything
else is a 404 before any service is called.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from services.common.contract import PageQuery
from services.orders.contract import OrderOut
from services.payments.contract import PaymentOut

API_PREFIX = "/api/v1"


class PublicPageQuery(PageQuery):
    """``?limit=&offset=`` at the gateway: the listing services' bounds; other parameters (a browser's cache
    buster) are ignored, since only ``limit`` and ``offset`` are sent on."""

    model_config = ConfigDict(extra="ignore")


class OrderDetails(BaseModel):
    """An order with its payments. When the payments service cannot answer, the order is still returned,
    with ``payments`` null and ``partial`` true."""

    order: OrderOut
    payments: list[PaymentOut] | None
    partial: bool
