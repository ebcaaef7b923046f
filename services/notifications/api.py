"""HTTP glue of the notifications service: parse, call :class:`~services.notifications.domain.NotificationService`,
answer JSON. Shapes are :mod:`services.notifications.contract`; :func:`openapi` documents the routes."""

from __future__ import annotations

import functools
from dataclasses import asdict

from flask import Blueprint, jsonify, request
from flask.typing import ResponseReturnValue as Answer

from services.common.access import callers, current_user, users
from services.common.openapi import ApiSpec, query_params
from services.common.validation import parse_query

from .contract import NotificationOut, NotificationPage, NotificationQuery
from .domain import NotificationService


def blueprint(service: NotificationService) -> Blueprint:
    bp = Blueprint("notifications", __name__)

    @bp.get("/notifications")
    @callers(users())
    def list_notifications() -> Answer:
        query = parse_query(NotificationQuery, request.args)
        found = service.list_notifications(current_user(), query.user_id, query.limit, query.offset)
        page = NotificationPage(
            items=[NotificationOut(**asdict(n)) for n in found],
            limit=query.limit,
            offset=query.offset,
        )
        return jsonify(page.model_dump(mode="json"))

    return bp


@functools.cache
def openapi() -> ApiSpec:
    spec = ApiSpec(
        "tienda notifications", "What the shop told its customers, from the events it consumed.", internal=True
    )
    spec.operation(
        "GET", "/notifications", summary="The caller's notifications (an admin: anyone's)", tags=["notifications"],
        parameters=query_params(NotificationQuery),
        responses={200: NotificationPage, 422: None},
    )  # fmt: skip
    return spec
