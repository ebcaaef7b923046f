"""The public API (prefix ``/api/v1``): authenticate, check what the gateway must, forward, answer.

Handlers are thin. Each one

* authenticates when the route is protected: ``Authorization: Bearer <jwt>`` verified with the shared secret
  (401 ``missing_token`` / ``invalid_token`` / ``token_expired``); the identity sent on is the token's,
  and incoming ``X-User-Id`` / ``X-User-Role`` headers are never read or forwarded;
* checks what the services cannot: path ids are integers in ``1..2**31-1`` (the ``id`` converter: anything
  else is a 404 here), ``limit``/``offset`` are in range (422), an ``Idempotency-Key`` is 1..255 printable
  ASCII characters (422), and a body is a JSON object (400 ``invalid_json``); the body's fields are validated by
  the service that owns them;
* forwards through the typed clients and returns the service's status and JSON body unchanged for 2xx and
  4xx; failures are mapped once, in :mod:`services.gateway.domain`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import Counter
from pydantic import BaseModel, ConfigDict, Field
from werkzeug.routing import BaseConverter

from services.common.auth import Identity, bearer_token, verify_token
from services.common.errors import BadRequest, InvalidInput
from services.common.validation import parse_query

from . import domain
from .clients import IDEMPOTENCY_KEY_HEADER, OrdersClient, PaymentsClient, ProductsClient, UsersClient
from .schemas import API_PREFIX, DEFAULT_PAGE_SIZE, MAX_ID, MAX_IDEMPOTENCY_KEY_LENGTH, MAX_OFFSET, MAX_PAGE_SIZE

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)


def decimal_range_regex(limit: int) -> str:
    """A regex matching exactly the integers ``1..limit`` written in decimal without leading zeros."""
    digits = str(limit)
    options = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        low = 1 if i == 0 else 0
        if int(digit) > low:  # same length, same prefix, a smaller digit here, anything after
            options.append(f"{digits[:i]}[{low}-{int(digit) - 1}][0-9]{{{len(digits) - i - 1}}}")
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(BaseConverter):
    """``<id:name>``: a resource id, ``1..2**31-1``. The range is in the regex, not checked after matching, so
    any other value matches no route and is a 404 for every method (a converter that rejects a value after
    the match makes werkzeug answer 404 or 405 depending on the order the rules were added)."""

    regex = decimal_range_regex(MAX_ID)

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


@bp.record_once
def _register_converter(state) -> None:
    state.app.url_map.converters.setdefault("id", IdConverter)


@dataclass
class Gateway:
    """What the handlers need, kept in ``app.extensions["gateway"]``."""

    jwt_secret: str
    users: UsersClient
    products: ProductsClient
    orders: OrdersClient
    payments: PaymentsClient
    partial_responses: Counter


class Page(BaseModel):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)


def _gateway() -> Gateway:
    return current_app.extensions["gateway"]


def _identity() -> Identity:
    token = bearer_token(request.headers.get("Authorization"))
    return verify_token(token, _gateway().jwt_secret)


def _json_object() -> dict[str, Any]:
    """The request body, which must be a JSON object; reading it enforces the 64 KiB limit (413)."""
    raw = request.get_data(cache=False)
    try:
        data = domain.loads_strict(raw)
    except ValueError:
        raise BadRequest("The request body must be valid JSON.", code="invalid_json") from None
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return data


def _page() -> Page:
    return parse_query(Page, request.args)


def _idempotency_key() -> str | None:
    """The caller's ``Idempotency-Key``, if any: 1..255 printable ASCII characters (422 otherwise), as orders
    requires; checked here too so that a value no HTTP client would send on is the caller's error, not a 502."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is not None and not (1 <= len(key) <= MAX_IDEMPOTENCY_KEY_LENGTH and all(" " <= c <= "~" for c in key)):
        raise InvalidInput(
            f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} printable ASCII characters.",
            code="invalid_idempotency_key",
        )
    return key


def _answer(reply: domain.Reply) -> Response:
    response = Response(status=reply.status) if reply.body is None else jsonify(reply.body)
    response.status_code = reply.status
    if reply.status == 401:  # a 401 names the scheme to use, whoever decided it
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


# --- users ------------------------------------------------------------------------------------------------


@bp.post("/users")
def register():
    return _answer(_gateway().users.register(_json_object()))


@bp.post("/auth/token")
def issue_token():
    return _answer(_gateway().users.issue_token(_json_object()))


@bp.get("/users/me")
def me():
    return _answer(_gateway().users.me(_identity()))


# --- products ---------------------------------------------------------------------------------------------


@bp.get("/products")
def list_products():
    page = _page()
    return _answer(_gateway().products.list(page.limit, page.offset))


@bp.get("/products/<id:product_id>")
def get_product(product_id: int):
    return _answer(_gateway().products.get(product_id))


@bp.post("/products")
def create_product():
    identity = _identity()
    return _answer(_gateway().products.create(identity, _json_object()))


@bp.put("/products/<id:product_id>")
def update_product(product_id: int):
    identity = _identity()
    return _answer(_gateway().products.update(identity, product_id, _json_object()))


@bp.delete("/products/<id:product_id>")
def delete_product(product_id: int):
    return _answer(_gateway().products.delete(_identity(), product_id))


@bp.post("/products/<id:product_id>/restock")
def restock_product(product_id: int):
    identity = _identity()
    return _answer(_gateway().products.restock(identity, product_id, _json_object()))


# --- orders -----------------------------------------------------------------------------------------------


@bp.post("/orders")
def create_order():
    identity = _identity()
    key = _idempotency_key()
    return _answer(_gateway().orders.create(identity, _json_object(), key))


@bp.get("/orders")
def list_orders():
    identity = _identity()
    page = _page()
    return _answer(_gateway().orders.list(identity, page.limit, page.offset))


@bp.get("/orders/<id:order_id>")
def get_order(order_id: int):
    return _answer(_gateway().orders.get(_identity(), order_id))


@bp.post("/orders/<id:order_id>/cancel")
def cancel_order(order_id: int):
    return _answer(_gateway().orders.cancel(_identity(), order_id))


@bp.get("/orders/<id:order_id>/details")
def order_details(order_id: int):
    gateway = _gateway()
    details = domain.order_details(gateway.orders, gateway.payments, _identity(), order_id)
    if details.degraded_by is not None:
        gateway.partial_responses.labels(upstream=details.degraded_by).inc()
    return _answer(details.reply)
