"""The audit service's contract: its routes and their answers.

Routes (an admin's internal token, through the gateway or an operator's tool):

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
    at: str = Field(description="when the run read the services, ISO 8601")
    violations: dict[str, int] = Field(description="violations per invariant, every invariant present")
    details: list[ViolationOut]
