"""A small OpenAPI 3.1 document builder fed by the pydantic models the handlers validate with.

Handlers and their documentation cannot drift apart on shapes: request and response schemas are generated
from the same models (``model_json_schema``). Each service serves its document at ``GET /openapi.json``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

from flask import Flask, Response, jsonify
from pydantic import BaseModel, TypeAdapter

from .contract import Id
from .errors import FAILURES

#: What an operation that calls another service may answer when it fails: the statuses of
#: :data:`services.common.errors.FAILURES` (502 it failed or answered outside its contract, 503 it is unreachable,
#: 504 it was too slow).
UPSTREAM_FAILURES: Final[Mapping[int, None]] = MappingProxyType(
    dict.fromkeys(sorted({status for status, _, _ in FAILURES.values()}))
)
#: What an operation that takes a JSON body may answer for it: 400 unreadable, 413 over the body cap, 422 invalid.
BODY_ERRORS: Final[Mapping[int, None]] = MappingProxyType({400: None, 413: None, 422: None})

#: The version of every tienda API document: the services' HTTP APIs are versioned together (the gateway's
#: paths are under ``/api/v1``).
API_VERSION: Final = "1.0.0"

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "request_id"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "request_id": {"type": ["string", "null"]},
                "details": {},
            },
        }
    },
}

_REASONS = {
    200: "OK", 201: "Created", 204: "No Content", 400: "Bad request", 401: "Unauthenticated", 402: "Payment declined",
    403: "Forbidden", 404: "Not found", 409: "Conflict", 413: "Body too large", 422: "Invalid input",
    502: "Upstream failed", 503: "Upstream unavailable", 504: "Upstream timed out",
}  # fmt: skip


class ApiSpec:
    """One service's OpenAPI 3.1 document, versioned :data:`API_VERSION`.

    ``internal=True``: a service behind the gateway, where every operation needs an internal token
    (:mod:`services.common.access`) and may answer 401 or 403 for it. ``server_url``: the prefix the paths are
    relative to (the gateway's ``/api/v1``), stated as the document's server. ``every_operation``: answers
    every operation may give besides its own (the gateway's :data:`UPSTREAM_FAILURES`: each route calls a
    service).

    An operation lists only the answers of its own rules: those that follow from how it is declared are added
    here, so that no document forgets them (401 with ``auth``, :data:`BODY_ERRORS` with a ``request`` body).
    """

    def __init__(
        self,
        title: str,
        description: str = "",
        *,
        internal: bool = False,
        server_url: str = "",
        every_operation: Mapping[int, None] = MappingProxyType({}),
    ) -> None:
        self.info = {"title": title, "version": API_VERSION, "description": description}
        self.internal = internal
        self.every_operation = every_operation
        self.server_url = server_url
        self.paths: dict[str, dict[str, Any]] = {}
        self.schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def _ref(self, model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            self.schemas[name] = definition
        self.schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def operation(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        request: type[BaseModel] | None = None,
        responses: dict[int, type[BaseModel] | None],
        parameters: list[dict[str, Any]] | None = None,
        auth: bool = False,
        tags: list[str] | None = None,
    ) -> None:
        """Document ``method path`` (OpenAPI path syntax, ``/products/{id}``)."""
        op: dict[str, Any] = {"summary": summary, "operationId": f"{method.lower()}_{path}", "responses": {}}
        if tags:
            op["tags"] = tags
        if parameters:
            op["parameters"] = parameters
        if request is not None:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": self._ref(request)}}}
        implied: dict[int, type[BaseModel] | None] = dict(self.every_operation)
        if request is not None:
            implied |= BODY_ERRORS
        if auth or self.internal:
            implied[401] = None
        if self.internal:
            implied[403] = None
        for status, model in sorted({**implied, **responses}.items()):  # the operation's own entries win
            response: dict[str, Any] = {"description": _REASONS.get(status, "Response")}
            if status >= 400:
                response["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
            elif model is not None:
                response["content"] = {"application/json": {"schema": self._ref(model)}}
            op["responses"][str(status)] = response
        if auth or self.internal:
            op["security"] = [{"bearerAuth": []}]
        self.paths.setdefault(path, {})[method.lower()] = op

    def audit_read(self, name: str, what: str, query: type[BaseModel], model: type[BaseModel]) -> None:
        """Document ``GET /audit/<name>``, a keyset page (``query``, ``services.common.contract.KeysetQuery``)
        answering ``what`` in ``model`` to the integrity audit (services.audit); 400 for a bad page."""
        summary = f"{what}, for the integrity audit (internal)"
        self.operation(
            "GET", f"/audit/{name}", summary=summary, tags=["audit"], parameters=query_params(query),
            responses={200: model, 400: None},
        )  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"openapi": "3.1.0", "info": self.info}
        if self.server_url:
            document["servers"] = [{"url": self.server_url, "description": "this gateway"}]
        return {
            **document,
            "paths": self.paths,
            "components": {
                "schemas": self.schemas,
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
        }

    def install(self, app: Flask, path: str = "/openapi.json", endpoint: str = "openapi") -> None:
        """Serve the document at ``GET path`` (the view ``endpoint``)."""
        document = self.to_dict()

        def serve() -> Response:
            return jsonify(document)

        app.add_url_rule(path, endpoint, serve, methods=["GET"])


def _schema(schema: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in schema.items() if key not in ("title", "description")}


def path_param(name: str, description: str = "", schema: Any = Id) -> dict[str, Any]:
    """A path parameter; by default a resource id (``1..MAX_ID``), its schema made from the contract's type."""
    return {"name": name, "in": "path", "required": True, "description": description,
            "schema": _schema(TypeAdapter(schema).json_schema())}  # fmt: skip


def query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query parameters of a query model (what ``parse_query(model, ...)`` accepts), from its JSON schema."""
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "description": prop.get("description", ""),
         "schema": _schema(prop)}
        for name, prop in schema["properties"].items()
    ]  # fmt: skip
