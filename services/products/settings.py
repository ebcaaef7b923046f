"""The products service's settings: the common ones (:mod:`services.common.settings`) and its own."""

from __future__ import annotations

from dataclasses import dataclass

from services.common.settings import Settings


@dataclass(frozen=True, kw_only=True)
class ProductSettings(Settings):
    SERVICE = "products"

    #: Insert the demo catalog when the database has never had a product (tests start empty with False).
    seed_catalog: bool = True
