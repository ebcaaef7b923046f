"""Strict parsing of request bodies and query strings with pydantic.

* A body that is not standard JSON (or not an object) is 400 ``invalid_json``: ``NaN`` and ``Infinity``,
  which Python's decoder would take, are not JSON (:func:`loads_strict`).
* Missing, extra or wrong-typed fields are 422 ``invalid_input`` with ``details`` listing each problem as
  ``{"field": "items.0.quantity", "message": "..."}``; the offending values are never echoed back, since
  they may be card numbers or passwords.
"""

from __future__ import annotations

import json
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


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strict(data: bytes | str) -> Any:
    """Decode standard JSON: ``NaN`` and ``Infinity`` (which Python's decoder accepts) are refused, and so is
    nesting too deep to decode. Raises ``ValueError`` for anything that is not JSON."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:  # absurdly nested JSON is not a server error
        raise ValueError("JSON nested too deeply") from None


def json_body(request: Request) -> Any:
    """The Flask ``request``'s body decoded by :func:`loads_strict`, whatever its content type; reading it
    enforces the app's body cap (413)."""
    try:
        return loads_strict(request.get_data())
    except ValueError:
        raise BadRequest("The request body must be valid JSON.", code="invalid_json") from None


def json_object(request: Request) -> dict[str, Any]:
    """The request's body, which must be a JSON object (400 ``invalid_json`` otherwise)."""
    data = json_body(request)
    if not isinstance(data, dict):
        raise BadRequest("The request body must be a JSON object.", code="invalid_json")
    return data


def parse_json_body(model: type[M], request: Request) -> M:
    """Decode the Flask ``request`` body as JSON and validate it against ``model``."""
    return parse(model, json_object(request))


def parse_query(model: type[M], args: Mapping[str, str]) -> M:
    """Validate query parameters (strings, coerced to the model's types)."""
    try:
        return model.model_validate(dict(args.items()), strict=False)
    except ValidationError as exc:
        raise InvalidInput("The query string is invalid.", details=_details(exc)) from None
