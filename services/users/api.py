"""HTTP glue of the users service: parse, call :class:`~services.users.domain.UserService`, answer JSON.

Request and response shapes are the models of :mod:`services.users.contract` (its docstring lists the routes);
:func:`openapi` documents every route with the same models.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue as Answer

from services.common.access import callers, current_user, services, users
from services.common.openapi import ApiSpec
from services.common.validation import parse_json_body

from .contract import RegisterUser, TokenOut, TokenRequest, UserOut
from .domain import User, UserService


def user_json(user: User) -> dict[str, Any]:
    return UserOut.model_validate(user, from_attributes=True).model_dump(mode="json")


def blueprint(service: UserService) -> Blueprint:
    """The routes of the service, bound to ``service``."""
    bp = Blueprint("users", __name__)

    @bp.post("/users")
    @callers(services("gateway"))
    def register() -> Answer:
        body = parse_json_body(RegisterUser, request)
        return jsonify(user_json(service.register(body.email, body.password, body.name))), 201

    @bp.post("/auth/token")
    @callers(services("gateway"))
    def issue_token() -> Answer:
        body = parse_json_body(TokenRequest, request)
        issued = service.issue_token(body.email, body.password)
        return jsonify(
            TokenOut(access_token=issued.token, expires_in=issued.expires_in_seconds).model_dump(mode="json")
        )

    @bp.get("/users/me")
    @callers(users())
    def me() -> Answer:
        identity = current_user()
        return jsonify(user_json(service.get(identity.user_id)))

    return bp


@functools.cache
def openapi() -> ApiSpec:
    """The OpenAPI document of every route of :func:`blueprint` (built once: the models never change)."""
    spec = ApiSpec("tienda users", "Accounts and login; JWTs for the gateway.", internal=True)
    spec.operation(
        "POST", "/users", summary="Register a user", request=RegisterUser, tags=["users"],
        responses={201: UserOut, 409: None},
    )  # fmt: skip
    spec.operation(
        "POST", "/auth/token", summary="Exchange email and password for a JWT", request=TokenRequest, tags=["auth"],
        responses={200: TokenOut, 401: None},
    )  # fmt: skip
    spec.operation(
        "GET", "/users/me", summary="The calling user", tags=["users"], auth=True,
        responses={200: UserOut, 404: None},
    )  # fmt: skip
    return spec
