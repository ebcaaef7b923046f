"""docs/tour.md against docker-compose.yml: the memory table, the total and the URLs it sends readers to."""

from __future__ import annotations

import re

from tests.support.compose import MIB, ROOT

TOUR = ROOT / "docs" / "tour.md"
ROW = re.compile(r"^\|\s*`?([a-z][\w-]*)`?\s*\|\s*(\d+)\s*MiB\s*\|", re.MULTILINE)


def test_the_tours_memory_table_lists_every_container_with_its_compose_limit(services):
    table = {name: int(mib) * MIB for name, mib in ROW.findall(TOUR.read_text())}
    compose = {name: service.mem_limit for name, service in services.items()}
    assert table == compose, "docs/tour.md's memory table and docker-compose.yml disagree"


def test_the_tour_states_the_compose_memory_total(services):
    total = sum(service.mem_limit for service in services.values()) // MIB
    match = re.search(r"\*\*Total:\s*(\d+)\s*MiB", TOUR.read_text())
    assert match, "docs/tour.md must state the total: **Total: N MiB"
    assert int(match[1]) == total


def test_every_local_url_in_the_tour_is_a_port_compose_publishes(services):
    published = {port for service in services.values() for port in service.published_ports}
    ports = {int(port) for port in re.findall(r"http://(?:127\.0\.0\.1|localhost):(\d+)", TOUR.read_text())}
    assert {3000, 16686, 9090, 8089, 8000} <= ports, "the tour names Grafana, Jaeger, Prometheus, Locust, the shop"
    assert ports <= published, f"the tour sends readers to unpublished ports {sorted(ports - published)}"


def test_the_tour_walks_from_the_overview_through_an_exemplar_to_the_trace_and_its_logs():
    text = TOUR.read_text()
    for step in ("tienda-overview", "Service detail", "exemplar", "Query with Jaeger", "docker compose logs"):
        assert step in text, f"docs/tour.md lost the step mentioning {step!r}"
