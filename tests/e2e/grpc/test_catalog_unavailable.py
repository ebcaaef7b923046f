"""The gateway's gRPC catalog client fails as its HTTP clients do: 503 when products cannot be reached, and an
open breaker after repeated failures, which then refuses at once without calling."""

import requests

from tests.support.grpc.catalog import gateway_over_grpc


def _gauge(exposition: str, name: str, labels: str) -> float:
    return next(
        float(line.rsplit(" ", 1)[1]) for line in exposition.splitlines() if line.startswith(f"{name}{{{labels}")
    )


def test_products_unreachable_over_grpc_is_503_and_opens_the_breaker(tmp_path):
    with gateway_over_grpc(None, tmp_path / "gateway.log") as gateway:
        first = requests.get(f"{gateway.url}/api/v1/products/1", timeout=10)
        assert first.status_code == 503
        assert first.json()["error"]["code"] == "upstream_unavailable"
        for _ in range(3):  # three attempts each (a read is retried): the breaker opens after five failures
            assert requests.get(f"{gateway.url}/api/v1/products", timeout=10).status_code == 503
        ready = requests.get(f"{gateway.url}/health/ready", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["checks"]["products_grpc"]["status"] == "fail"
        refused = requests.get(f"{gateway.url}/api/v1/products/1", timeout=10)
        assert refused.status_code == 503
        assert int(refused.headers["Retry-After"]) >= 1
        metrics = requests.get(f"{gateway.url}/metrics", timeout=5).text
        assert _gauge(metrics, "tienda_breaker_state", 'upstream="products_grpc"') == 2
        client = [line for line in metrics.splitlines() if line.startswith("rpc_client_duration_seconds_count{")]
        assert any(
            'rpc_grpc_status_code="UNAVAILABLE"' in line and 'rpc_method="GetProduct"' in line for line in client
        )
