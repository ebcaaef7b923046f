"""products over gRPC: ``tienda.products.v1.ProductService`` (proto/tienda/products/v1/products.proto) on
``PRODUCTS_GRPC_PORT`` (50051 under ``make up`` and compose), beside the HTTP API, in the same worker process.

Why in the worker and not a sibling process: the catalog's rules, its database pool and its metrics registry
are the worker's; a sibling would need its own pool and a second ``/metrics`` (prometheus_client keeps no
exemplars across processes, see :mod:`telemetry.gunicorn`), and one more process to supervise. gunicorn
imports the app in the worker (``preload_app`` is refused), so :func:`start` runs after the fork, where gRPC's
threads are safe. Its metrics are on the same HTTP ``/metrics``; nothing new to scrape.

The handlers are as thin as the HTTP ones: each validates with the models of :mod:`services.products.contract`
(the same bounds as HTTP, written once), calls :class:`~services.products.domain.ProductService`, and turns
what it returns into messages. Errors map in one place, :func:`status_of`:

================================================  ======================
domain error (HTTP status)                        gRPC status
================================================  ======================
invalid input, a bad request (422, 400)           ``INVALID_ARGUMENT``
no identity (401)                                 ``UNAUTHENTICATED``
not an admin (403)                                ``PERMISSION_DENIED``
not found (404)                                   ``NOT_FOUND``
a conflict, e.g. the SKU is taken (409)           ``ALREADY_EXISTS``
an upstream or the database unreachable           ``UNAVAILABLE``
the request's deadline passed                     ``DEADLINE_EXCEEDED``
================================================  ======================

The domain's error code (``product_not_found``, ``sku_taken``, ...) travels in the trailing metadata as
``tienda-error-code``, so the gateway answers the same JSON error over either transport.

``AddProduct`` needs what ``POST /products`` needs: an internal token of an admin through the gateway, in the
``authorization`` metadata (``Bearer <token>``, :mod:`services.common.access`); without one UNAUTHENTICATED,
for anyone else PERMISSION_DENIED.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Callable
from concurrent import futures
from typing import Any, Final, TypeVar

import grpc
import requests
import sqlalchemy.exc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2
from pydantic import BaseModel, TypeAdapter, ValidationError

import telemetry
from services.common.access import admins
from services.common.auth import Caller, bearer_token
from services.common.contract import CURRENCY, DEFAULT_PAGE_SIZE, MAX_ID, Id, PageQuery
from services.common.errors import DomainError, Forbidden, InvalidInput, UpstreamFailure
from telemetry import deadline
from telemetry.grpc import RpcMetrics, ServerInterceptor, metadata_dict, methods_of

from .contract import ProductCreate
from .domain import NewProduct, Product, ProductService
from .grpc_contract import ERROR_CODE_KEY, METHODS, SERVICE_NAME, pb, pb_grpc

log = logging.getLogger("services.products")

#: Threads serving gRPC calls (the HTTP side has GUNICORN_THREADS of its own).
MAX_WORKERS: Final = 8

#: Health checks and reflection are measured under their own names too (any other method is ``_OTHER``).
HEALTH_METHODS: Final = methods_of(health_pb2.DESCRIPTOR.services_by_name["Health"])
REFLECTION_METHODS: Final = methods_of(reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"])

_BY_STATUS: Final = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.ALREADY_EXISTS,
    422: grpc.StatusCode.INVALID_ARGUMENT,
}
_ID: Final = TypeAdapter(Id)

ModelT = TypeVar("ModelT", bound=BaseModel)
Answer = TypeVar("Answer")


def status_of(exc: Exception) -> tuple[grpc.StatusCode, str, str] | None:
    """The status, message and error code ``exc`` answers, or None when it is a defect (answered ``UNKNOWN``)."""
    if isinstance(exc, UpstreamFailure):
        return grpc.StatusCode.UNAVAILABLE, exc.message, exc.code
    if isinstance(exc, DomainError):
        return _BY_STATUS.get(exc.status, grpc.StatusCode.FAILED_PRECONDITION), exc.message, exc.code
    if isinstance(exc, deadline.DeadlineExceeded):
        return grpc.StatusCode.DEADLINE_EXCEEDED, "The request's deadline passed.", "deadline_exceeded"
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError | requests.ConnectionError):
        return grpc.StatusCode.UNAVAILABLE, "The products service cannot reach its database.", "unavailable"
    return None


def _validated(model: type[ModelT], data: dict[str, Any]) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = [{"field": ".".join(str(p) for p in error["loc"]), "message": error["msg"]} for error in exc.errors()]
        raise InvalidInput("The request is invalid.", details=fields) from None


def _product_id(value: int) -> int:
    try:
        return _ID.validate_python(value)
    except ValidationError:
        raise InvalidInput(f"The id must be an integer from 1 to {MAX_ID}.") from None


def _message(product: Product) -> pb.Product:
    return pb.Product(
        id=product.id,
        sku=product.sku,
        name=product.name,
        description=product.description,
        price=pb.Money(cents=product.price_cents, currency=product.currency),
        stock=product.stock,
    )


def _handled(
    rpc: Callable[[Any, Any, grpc.ServicerContext], Answer],
) -> Callable[[Any, Any, grpc.ServicerContext], Answer]:
    """The servicer method ``rpc`` with its domain errors answered as their statuses (:func:`status_of`)."""

    def handle(servicer: Any, request: Any, context: grpc.ServicerContext) -> Answer:
        try:
            return rpc(servicer, request, context)
        except Exception as exc:
            known = status_of(exc)
            if known is None:
                raise  # the interceptor logs and records it; gRPC answers UNKNOWN
            code, message, error_code = known
            context.set_trailing_metadata(((ERROR_CODE_KEY, error_code),))
            context.abort(code, message)

    handle.__name__ = rpc.__name__
    return handle


class ProductServicer(pb_grpc.ProductServiceServicer):
    def __init__(self, service: ProductService, verify: Callable[[str], Caller]) -> None:
        self.service = service
        self.verify = verify

    @_handled
    def GetProduct(self, request: pb.GetProductRequest, context: grpc.ServicerContext) -> pb.Product:  # noqa: N802
        return _message(self.service.get_product(_product_id(request.id)))

    @_handled
    def ListProducts(  # noqa: N802
        self, request: pb.ListProductsRequest, context: grpc.ServicerContext
    ) -> pb.ListProductsResponse:
        page = _validated(PageQuery, {"limit": request.limit or DEFAULT_PAGE_SIZE, "offset": request.offset})
        products, total = self.service.list_products(page.limit, page.offset)
        items = [_message(p) for p in products]
        return pb.ListProductsResponse(items=items, total=total, limit=page.limit, offset=page.offset)

    @_handled
    def AddProduct(self, request: pb.AddProductRequest, context: grpc.ServicerContext) -> pb.Product:  # noqa: N802
        caller = self.verify(bearer_token(metadata_dict(context.invocation_metadata()).get("authorization")))
        if not admins().allows(caller):
            raise Forbidden(f"{caller.subject} via {caller.service} may not add products.", code="forbidden_caller")
        body = _validated(
            ProductCreate,
            {
                "sku": request.sku,
                "name": request.name,
                "description": request.description,
                "price_cents": request.price.cents,
                "currency": request.price.currency or CURRENCY,
                "stock": request.stock,
            },
        )
        return _message(self.service.create_product(NewProduct(**body.model_dump())))


def start(
    service: ProductService,
    tel: telemetry.Telemetry,
    port: int,
    host: str = "127.0.0.1",
    *,
    verify: Callable[[str], Caller],
) -> tuple[grpc.Server, int]:
    """Serve the catalog, health and reflection on ``host:port`` (0: any free port); the server and its port.

    The server stops (one second of grace) when the process exits.
    """
    metrics = RpcMetrics(tel.metrics.registry, METHODS + HEALTH_METHODS + REFLECTION_METHODS)
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="grpc"),
        interceptors=[ServerInterceptor(tel.tracer, metrics)],
        options=[("grpc.so_reuseport", 0)],
    )
    pb_grpc.add_ProductServiceServicer_to_server(ProductServicer(service, verify), server)  # type: ignore[no-untyped-call]
    checks = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checks, server)
    reflection.enable_server_reflection((SERVICE_NAME, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"products cannot serve gRPC on {host}:{port}")
    server.start()
    for name in ("", SERVICE_NAME):
        checks.set(name, health_pb2.HealthCheckResponse.SERVING)
    atexit.register(server.stop, 1.0)
    log.info("gRPC serving", extra={"event": "grpc.serving", "port": bound, "service": SERVICE_NAME})
    return server, bound
