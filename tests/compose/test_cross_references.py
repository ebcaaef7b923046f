"""docker-compose.yml against the files it mounts and the configs that name its services:
prometheus/prometheus.yml, dashboards/, deploy/compose/ (Jaeger, RabbitMQ, PostgreSQL)."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

import yaml

from tests.support.compose import ROOT, url_endpoint

LOOPBACK = ("localhost", "127.0.0.1", "::1")
#: Datasource uids Grafana itself provides (annotations, mixed panels, dashboard-to-dashboard).
GRAFANA_BUILTIN_DATASOURCES = {"grafana", "-- Grafana --", "-- Mixed --", "-- Dashboard --"}


def bind_mounts(raw_service: dict) -> list[tuple[str, str]]:
    """(source relative to the repository, container path) of every bind mount of a service as written."""
    mounts = []
    for volume in raw_service.get("volumes") or []:
        if isinstance(volume, dict):
            if volume.get("type", "bind") == "bind":
                mounts.append((volume["source"], volume["target"]))
            continue
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/")):
            mounts.append((source, target))
    return mounts


def host_path_of(raw_compose: dict, service: str, container_path: str) -> Path:
    """The repository path a container path of ``service`` comes from, through its bind mounts."""
    wanted = PurePosixPath(container_path)
    for source, target in bind_mounts(raw_compose["services"][service]):
        target = PurePosixPath(target)
        if wanted == target or target in wanted.parents:
            return (ROOT / source / wanted.relative_to(target)).resolve()
    raise AssertionError(f"{container_path} is not mounted into {service} from the repository")


def service_running(services, image_prefix: str) -> str:
    names = [name for name, s in services.items() if s.config.get("image", "").startswith(image_prefix)]
    assert len(names) == 1, f"expected one service running {image_prefix}, found {names}"
    return names[0]


def assert_reachable(services, host: str, port: int, what: str) -> None:
    assert host in services, f"{what}: {host} is not a compose service"
    assert port in services[host].container_ports, (
        f"{what}: {host} does not listen on {port} (declares {sorted(services[host].container_ports)})"
    )


# ---- mounts ----------------------------------------------------------------------------------------------


def test_every_file_or_directory_mounted_from_the_repository_exists(raw_compose):
    missing = [
        f"{name}: {source}"
        for name, config in raw_compose["services"].items()
        for source, _ in bind_mounts(config)
        if not (ROOT / source).exists()
    ]
    assert not missing, f"mounted but missing: {missing}"


def test_every_named_volume_is_declared(raw_compose):
    declared = set(raw_compose.get("volumes") or {})
    for name, config in raw_compose["services"].items():
        for volume in config.get("volumes") or []:
            source = volume.get("source") if isinstance(volume, dict) else volume.split(":")[0]
            if source and not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared under volumes:"


def test_the_stack_mounts_configs_where_the_other_parts_of_the_repository_expect_them(raw_compose, services):
    prometheus = service_running(services, "prom/prometheus:")
    grafana = service_running(services, "grafana/grafana:")
    for service, container_path, repository_path in (
        (prometheus, "/etc/prometheus", "prometheus"),
        (grafana, "/etc/grafana/provisioning", "dashboards/provisioning"),
        (grafana, "/var/lib/grafana/dashboards", "dashboards/json"),
    ):
        assert host_path_of(raw_compose, service, container_path) == (ROOT / repository_path).resolve()
    flags = services[prometheus].command
    assert "--config.file=/etc/prometheus/prometheus.yml" in flags
    features = [f for flag in flags if flag.startswith("--enable-feature=") for f in flag.split("=", 1)[1].split(",")]
    assert "exemplar-storage" in features, "exemplars (the way from a latency spike to its trace) need the flag"


# ---- Prometheus ------------------------------------------------------------------------------------------


def prometheus_config() -> dict:
    return yaml.safe_load((ROOT / "prometheus" / "prometheus.yml").read_text())


def test_every_prometheus_scrape_target_is_a_compose_service_listening_on_that_port(services):
    prometheus = service_running(services, "prom/prometheus:")
    targets = [
        (job["job_name"], target)
        for job in prometheus_config()["scrape_configs"]
        for group in job.get("static_configs", [])
        for target in group["targets"]
    ]
    assert targets, "prometheus.yml has no static targets"
    for job, target in targets:
        host, port = target.rsplit(":", 1)
        host = prometheus if host in LOOPBACK else host
        assert_reachable(services, host, int(port), f"job {job} target {target}")
        if services[host].is_app:
            assert int(port) == services[host].gunicorn_port, f"{target}: {host}'s gunicorn binds another port"


def test_prometheus_scrapes_every_app_service(app_services):
    scraped = {
        target.rsplit(":", 1)[0]
        for job in prometheus_config()["scrape_configs"]
        for group in job.get("static_configs", [])
        for target in group["targets"]
    }
    assert set(app_services) <= scraped, f"not scraped: {set(app_services) - scraped}"


def test_every_prometheus_rule_file_pattern_matches_files_in_the_mounted_directory():
    config = prometheus_config()
    for pattern in config.get("rule_files") or []:
        assert not Path(pattern).is_absolute(), f"{pattern}: relative to /etc/prometheus, so it works in compose"
        assert sorted((ROOT / "prometheus").glob(pattern)), f"rule_files {pattern} matches nothing in prometheus/"


# ---- Grafana ---------------------------------------------------------------------------------------------


def provisioned_datasources() -> list[dict]:
    files = sorted((ROOT / "dashboards/provisioning/datasources").glob("*.y*ml"))
    assert files, "no datasource provisioning in dashboards/provisioning/datasources/"
    return [ds for path in files for ds in (yaml.safe_load(path.read_text()) or {}).get("datasources") or []]


def dashboards() -> dict[Path, dict]:
    files = sorted((ROOT / "dashboards/json").glob("*.json"))
    return {path: json.loads(path.read_text()) for path in files}


def datasource_references(node, found: list) -> list:
    """Every ``datasource`` value anywhere in a dashboard (panels, targets, annotations, variables)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and value is not None:
                found.append(value)
            else:
                datasource_references(value, found)
    elif isinstance(node, list):
        for item in node:
            datasource_references(item, found)
    return found


def test_grafana_provisions_the_prometheus_and_jaeger_datasources_at_their_compose_addresses(services):
    by_uid = {ds.get("uid"): ds for ds in provisioned_datasources()}
    assert {"prometheus", "jaeger"} <= set(by_uid), f"provisioned uids: {sorted(by_uid)}"
    for uid, image, port in (("prometheus", "prom/prometheus:", 9090), ("jaeger", "jaegertracing/jaeger:", 16686)):
        endpoint = url_endpoint(by_uid[uid]["url"])
        assert endpoint, f"datasource {uid}: url {by_uid[uid]['url']!r} needs host and port"
        assert endpoint == (service_running(services, image), port), f"datasource {uid}: {by_uid[uid]['url']}"


def test_prometheus_exemplars_link_to_the_jaeger_datasource_by_trace_id():
    prometheus = next(ds for ds in provisioned_datasources() if ds.get("uid") == "prometheus")
    destinations = (prometheus.get("jsonData") or {}).get("exemplarTraceIdDestinations") or []
    assert any(d.get("datasourceUid") == "jaeger" and d.get("name") == "trace_id" for d in destinations), (
        "the Prometheus datasource needs exemplarTraceIdDestinations [{name: trace_id, datasourceUid: jaeger}]"
        " for 'Query with Jaeger' (the exemplar label is trace_id, see telemetry/metrics.py)"
    )


def test_grafana_dashboard_providers_read_the_directory_compose_mounts(raw_compose, services):
    grafana = service_running(services, "grafana/grafana:")
    files = sorted((ROOT / "dashboards/provisioning/dashboards").glob("*.y*ml"))
    assert files, "no dashboard provider in dashboards/provisioning/dashboards/"
    providers = [p for path in files for p in (yaml.safe_load(path.read_text()) or {}).get("providers") or []]
    assert providers
    for provider in providers:
        path = host_path_of(raw_compose, grafana, provider["options"]["path"])
        assert path.is_dir() and sorted(path.glob("*.json")), f"provider {provider.get('name')}: {path} has no JSON"


def test_grafanas_home_dashboard_is_the_shop_overview(raw_compose, services):
    grafana = service_running(services, "grafana/grafana:")
    home = services[grafana].environment.get("GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH")
    assert home, "Grafana should open on the Shop overview"
    path = host_path_of(raw_compose, grafana, home)
    assert path.is_file(), f"{home} is {path} in the repository, which does not exist"
    assert json.loads(path.read_text()).get("uid") == "tienda-overview"


def test_every_dashboard_uses_only_provisioned_datasource_uids():
    provisioned = provisioned_datasources()
    uids = {ds["uid"] for ds in provisioned if ds.get("uid")}
    names = {ds["name"] for ds in provisioned}
    boards = dashboards()
    assert boards, "no dashboards in dashboards/json/"
    for path, board in boards.items():
        variables = {
            v["name"] for v in (board.get("templating") or {}).get("list", []) if v.get("type") == "datasource"
        }
        for reference in datasource_references(board, []):
            if isinstance(reference, str):
                uid_or_name = reference
                ok = reference in names or reference in uids or reference in GRAFANA_BUILTIN_DATASOURCES
            else:
                uid_or_name = reference.get("uid")
                ok = uid_or_name is None or uid_or_name in uids or uid_or_name in GRAFANA_BUILTIN_DATASOURCES
            variable = re.fullmatch(r"\$\{?(\w+)(?::\w+)?\}?", uid_or_name or "")
            if variable:
                ok = variable[1] in variables
            assert ok, f"{path.name}: datasource {reference!r} is not provisioned (uids {sorted(uids)})"


def test_dashboard_uids_are_unique_and_every_uid_the_tour_names_exists():
    uids = [board.get("uid") for board in dashboards().values()]
    assert all(uids), "every dashboard needs a fixed uid (links and the tour use them)"
    assert len(uids) == len(set(uids)), f"duplicate dashboard uids: {sorted(uids)}"
    tour = (ROOT / "docs" / "tour.md").read_text()
    named = set(re.findall(r"/d/([\w-]+)", tour)) | set(re.findall(r"uid\s+`([\w-]+)`", tour))
    assert "tienda-overview" in named, "the tour starts from the Shop overview"
    assert named <= set(uids), f"docs/tour.md names dashboards that do not exist: {sorted(named - set(uids))}"


# ---- the app services' wiring ----------------------------------------------------------------------------


def test_every_address_an_app_service_is_given_is_a_compose_service_listening_there(app_services, services):
    for name, service in app_services.items():
        for key, value in service.environment.items():
            endpoint = url_endpoint(value)
            if endpoint:
                assert_reachable(services, *endpoint, f"{name} {key}")
                target = services[endpoint[0]]
                if target.is_app:  # gunicorn's port; a grpc:// URL names the gRPC port the target serves on
                    grpc = value.startswith("grpc://")
                    port = int(target.environment.get("PRODUCTS_GRPC_PORT", 0)) if grpc else target.gunicorn_port
                    assert endpoint[1] == port, f"{name} {key}={value}"


def test_app_services_wait_for_every_service_they_are_given_the_address_of(app_services, services):
    for name, service in app_services.items():
        called = {url_endpoint(v)[0] for v in service.environment.values() if url_endpoint(v)}
        waited = set(service.config.get("depends_on") or {})
        assert called <= waited, f"{name} does not wait for {called - waited}"


# ---- Jaeger ----------------------------------------------------------------------------------------------


def jaeger_setup(raw_compose, services) -> tuple[str, dict]:
    jaeger = service_running(services, "jaegertracing/jaeger:")
    command = services[jaeger].command
    flag = command.index("--config")
    config_path = host_path_of(raw_compose, jaeger, command[flag + 1])
    return jaeger, yaml.safe_load(config_path.read_text())


def port_of(endpoint: str) -> int:
    return int(endpoint.rsplit(":", 1)[1])


def test_jaeger_keeps_a_bounded_number_of_traces_in_memory(raw_compose, services):
    _, config = jaeger_setup(raw_compose, services)
    backends = config["extensions"]["jaeger_storage"]["backends"]
    query_backend = config["extensions"]["jaeger_query"]["storage"]["traces"]
    assert query_backend in backends
    assert config["exporters"]["jaeger_storage_exporter"]["trace_storage"] == query_backend
    max_traces = backends[query_backend]["memory"]["max_traces"]
    assert 1000 <= max_traces <= 50000, f"max_traces={max_traces}: too few for hours of traces, or unbounded memory"


def test_jaeger_pipeline_uses_only_components_its_config_defines(raw_compose, services):
    _, config = jaeger_setup(raw_compose, services)
    service = config["service"]
    for extension in service["extensions"]:
        assert extension in config["extensions"], extension
    for pipeline in service["pipelines"].values():
        for kind in ("receivers", "processors", "exporters"):
            for component in pipeline.get(kind, []):
                assert component in (config.get(kind) or {}), f"{kind}: {component}"


def test_jaeger_listens_where_the_services_send_spans_and_grafana_reads_them(raw_compose, services, app_services):
    jaeger, config = jaeger_setup(raw_compose, services)
    protocols = config["receivers"]["otlp"]["protocols"]
    listening = services[jaeger].container_ports
    assert {port_of(protocols["grpc"]["endpoint"]), port_of(protocols["http"]["endpoint"])} == {4317, 4318}
    assert {4317, 4318} <= listening
    for name, service in app_services.items():
        env = service.environment
        endpoint = url_endpoint(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
        assert endpoint == (jaeger, port_of(protocols["http"]["endpoint"])), f"{name}: {endpoint}"
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf", name
    query_port = port_of(config["extensions"]["jaeger_query"]["http"]["endpoint"])
    assert query_port == 16686 and query_port in services[jaeger].published_ports


def test_jaeger_healthcheck_probes_its_health_extension(raw_compose, services):
    jaeger, config = jaeger_setup(raw_compose, services)
    health_port = port_of(config["extensions"]["healthcheckv2"]["http"]["endpoint"])
    probe = " ".join(services[jaeger].config["healthcheck"]["test"])
    assert f"127.0.0.1:{health_port}/status" in probe


# ---- RabbitMQ and PostgreSQL -----------------------------------------------------------------------------


def test_rabbitmq_loads_the_prometheus_plugin_on_the_port_prometheus_scrapes(raw_compose, services):
    rabbitmq = service_running(services, "rabbitmq:")
    plugins_file = host_path_of(raw_compose, rabbitmq, "/etc/rabbitmq/enabled_plugins")
    text = plugins_file.read_text().strip()
    assert re.fullmatch(r"\[\s*[a-z_]+(\s*,\s*[a-z_]+)*\s*\]\s*\.", text), f"not an Erlang list term: {text!r}"
    plugins = set(re.findall(r"[a-z_]+", text))
    assert {"rabbitmq_management", "rabbitmq_prometheus"} <= plugins
    assert {5672, 15672, 15692} <= services[rabbitmq].container_ports


def test_postgres_creates_exactly_the_databases_the_services_connect_to(raw_compose, services, app_services):
    postgres = service_running(services, "postgres:")
    env = services[postgres].environment
    created = set(env["TIENDA_DATABASES"].split())
    init_dir = host_path_of(raw_compose, postgres, "/docker-entrypoint-initdb.d")
    scripts = sorted(init_dir.glob("*.sh"))
    assert scripts and all(s.stat().st_mode & 0o111 for s in scripts), "init scripts must be executable"
    connected = {}
    for name, service in app_services.items():
        url = service.environment.get("DATABASE_URL")
        if url is None:
            continue
        parts = urlsplit(url)
        assert parts.scheme == "postgresql+psycopg", f"{name}: {parts.scheme}"
        assert (parts.hostname, parts.port) == (postgres, 5432), f"{name}: {url}"
        database = parts.path.lstrip("/")
        assert parts.username == database == name, f"{name}: its own role and database, named after it"
        assert parts.password == env["TIENDA_DB_PASSWORD"], f"{name}: password differs from TIENDA_DB_PASSWORD"
        connected[name] = database
    assert created == set(connected.values()), f"created {sorted(created)}, used {sorted(connected.values())}"
    assert len(set(connected.values())) == len(connected), "no two services share a database"


def test_postgres_healthcheck_goes_over_tcp_so_it_passes_only_after_the_init_scripts(services):
    postgres = service_running(services, "postgres:")
    probe = services[postgres].config["healthcheck"]["test"]
    assert "pg_isready" in probe
    # The image runs the init scripts on a socket-only server: a socket check would pass before them.
    assert "-h" in probe and probe[probe.index("-h") + 1] == "127.0.0.1", probe
