"""deploy/k8s, rendered offline: every overlay validates strictly against a current Kubernetes release, and the
manifests agree with the code, docker-compose.yml and the architecture's calls."""

from __future__ import annotations

import re

import kubernetes_validate
import pytest
import yaml

from telemetry.health import LIVE_PATH, READY_PATH
from tests.support.compose import Service, env_names_read_by_code
from tests.support.image import compose_app_services
from tests.support.k8s import K8S, OVERLAYS, Pod, admitted, matches, of_kind, pods_of, render

#: Compose settings the manifests leave out on purpose.
NOT_IN_K8S = {
    # The compose demo's Locust drives the shop from one address; a cluster keeps the per-address defaults.
    "THROTTLE_LOGIN_PER_ADDRESS": "Locust demo",
    "THROTTLE_REGISTER_PER_ADDRESS": "Locust demo",
    # The per-service Deployment names itself through the downward API (pod-defaults.yaml).
    "OTEL_SERVICE_NAME": "downward API",
}
#: (service, variable) pairs of compose that a Deployment leaves out on purpose: none today.
NOT_IN_K8S_FOR: set[tuple[str, str]] = set()


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict]]:
    return {overlay: render(f"overlays/{overlay}") for overlay in OVERLAYS}


@pytest.fixture(scope="module")
def compose():
    return compose_app_services()


def container(deployment: dict) -> dict:
    (app,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "app"]
    return app


def test_every_overlay_validates_strictly_against_a_current_kubernetes_release(rendered):
    version = kubernetes_validate.latest_version()
    for overlay, resources in rendered.items():
        for resource in resources:
            where = f"{overlay}: {resource['kind']}/{resource['metadata']['name']}"
            if resource["apiVersion"].startswith("monitoring.coreos.com/"):
                # The Prometheus Operator's CRD has no schema in kubernetes-validate: its shape is checked below.
                assert resource["kind"] == "PodMonitor", where
                continue
            try:
                kubernetes_validate.validate(resource, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                pytest.fail(f"{where}: {error.message} at {list(error.path)}", pytrace=False)


def test_every_compose_service_has_a_deployment_with_its_command_probes_and_port(rendered, compose):
    for overlay, resources in rendered.items():
        deployments = of_kind(resources, "Deployment")
        for name, service in compose.items():
            assert name in deployments, f"{overlay}: no Deployment for compose service {name}"
            app = container(deployments[name])
            assert app["command"] == service.command, f"{overlay}/{name}: not compose's command"
            ports = {port["name"]: port["containerPort"] for port in app["ports"]}
            assert ports["http"] == Service(name, {"command": app["command"]}).gunicorn_port == service.gunicorn_port
            for probe, path in (
                ("startupProbe", LIVE_PATH),
                ("livenessProbe", LIVE_PATH),
                ("readinessProbe", READY_PATH),
            ):
                assert app[probe]["httpGet"] == {"path": path, "port": "http"}, f"{overlay}/{name}: {probe}"
            for port in service.container_ports - {ports["http"]}:
                assert port in ports.values(), f"{overlay}/{name}: compose exposes {port}, the pod does not"


def test_every_service_pod_is_non_root_read_only_capless_and_stops_gracefully(rendered):
    gunicorn = (K8S.parents[1] / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r"^graceful_timeout = (\d+)", gunicorn, re.M)[1])
    for overlay, resources in rendered.items():
        for name, deployment in of_kind(resources, "Deployment").items():
            if deployment["metadata"]["labels"].get("app.kubernetes.io/part-of") != "tienda":
                continue
            spec = deployment["spec"]["template"]["spec"]
            app = container(deployment)
            assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] == 10001
            context = app["securityContext"]
            assert context["readOnlyRootFilesystem"] is True and context["capabilities"] == {"drop": ["ALL"]}
            assert context["allowPrivilegeEscalation"] is False, f"{overlay}/{name}"
            pause = app["lifecycle"]["preStop"]["sleep"]["seconds"]
            assert spec["terminationGracePeriodSeconds"] > pause + graceful, f"{overlay}/{name}: SIGKILL mid-drain"
            resources_ = app["resources"]
            assert resources_["requests"]["memory"] and resources_["limits"]["memory"], f"{overlay}/{name}"


def test_the_pods_name_namespace_and_node_reach_the_spans_as_resource_attributes(rendered):
    for overlay, resources in rendered.items():
        for name, deployment in of_kind(resources, "Deployment").items():
            if deployment["metadata"]["labels"].get("app.kubernetes.io/part-of") != "tienda":
                continue
            env = {e["name"]: e for e in container(deployment)["env"]}
            attributes = dict(pair.split("=", 1) for pair in env["OTEL_RESOURCE_ATTRIBUTES"]["value"].split(","))
            fields = {"k8s.pod.name": "metadata.name", "k8s.namespace.name": "metadata.namespace",
                      "k8s.node.name": "spec.nodeName"}  # fmt: skip
            for attribute, field in fields.items():
                variable = re.fullmatch(r"\$\((\w+)\)", attributes[attribute])[1]
                assert env[variable]["valueFrom"]["fieldRef"]["fieldPath"] == field, f"{overlay}/{name}"
                names = list(env)
                assert names.index(variable) < names.index("OTEL_RESOURCE_ATTRIBUTES"), "defined after its use"
            service_name = env["OTEL_SERVICE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"]
            label = re.fullmatch(r"metadata\.labels\['(.+)'\]", service_name)[1]
            assert deployment["spec"]["template"]["metadata"]["labels"][label] == name


def test_every_variable_a_manifest_sets_is_read_by_the_code_and_every_one_compose_sets_is_set(rendered, compose):
    read = env_names_read_by_code()
    for overlay, resources in rendered.items():
        configmaps = of_kind(resources, "ConfigMap")
        secrets = of_kind(resources, "Secret")
        for name, deployment in of_kind(resources, "Deployment").items():
            if deployment["metadata"]["labels"].get("app.kubernetes.io/part-of") != "tienda":
                continue
            app = container(deployment)
            env = {e["name"]: e for e in app["env"]}
            referenced = {ref for e in app["env"] for ref in re.findall(r"\$\((\w+)\)", e.get("value", ""))}
            from_configmaps = {
                key for source in app["envFrom"] for key in configmaps[source["configMapRef"]["name"]]["data"]
            }
            for variable in set(env) | from_configmaps:
                assert variable in read or variable in referenced, f"{overlay}/{name} sets {variable}, never read"
            for entry in env.values():
                ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
                if ref and overlay == "dev":
                    secret = secrets[ref["name"]]
                    assert ref.get("optional") or ref["key"] in secret["data"], f"dev/{name}: {ref['key']} unset"
            for variable in compose[name].environment:
                if variable in NOT_IN_K8S or (name, variable) in NOT_IN_K8S_FOR:
                    continue
                assert variable in env or variable in from_configmaps, f"{overlay}/{name}: compose sets {variable}"


def test_the_secret_template_holds_every_key_the_deployments_take_from_it(rendered):
    template = yaml.safe_load((K8S / "base" / "secret.template.yaml").read_text())
    keys = set(template["stringData"])
    for resources in rendered.values():
        for name, deployment in of_kind(resources, "Deployment").items():
            if deployment["metadata"]["labels"].get("app.kubernetes.io/part-of") != "tienda":
                continue
            for entry in container(deployment)["env"]:
                ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
                if ref and ref["name"].startswith("tienda-secrets"):
                    assert ref["key"] in keys, f"{name} takes {ref['key']}, not in secret.template.yaml"
    assert all("<" in value for value in template["stringData"].values()), "a value that is not a placeholder"


def test_selectors_match_their_pods_and_every_service_has_endpoints(rendered):
    for overlay, resources in rendered.items():
        deployments = of_kind(resources, "Deployment")
        pods = pods_of(deployments)
        for name, deployment in deployments.items():
            assert matches(deployment["spec"]["selector"], pods[name].labels), f"{overlay}/{name}"
        for name, service in of_kind(resources, "Service").items():
            backing = [
                pod for pod in pods.values() if matches({"matchLabels": service["spec"]["selector"]}, pod.labels)
            ]
            assert len(backing) == 1, f"{overlay}: Service {name} selects {len(backing)} Deployments"
            for port in service["spec"]["ports"]:
                assert port["targetPort"] in backing[0].ports, f"{overlay}: Service {name} → {port['targetPort']}"
        for name, budget in of_kind(resources, "PodDisruptionBudget").items():
            assert matches(budget["spec"]["selector"], pods[name].labels), f"{overlay}: PDB {name}"
        for name, hpa in of_kind(resources, "HorizontalPodAutoscaler").items():
            assert hpa["spec"]["scaleTargetRef"]["name"] in deployments, f"{overlay}: HPA {name}"
        services = {name for name, d in deployments.items() if d["metadata"]["labels"].get("app.kubernetes.io/part-of")}
        assert services <= set(of_kind(resources, "PodDisruptionBudget")), f"{overlay}: a service without a PDB"


def test_the_overlays_scale_as_documented(rendered):
    dev, prod = (of_kind(rendered[o], "Deployment") for o in ("dev", "prod"))
    assert {d["spec"]["replicas"] for d in dev.values()} == {1}
    assert not of_kind(rendered["dev"], "HorizontalPodAutoscaler")
    hpas = of_kind(rendered["prod"], "HorizontalPodAutoscaler")
    assert set(hpas) == {"gateway", "products", "orders"} and all(h["spec"]["minReplicas"] >= 2 for h in hpas.values())
    for name in ("gateway", "products", "orders", "payments", "users", "notifications"):
        assert prod[name]["spec"]["replicas"] >= 2, f"prod/{name}"
    assert not {"postgres", "rabbitmq", "redis", "jaeger", "prometheus", "grafana"} & set(prod)
    (podmonitor,) = of_kind(rendered["prod"], "PodMonitor").values()
    assert podmonitor["spec"]["selector"] == {"matchLabels": {"app.kubernetes.io/part-of": "tienda"}}
    (endpoint,) = podmonitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "http"
    labels = {r["targetLabel"]: r.get("replacement", r.get("sourceLabels")) for r in endpoint["relabelings"]}
    assert labels["service"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    jobs = set(re.findall(r'job="(\w+)"', (K8S.parents[1] / "prometheus" / "rules" / "alerts.yml").read_text()))
    assert jobs == {labels["job"]}, f"the rules select job {jobs}"


def test_the_dev_prometheus_labels_each_pod_as_the_rules_and_dashboards_expect():
    config = yaml.safe_load((K8S / "overlays" / "dev" / "prometheus.yml").read_text())
    (tienda,) = [job for job in config["scrape_configs"] if job["job_name"] == "tienda"]
    targets = {rule.get("target_label"): rule.get("source_labels") for rule in tienda["relabel_configs"]}
    assert targets["service"] == ["__meta_kubernetes_pod_label_app_kubernetes_io_name"]
    assert targets["pod"] == ["__meta_kubernetes_pod_name"]
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def calls(compose) -> set[tuple[str, str, str]]:
    """(caller, callee, port name) of every call the services make: their *_URL settings in compose."""
    found = set()
    for name, service in compose.items():
        for variable, value in service.environment.items():
            match = re.fullmatch(r"(grpc|http)://(\w+):\d+", value)
            if variable.endswith("_URL") and match and match[2] in compose:
                found.add((name, match[2], "grpc" if match[1] == "grpc" else "http"))
    return found


def test_network_policies_admit_each_call_the_architecture_makes_and_nothing_else(rendered, compose):
    expected = calls(compose)
    assert ("gateway", "users", "http") in expected and ("orders", "payments", "http") in expected
    assert ("gateway", "products", "grpc") in expected
    for overlay, resources in rendered.items():
        policies = list(of_kind(resources, "NetworkPolicy").values())
        pods = pods_of(of_kind(resources, "Deployment"))
        for caller in compose:
            for callee in compose:
                for port in set(pods[callee].ports) & {"http", "grpc"}:
                    allowed = admitted(policies, pods[caller], pods[callee], port)
                    # The gateway is the public entry: anyone may call it.
                    should = (caller, callee, port) in expected or callee == "gateway"
                    assert allowed == should, f"{overlay}: {caller} → {callee}:{port}"
        outside = Pod({}, {}, in_namespace=False)
        prometheus = Pod({"app.kubernetes.io/name": "prometheus"}, {}, in_namespace=False)
        for name in compose:
            assert admitted(policies, outside, pods[name], "http") == (name == "gateway"), (
                f"{overlay}: outside → {name}"
            )
            assert admitted(policies, prometheus, pods[name], "http"), f"{overlay}: Prometheus cannot scrape {name}"


def test_in_the_dev_overlay_the_broker_database_and_redis_admit_exactly_their_users(rendered, compose):
    resources = rendered["dev"]
    policies = list(of_kind(resources, "NetworkPolicy").values())
    pods = pods_of(of_kind(resources, "Deployment"))
    for name, service in compose.items():
        env = service.environment
        assert admitted(policies, pods[name], pods["postgres"], "postgres") == ("DATABASE_URL" in env), name
        assert admitted(policies, pods[name], pods["rabbitmq"], "amqp") == ("AMQP_URL" in env), name
        uses_redis = "REDIS_URL" in env and (name, "REDIS_URL") not in NOT_IN_K8S_FOR
        assert admitted(policies, pods[name], pods["redis"], "redis") == uses_redis, name
        assert admitted(policies, pods[name], pods["jaeger"], "otlp-http"), f"{name} cannot export spans"
