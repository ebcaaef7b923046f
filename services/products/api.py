"""HTTP glue of the products service: parse and validate, call :class:`~services.products.domain.ProductService`,
answer JSON.

Request and response shapes are the models of :mod:`services.products.contract`; :func:`openapi` documents every
route with the same models, so the document and the handlers cannot disagree.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue as Answer

from services.common.access import ANY_CALLER, admins, callers, services
from services.common.contract import PageQuery, utc_timestamp
from services.common.openapi import ApiSpec, path_param, query_params
from services.common.validation import parse_json_body, parse_query
from services.common.web import audit_read

from .contract import (
    AuditReservation,
    AuditReservations,
    AuditReservationsQuery,
    AuditStock,
    AuditStockQuery,
    ProductCreate,
    ProductOut,
    ProductPage,
    ProductUpdate,
    ReservationCreate,
    ReservationId,
    ReservationOut,
    Restock,
)
from .domain import Item, NewProduct, Product, ProductChanges, ProductService, Reservation, ReservationState


def _product(product: Product) -> dict[str, Any]:
    return ProductOut.model_validate(product, from_attributes=True).model_dump()


def _reservation(reservation: Reservation) -> dict[str, Any]:
    return ReservationOut.model_validate(reservation, from_attributes=True).model_dump()


def _audit_reservation(state: ReservationState) -> AuditReservation:
    return AuditReservation.model_validate({**vars(state), "updated_at": utc_timestamp(state.updated_at)})


def _transition_handler(transition: Callable[[str], Reservation]) -> Callable[[str], Answer]:
    def handle(reservation_id: str) -> Answer:
        return jsonify(_reservation(transition(reservation_id)))

    return handle


def blueprint(service: ProductService) -> Blueprint:
    """The routes of the service, bound to ``service``; each declares its callers (:mod:`services.common.access`)."""
    bp = Blueprint("products", __name__)

    @bp.get("/products")
    @callers(ANY_CALLER)
    def list_products() -> Answer:
        page = parse_query(PageQuery, request.args)
        products, total = service.list_products(page.limit, page.offset)
        return jsonify(items=[_product(p) for p in products], total=total, limit=page.limit, offset=page.offset)

    @bp.get("/products/<int:product_id>")
    @callers(ANY_CALLER)
    def get_product(product_id: int) -> Answer:
        return jsonify(_product(service.get_product(product_id)))

    @bp.post("/products")
    @callers(admins())
    def create_product() -> Answer:
        body = parse_json_body(ProductCreate, request)
        product = service.create_product(NewProduct(**body.model_dump()))
        return jsonify(_product(product)), 201, {"Location": f"/products/{product.id}"}

    @bp.put("/products/<int:product_id>")
    @callers(admins())
    def update_product(product_id: int) -> Answer:
        body = parse_json_body(ProductUpdate, request)
        return jsonify(_product(service.update_product(product_id, ProductChanges(**body.model_dump()))))

    @bp.delete("/products/<int:product_id>")
    @callers(admins())
    def delete_product(product_id: int) -> Answer:
        service.delete_product(product_id)
        return "", 204

    @bp.post("/products/<int:product_id>/restock")
    @callers(admins())
    def restock(product_id: int) -> Answer:
        body = parse_json_body(Restock, request)
        return jsonify(_product(service.restock(product_id, body.quantity)))

    @bp.post("/reservations")
    @callers(services("orders"))
    def reserve() -> Answer:
        body = parse_json_body(ReservationCreate, request)
        items = [Item(item.product_id, item.quantity) for item in body.items]
        reservation, created = service.reserve(body.reservation_id, items)
        headers = {"Location": f"/reservations/{reservation.reservation_id}"}
        return jsonify(_reservation(reservation)), 201 if created else 200, headers

    @bp.get("/reservations/<reservation_id>")
    @callers(services("orders"))
    def get_reservation(reservation_id: str) -> Answer:
        return jsonify(_reservation(service.get_reservation(reservation_id)))

    # POST /reservations/<reservation_id>/commit, /release and /return: one transition each, the same answer.
    for action, transition in (
        ("commit", service.commit),
        ("release", service.release),
        ("return", service.return_stock),
    ):
        rule = f"/reservations/<reservation_id>/{action}"
        bp.add_url_rule(
            rule, transition.__name__, callers(services("orders"))(_transition_handler(transition)), methods=["POST"]
        )

    audit_read(bp, "stock", AuditStockQuery, AuditStock, service.audit_stock, lambda p: p.product_id)
    audit_read(
        bp, "reservations", AuditReservationsQuery, AuditReservations, service.audit_reservations,
        lambda r: r.reservation_id, _audit_reservation,
    )  # fmt: skip

    return bp


@functools.cache
def openapi() -> ApiSpec:
    """The OpenAPI document of every route of :func:`blueprint` (built once: the models never change)."""
    spec = ApiSpec(
        "tienda products",
        "Catalog and stock reservations. Every route needs an internal token (docs/security.md): admin writes an "
        "admin's through the gateway, reservations the orders service's.",
        internal=True,
    )
    product_id = [path_param("id", "product id")]
    reservation_id = [path_param("id", "reservation id", ReservationId)]
    catalog = functools.partial(spec.operation, tags=["products"])
    admin = functools.partial(spec.operation, auth=True, tags=["products"])  # an admin via the gateway
    reservations = functools.partial(spec.operation, tags=["reservations"])
    catalog(
        "GET", "/products", summary="List products", parameters=query_params(PageQuery),
        responses={200: ProductPage, 422: None},
    )  # fmt: skip
    catalog(
        "GET", "/products/{id}", summary="Get a product", parameters=product_id,
        responses={200: ProductOut, 404: None},
    )  # fmt: skip
    admin(
        "POST", "/products", summary="Create a product (admin)", request=ProductCreate,
        responses={201: ProductOut, 409: None},
    )  # fmt: skip
    for method, path, summary, body in (
        ("PUT", "/products/{id}", "Change a product (admin)", ProductUpdate),
        ("POST", "/products/{id}/restock", "Add stock (admin)", Restock),
    ):
        admin(
            method, path, summary=summary, request=body, parameters=product_id,
            responses={200: ProductOut, 404: None},
        )  # fmt: skip
    admin(
        "DELETE", "/products/{id}", summary="Delete a product (admin): no longer listed or reservable",
        parameters=product_id, responses={204: None, 404: None},
    )  # fmt: skip
    reservations(
        "POST", "/reservations", summary="Hold stock for every item or for none (idempotent per reservation_id)",
        request=ReservationCreate,
        responses={200: ReservationOut, 201: ReservationOut, 409: None},
    )  # fmt: skip
    reservations(
        "GET", "/reservations/{id}", summary="Get a reservation", parameters=reservation_id,
        responses={200: ReservationOut, 404: None},
    )  # fmt: skip
    for action, summary in (
        ("commit", "Commit a held reservation (the order is confirmed)"),
        ("release", "Release a held reservation: its stock goes back (an unknown one becomes a tombstone)"),
        ("return", "Give back the stock of a committed reservation (the order was cancelled)"),
    ):
        reservations(
            "POST", f"/reservations/{{id}}/{action}", summary=summary, parameters=reservation_id,
            responses={200: ReservationOut, 404: None, 409: None},
        )  # fmt: skip
    spec.audit_read("stock", "A page of products' stock figures by product id", AuditStockQuery, AuditStock)
    spec.audit_read(
        "reservations", "A page of reservations' states by reservation id", AuditReservationsQuery, AuditReservations
    )
    return spec
