"""The products service's gRPC contract, for its server and its callers alike: the generated messages of
``proto/tienda/products/v1/products.proto`` and the names both sides share."""

from __future__ import annotations

from typing import Final

from tienda.products.v1 import products_pb2 as pb
from tienda.products.v1 import products_pb2_grpc as pb_grpc

from telemetry.grpc import methods_of

__all__ = ["ERROR_CODE_KEY", "METHODS", "SERVICE", "SERVICE_NAME", "pb", "pb_grpc"]

SERVICE: Final = pb.DESCRIPTOR.services_by_name["ProductService"]
#: ``tienda.products.v1.ProductService``
SERVICE_NAME: Final = SERVICE.full_name
#: Every method's full name (``/tienda.products.v1.ProductService/GetProduct``): the RPC metrics' label values.
METHODS: Final = methods_of(SERVICE)
#: The trailing metadata key that names the domain's error code (``product_not_found``, ``sku_taken``, ...).
ERROR_CODE_KEY: Final = "tienda-error-code"
