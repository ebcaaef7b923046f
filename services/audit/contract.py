"""The audit service's contract: its routes and their answers.

Routes (each needs an internal token acting for an admin and issued as the gateway, the rule
``services.common.access.admins()``). The gateway has no route to them: an operator calls the audit service
directly (:8006) with such a token, minted with ``INTERNAL_TOKEN_KEY`` (docs/security.md "Internal tokens").
``python -m services.audit`` needs neither route: it runs the audit once in its own process.

``GET /audit/report``
    the last run's findings: 200 :class:`AuditReport`; 404 ``no_report`` before the first run completed.
``POST /audit/runs``
    run the audit now and answer its findings: 200 :class:`AuditReport`; 502/503/504 when a service could not be
    read (the run then counts as failed, and nothing is reported as clean).
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ViolationOut(BaseModel):
    invariant: str
    subject: str = Field(description="what breaks it: a product, an order, a saga, a reservation")
    message: str


class AuditReport(BaseModel):
    at: str = Field(description="when the run read the services, ISO 8601, UTC, to the microsecond")
    violations: dict[str, int] = Field(description="violations per invariant, every invariant present")
    details: list[ViolationOut]
