"""schemathesis fuzzes the gateway in-process from its own document: whatever arrives, the gateway's own
checks (token, ids, page, body) never fail with a 5xx. The fakes answer 200 to anything, so every 5xx here
would be the gateway's own."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from tests.support.gateway import bearer


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_fuzzed_requests_never_make_the_gateway_fail(gateway, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", gateway.app)
    # The admin fault routes are left out: their valid requests fault the gateway on purpose (5xx, hangs);
    # tests/integration/gateway/test_admin_faults.py covers their input handling.
    operations = [op for op in (result.ok() for result in schema.get_all_operations()) if "admin" not in op.tags]
    assert len(operations) == 15

    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(max_examples=6, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call(headers=bearer(3, "admin"))

            where = (case.method, case.formatted_path, response.status_code)
            assert response.status_code < 500, (*where, response.text)
            is_json = response.headers.get("content-type") == ["application/json"]
            assert response.status_code == 204 or is_json, where

        fuzz()
