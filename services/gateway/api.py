"""The public API (prefix ``/api/v1``): authenticate, check what the gateway must, forward, answer.

Handlers are thin. Each one

* authenticates when the route is protected: ``Authorization: Bearer <jwt>`` verified with the shared secret
  (401 ``missing_token`` / ``invalid_token`` / ``token_expired``); the identity sent on is the token's,
  and incoming ``X-User-Id`` / ``X-User-Role`` headers are never read or forwarded;
* checks what the services cannot: path ids are integers in ``1..2**31-1`` (the ``id`` converter: anything
  else is a 404 here), ``limit``/``offset`` are in range (422), an ``Idempotency-Key`` is 1..255 printable
  ASCII characters (422), as :mod:`services.common.contract` says, and a body is a JSON object (400
  ``invalid_json``); the body's fields are validated by the service that owns them;
* throttles login and registration per client address and per account (:mod:`services.gateway.throttle`:
  429 ``rate_limited`` with ``Retry-After``);
* forwards through the typed clients and returns the service's status and JSON body unchanged for 2xx and
  4xx; failures are mapped once, in :mod:`services.common.errors`.

:func:`openapi` documents the routes with the services' contract models (:mod:`services.gateway.contract`).
"""

from __future__ import annotations

import functools

from flask import Blueprint, Response, jsonify, request
from flask.blueprints import BlueprintSetupState
from flask.typing import ResponseReturnValue as Answer
from werkzeug.routing import BaseConverter

from services.common.auth import Identity
from services.common.contract import MAX_ID, PageQuery, idempotency_key, idempotency_key_parameter
from services.common.openapi import UPSTREAM_FAILURES, ApiSpec, path_param, query_params
from services.common.validation import json_body, json_object, parse_query
from services.notifications.contract import NotificationPage
from services.orders.contract import OrderCreate, OrderOut, OrderPage
from services.products.contract import ProductCreate, ProductOut, ProductPage, ProductUpdate, Restock
from services.users.contract import RegisterUser, TokenOut, TokenRequest, UserOut

from . import domain
from .contract import (
    API_PREFIX,
    FaultService,
    FaultsIn,
    FaultsOut,
    OrderDetails,
    PublicNotificationQuery,
    PublicPageQuery,
)
from .throttle import Throttle


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
    """``<id:name>``: a resource id, ``1..MAX_ID``. The range is in the regex, not checked after matching, so
    any other value matches no route and is a 404 for every method (a converter that rejects a value after
    the match makes werkzeug answer 404 or 405 depending on the order the rules were added)."""

    regex = decimal_range_regex(MAX_ID)

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


def _register_converter(state: BlueprintSetupState) -> None:
    state.app.url_map.converters.setdefault("id", IdConverter)


def _page() -> PageQuery:
    return parse_query(PublicPageQuery, request.args)


#: What marks a last good answer served while its upstream fails (RFC 9111's Age; Warning 110, "Response is
#: Stale", which caches and clients still understand; and a plain flag for scripts).
STALE_HEADERS = {"Warning": '110 - "Response is Stale"', "X-Tienda-Stale": "true"}


def _answer(reply: domain.Reply) -> Response:
    response = Response(status=reply.status) if reply.body is None else jsonify(reply.body)
    response.status_code = reply.status
    if reply.status == 401:  # a 401 names the scheme to use, whoever decided it
        response.headers["WWW-Authenticate"] = "Bearer"
    if reply.stale_seconds is not None:
        response.headers.update(STALE_HEADERS)
        response.headers["Age"] = str(int(reply.stale_seconds))
    return response


def blueprint(service: domain.GatewayService, throttle: Throttle) -> Blueprint:
    """The public routes under :data:`~services.gateway.contract.API_PREFIX`, bound to ``service``; login and
    registration are limited by ``throttle``."""
    bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
    bp.record_once(_register_converter)

    def identity() -> Identity:
        return service.identity(request.headers.get("Authorization"))

    # --- users --------------------------------------------------------------------------------------------

    @bp.post("/users")
    @throttle.registration
    def register() -> Answer:
        return _answer(service.users.register(json_object(request)))

    @bp.post("/auth/token")
    @throttle.login
    def issue_token() -> Answer:
        return _answer(service.users.issue_token(json_object(request)))

    @bp.get("/users/me")
    def me() -> Answer:
        return _answer(service.users.me(identity()))

    # --- products -----------------------------------------------------------------------------------------

    @bp.get("/products")
    def list_products() -> Answer:
        page = _page()
        return _answer(service.products.list(page.limit, page.offset))

    @bp.get("/products/<id:product_id>")
    def get_product(product_id: int) -> Answer:
        return _answer(service.products.get(product_id))

    @bp.post("/products")
    def create_product() -> Answer:
        caller = identity()
        return _answer(service.products.create(caller, json_object(request)))

    @bp.put("/products/<id:product_id>")
    def update_product(product_id: int) -> Answer:
        caller = identity()
        return _answer(service.products.update(caller, product_id, json_object(request)))

    @bp.delete("/products/<id:product_id>")
    def delete_product(product_id: int) -> Answer:
        return _answer(service.products.delete(identity(), product_id))

    @bp.post("/products/<id:product_id>/restock")
    def restock_product(product_id: int) -> Answer:
        caller = identity()
        return _answer(service.products.restock(caller, product_id, json_object(request)))

    # --- orders -------------------------------------------------------------------------------------------

    @bp.post("/orders")
    def create_order() -> Answer:
        caller = identity()
        # Checked here too, so that a key no HTTP client would send on is the caller's error, not a 502.
        key = idempotency_key(request.headers)
        return _answer(service.orders.create(caller, json_object(request), key))

    @bp.get("/orders")
    def list_orders() -> Answer:
        caller = identity()
        page = _page()
        return _answer(service.orders.list(caller, page.limit, page.offset))

    @bp.get("/orders/<id:order_id>")
    def get_order(order_id: int) -> Answer:
        return _answer(service.orders.get(identity(), order_id))

    @bp.post("/orders/<id:order_id>/cancel")
    def cancel_order(order_id: int) -> Answer:
        return _answer(service.orders.cancel(identity(), order_id))

    @bp.get("/orders/<id:order_id>/details")
    def order_details(order_id: int) -> Answer:
        return _answer(service.order_details(identity(), order_id))

    # --- notifications ------------------------------------------------------------------------------------

    @bp.get("/notifications")
    def list_notifications() -> Answer:
        caller = identity()
        query = parse_query(PublicNotificationQuery, request.args)
        return _answer(service.notifications.list(caller, query.user_id, query.limit, query.offset))

    _fault_routes(bp, service)
    return bp


def _fault_routes(bp: Blueprint, gateway: domain.GatewayService) -> None:
    """``/admin/faults/{service}``: an admin reads, replaces or clears one service's fault rules (docs/faults.md).

    The caller is checked first (401, then 403 ``admin_only``), the service name next (404 ``unknown_service``),
    the body last; the rules themselves are validated by the service that applies them (422 ``invalid_faults``).
    """

    def rules_of(service: str) -> domain.FaultRules:
        return gateway.fault_rules(gateway.identity(request.headers.get("Authorization")), service)

    @bp.get("/admin/faults/<string:service>")
    def show_faults(service: str) -> Answer:
        return _answer(rules_of(service).show())

    @bp.put("/admin/faults/<string:service>")
    def replace_faults(service: str) -> Answer:
        rules = rules_of(service)
        return _answer(rules.replace(json_body(request)))

    @bp.delete("/admin/faults/<string:service>")
    def clear_faults(service: str) -> Answer:
        return _answer(rules_of(service).clear())


# --- the document -----------------------------------------------------------------------------------------


@functools.cache
def openapi() -> ApiSpec:
    """The gateway's public API; paths are relative to :data:`~services.gateway.contract.API_PREFIX`."""
    spec = ApiSpec(
        "tienda public API",
        "The shop's only public entry. Protected operations take a bearer JWT from `POST /auth/token`. "
        'Errors are `{"error": {"code", "message", "request_id"}}`; 502/503/504 mean a service behind '
        "the gateway failed, is unavailable, or timed out.",
        server_url=API_PREFIX,
        every_operation=UPSTREAM_FAILURES,
    )
    page = query_params(PageQuery)
    product_id = path_param("product_id", "Product id")
    order_id = path_param("order_id", "Order id (only your own orders are found)")
    users = functools.partial(spec.operation, tags=["users"])
    products = functools.partial(spec.operation, tags=["products"])
    admin = functools.partial(spec.operation, tags=["products"], auth=True)  # and the token's role is admin
    orders = functools.partial(spec.operation, tags=["orders"], auth=True)  # every order route needs the caller
    users(
        "POST", "/users", summary="Register", request=RegisterUser,
        responses={201: UserOut, 409: None, 429: None},
    )  # fmt: skip
    users(
        "POST", "/auth/token", summary="Get an access token", request=TokenRequest,
        responses={200: TokenOut, 401: None, 429: None},
    )  # fmt: skip
    users(
        "GET", "/users/me", summary="The caller", auth=True,
        responses={200: UserOut, 404: None},
    )  # fmt: skip
    products(
        "GET", "/products", summary="List products", parameters=page,
        responses={200: ProductPage, 422: None},
    )  # fmt: skip
    admin(
        "POST", "/products", summary="Create a product (admin)",
        request=ProductCreate, responses={201: ProductOut, 403: None, 409: None},
    )  # fmt: skip
    products(
        "GET", "/products/{product_id}", summary="A product", parameters=[product_id],
        responses={200: ProductOut, 404: None},
    )  # fmt: skip
    for method, path, summary, body in (
        ("PUT", "/products/{product_id}", "Change a product (admin)", ProductUpdate),
        ("POST", "/products/{product_id}/restock", "Add stock (admin)", Restock),
    ):
        admin(
            method, path, summary=summary, parameters=[product_id], request=body,
            responses={200: ProductOut, 403: None, 404: None},
        )  # fmt: skip
    admin(
        "DELETE", "/products/{product_id}", summary="Delete a product (admin)",
        parameters=[product_id], responses={204: None, 403: None, 404: None},
    )  # fmt: skip
    orders(
        "POST", "/orders", summary="Place an order", request=OrderCreate,
        parameters=[idempotency_key_parameter()],
        responses={200: OrderOut, 201: OrderOut, 402: None, 409: None},
    )  # fmt: skip
    orders(
        "GET", "/orders", summary="Your orders, newest first",
        parameters=page, responses={200: OrderPage, 422: None},
    )  # fmt: skip
    orders(
        "GET", "/orders/{order_id}", summary="One of your orders",
        parameters=[order_id], responses={200: OrderOut, 404: None},
    )  # fmt: skip
    orders(
        "POST", "/orders/{order_id}/cancel", summary="Cancel an order (refund, restock; 202: still cancelling)",
        parameters=[order_id], responses={200: OrderOut, 202: OrderOut, 404: None, 409: None},
    )  # fmt: skip
    orders(
        "GET", "/orders/{order_id}/details", summary="An order with its payments",
        parameters=[order_id], responses={200: OrderDetails, 404: None},
    )  # fmt: skip
    spec.operation(
        "GET", "/notifications", summary="What the shop told you (an admin: anyone, or one user with user_id)",
        tags=["notifications"], auth=True, parameters=query_params(PublicNotificationQuery),
        responses={200: NotificationPage, 403: None, 422: None},
    )  # fmt: skip
    faults = functools.partial(spec.operation, tags=["admin"], auth=True, parameters=[
        path_param("service", "The service whose fault rules these are (docs/faults.md)", FaultService)])  # fmt: skip
    # 404: an unknown service, or one where faults are off (faults_disabled).
    faults("GET", "/admin/faults/{service}", summary="A service's fault rules (admin)",
           responses={200: FaultsOut, 403: None, 404: None})  # fmt: skip
    faults("PUT", "/admin/faults/{service}", summary="Replace a service's fault rules (admin)", request=FaultsIn,
           responses={200: FaultsOut, 403: None, 404: None})  # fmt: skip
    faults("DELETE", "/admin/faults/{service}", summary="Remove a service's fault rules (admin)",
           responses={200: FaultsOut, 403: None, 404: None})  # fmt: skip
    return spec
