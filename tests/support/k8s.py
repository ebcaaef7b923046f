"""deploy/k8s read as a cluster would: each overlay rendered by ``kubectl kustomize``, and a small model of
NetworkPolicy ingress semantics to ask whether a call between two pods is admitted. Offline: no cluster.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

import yaml

from tests.support.compose import ROOT

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "prod")


def kubectl() -> str:
    """kubectl, from Debian's package when this machine has none."""
    found = shutil.which("kubectl")
    if found is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "kubectl"],
            check=True,
            env=env,
            capture_output=True,
            timeout=600,
        )
        found = shutil.which("kubectl")
    assert found, "kubectl is needed to render deploy/k8s"
    return found


def render(path: str) -> list[dict]:
    """``kubectl kustomize`` of a kustomization under deploy/k8s (the dev overlay reads files elsewhere in the
    repository: the load restrictor is off, as docs/kubernetes.md says to deploy it)."""
    result = subprocess.run(
        [kubectl(), "kustomize", "--load-restrictor", "LoadRestrictionsNone", str(K8S / path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {path}:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(resources: list[dict], kind: str) -> dict[str, dict]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def matches(selector: dict | None, labels: dict[str, str]) -> bool:
    """A Kubernetes label selector (matchLabels, matchExpressions) against a set of labels."""
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


@dataclass(frozen=True)
class Pod:
    """A pod as NetworkPolicies see it: its labels, whether it is in the policies' namespace, its ports."""

    labels: dict
    ports: dict  # port name -> number
    in_namespace: bool = True


def pods_of(deployments: dict[str, dict]) -> dict[str, Pod]:
    pods = {}
    for name, deployment in deployments.items():
        template = deployment["spec"]["template"]
        ports = {
            port["name"]: port["containerPort"]
            for container in template["spec"]["containers"]
            for port in container.get("ports") or []
            if "name" in port
        }
        pods[name] = Pod(template["metadata"].get("labels") or {}, ports)
    return pods


def _peer_admits(peer: dict, source: Pod) -> bool:
    if "ipBlock" in peer:
        return not source.in_namespace
    namespaces = peer.get("namespaceSelector")
    pods = peer.get("podSelector")
    # Without a namespaceSelector: this namespace only. Namespace labels are not modelled: only {} (every
    # namespace) is taken to match another namespace.
    namespace_ok = source.in_namespace if namespaces is None else namespaces == {}
    return namespace_ok and (pods is None or matches(pods, source.labels))


def _port_admits(ports: list[dict] | None, target: Pod, port: str) -> bool:
    if not ports:
        return True
    return any(entry.get("port") in (port, target.ports.get(port)) for entry in ports)


def admitted(policies: list[dict], source: Pod, target: Pod, port: str) -> bool:
    """Whether ``source`` may open a connection to ``target`` on its named ``port`` under ``policies``."""
    selecting = [
        policy
        for policy in policies
        if "Ingress" in (policy["spec"].get("policyTypes") or ["Ingress"])
        and matches(policy["spec"].get("podSelector"), target.labels)
    ]
    if not selecting:
        return True
    for policy in selecting:
        for rule in policy["spec"].get("ingress") or []:
            peers = rule.get("from")
            if (peers is None or any(_peer_admits(peer, source) for peer in peers)) and _port_admits(
                rule.get("ports"), target, port
            ):
                return True
    return False
