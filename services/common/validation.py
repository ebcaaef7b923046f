"""Strict parsing of request bodies and query strings with pydantic.

* A body that is not JSON (or not an object) is 400 ``invalid_json``.
* Missing, extra or wrong-typed fields are 422 ``invalid_input`` with ``details`` listing each problem as
  ``{"field": "items.0.quantity", "message": "..."}``; the offending values are never echoed back, since
  they may be card numbers or passwords.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from flask import Request
from pydantic import BaseModel, ConfigDict, ValidationError

from .errors import BadRequest, InvalidInput

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for request models: unknown fields rejected, no type coercion ("5" is not 5)."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in error["loc"]) or "(body)", "message": error["msg"]}
        for error in exc.errors(include_input=False, include_url=False)
    ]


def parse(model: type[M], data: Any) -> M:
    """Validate ``data`` (already decoded JSON) against ``model``."""
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput("The request body is invalid.", details=_details(exc)) from None


def parse_json_body(model: type[M], request: Request) -> M:
    """Decode the Flask ``request`` body as JSON and validate it against ``model``."""
    try:
        data = request.get_json(silent=True, force=True)
    except RecursionError:  # absurdly nested JSON is not a server error
        data = None
    if data is None:
        raise BadRequest("The request body must be valid JSON.", code="invalid_json")
    return parse(model, data)


def parse_query(model: type[M], args: Mapping[str, str]) -> M:
    """Validate query parameters (strings, coerced to the model's types)."""
    try:
        return model.model_validate(dict(args.items()), strict=False)
    except ValidationError as exc:
        raise InvalidInput("The query string is invalid.", details=_details(exc)) from None
