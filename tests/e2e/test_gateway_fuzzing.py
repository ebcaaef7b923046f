"""schemathesis fuzzes the public API from the gateway's own OpenAPI document and finds no 5xx.

The "coverage" phase is left out: with this schemathesis/hypothesis pair it sometimes dies inside
hypothesis (``SystemError: AST constructor recursion depth mismatch``) before sending anything.
"""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.shop import bearer


@pytest.mark.timeout(300)
def test_fuzzing_the_public_api_finds_no_server_error(shop, tmp_path):
    token = shop.admin_token()  # admin, so the catalog writes are fuzzed too, not just refused with 403
    report = tmp_path / "schemathesis"
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")), "run", shop.url("/openapi.json"),
            "--url", shop.api,
            "--checks", "not_a_server_error",
            "--phases", "examples,fuzzing",
            "--exclude-tag", "admin",  # fault rules: their valid requests break the shared shop on purpose
            "--max-examples", "25",
            "--workers", "2",
            "--request-timeout", "30",
            "--max-time", "40",
            "-H", f"Authorization: {bearer(token)['Authorization']}",
            "--report", "junit", "--report-dir", str(report),
            "--no-color",
        ],
        capture_output=True, text=True, timeout=240, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "operations" in result.stdout.lower() or "passed" in result.stdout.lower()
