"""HTTP glue of the users service: parse, call the domain, answer JSON.

Routes (internal; the gateway publishes them under ``/api/v1``):

``POST /users``        register ``{email, password, name}`` -> 201 the user; 409 ``email_taken``
``POST /auth/token``   ``{email, password}`` -> 200 ``{access_token, token_type, expires_in}``; 401
                       ``invalid_credentials`` for an unknown email and a wrong password alike
``GET /users/me``      the caller named by ``X-User-Id`` / ``X-User-Role``; 401 without them, 404
                       ``user_not_found`` when the account no longer exists
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from flask import Blueprint, current_app, jsonify, request
from prometheus_client import CollectorRegistry, Counter
from pydantic import BaseModel, Field

from services.common import auth
from services.common.openapi import ApiSpec
from services.common.validation import Strict, parse_json_body

from .domain import (
    EMAIL_MAX_LENGTH,
    EMAIL_PATTERN,
    NAME_MAX_LENGTH,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    InvalidCredentials,
    User,
    UserService,
)

bp = Blueprint("users", __name__)

_PASSWORD = {"format": "password", "writeOnly": True}


class RegisterRequest(Strict):
    email: str = Field(max_length=EMAIL_MAX_LENGTH, pattern=EMAIL_PATTERN, description="Unique, any letter case.")
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH, json_schema_extra=_PASSWORD)
    name: str = Field(min_length=1, max_length=NAME_MAX_LENGTH, description="Leading and trailing blanks removed.")


class TokenRequest(Strict):
    email: str = Field(max_length=EMAIL_MAX_LENGTH)
    password: str = Field(max_length=PASSWORD_MAX_LENGTH, json_schema_extra=_PASSWORD)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: Literal["user", "admin"]
    created_at: datetime

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(id=user.id, email=user.email, name=user.name, role=user.role, created_at=user.created_at)


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class UsersMetrics:
    """The business metrics of the users service, in the app's registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registered = Counter("tienda_users_registered", "Accounts created by registration.", registry=registry)
        logins = Counter("tienda_logins", "Login attempts by outcome.", ("outcome",), registry=registry)
        self.login_success = logins.labels("success")
        self.login_failure = logins.labels("failure")  # both present at zero from the start


@dataclass(frozen=True)
class Wiring:
    """What the handlers need, kept in ``app.extensions["users"]``."""

    service: UserService
    metrics: UsersMetrics
    jwt_secret: str


def _wiring() -> Wiring:
    return current_app.extensions["users"]


@bp.post("/users")
def register():
    body = parse_json_body(RegisterRequest, request)
    wiring = _wiring()
    user = wiring.service.register(body.email, body.password, body.name)
    wiring.metrics.registered.inc()
    return jsonify(UserOut.of(user).model_dump(mode="json")), 201


@bp.post("/auth/token")
def token():
    body = parse_json_body(TokenRequest, request)
    wiring = _wiring()
    try:
        user = wiring.service.authenticate(body.email, body.password)
    except InvalidCredentials:
        wiring.metrics.login_failure.inc()
        raise
    wiring.metrics.login_success.inc()
    access_token = auth.issue_token(user.id, user.role, wiring.jwt_secret)
    return jsonify(TokenOut(access_token=access_token, expires_in=auth.TOKEN_TTL_SECONDS).model_dump(mode="json"))


@bp.get("/users/me")
def me():
    identity = auth.identity_from_headers(request.headers)
    user = _wiring().service.get(identity.user_id)
    return jsonify(UserOut.of(user).model_dump(mode="json"))


def _identity_header(name: str, schema: dict) -> dict:
    return {"name": name, "in": "header", "required": True, "description": "Set by the gateway.", "schema": schema}


def openapi() -> ApiSpec:
    """The OpenAPI document of every route of :data:`bp`."""
    spec = ApiSpec("tienda users", "1.0.0", "Accounts and login; JWTs for the gateway.")
    spec.operation(
        "POST", "/users", summary="Register a user", request=RegisterRequest, tags=["users"],
        responses={201: UserOut, 400: None, 409: None, 413: None, 422: None},
    )  # fmt: skip
    spec.operation(
        "POST", "/auth/token", summary="Exchange email and password for a JWT", request=TokenRequest, tags=["auth"],
        responses={200: TokenOut, 400: None, 401: None, 413: None, 422: None},
    )  # fmt: skip
    spec.operation(
        "GET", "/users/me", summary="The calling user", tags=["users"],
        parameters=[
            _identity_header(auth.USER_ID_HEADER, {"type": "string", "pattern": "^[0-9]+$"}),
            _identity_header(auth.USER_ROLE_HEADER, {"type": "string", "enum": list(auth.ROLES)}),
        ],
        responses={200: UserOut, 401: None, 404: None},
    )  # fmt: skip
    return spec
