"""The image test's harness: podman, a stand-in for the python base image, the image built by ``make image``,
and the compose services run from it as containers.

No registry can be reached here, so ``python:<PYTHON_IMAGE_TAG>`` is made locally when the engine does not
have it: Debian bookworm by ``debootstrap`` (minbase, python3 and python3-venv), with ``/usr/local/bin/python``
pointing at Debian's python3 as the official image has it. The root filesystem is cached as a tarball in
``$TIENDA_IMAGE_CACHE`` (default /var/cache/tienda-image), so that only the first run pays for it.

Everything this module sets up to run containers belongs to the test, not to the product.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.support.compose import ROOT, Service, memory_bytes, read_dotenv, run_compose

CACHE = Path(os.environ.get("TIENDA_IMAGE_CACHE", "/var/cache/tienda-image"))
IMAGE = os.environ.get("TIENDA_TEST_IMAGE", "localhost/tienda:image-test")
DEBIAN_MIRROR = os.environ.get("TIENDA_DEBIAN_MIRROR", "http://deb.debian.org/debian")
#: What a compiler toolchain leaves on a system; none of it may be in the image.
#: podman's settings for this machine (see the file); the product depends on none of them.
CONTAINERS_CONF = Path(__file__).with_name("containers.conf")
ENV = {**os.environ, "CONTAINERS_CONF": str(CONTAINERS_CONF)}
BUILD_TOOLS = ("gcc", "cc", "c++", "g++", "make", "ld", "as", "cpp", "x86_64-linux-gnu-gcc")


def run(*args: str, timeout: float = 600, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=check, env=ENV)


def apt_install(*packages: str) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, capture_output=True, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        check=True,
        env=env,
        capture_output=True,
        timeout=900,
    )


def ensure_tools() -> None:
    """podman (with its runtime and networking) and debootstrap, from Debian, when missing."""
    missing = [tool for tool in ("podman", "debootstrap") if shutil.which(tool) is None]
    if missing:
        apt_install(*missing, "runc", "fuse-overlayfs", "uidmap")
    if shutil.which("runc") is None:
        apt_install("runc")


def base_tag() -> str:
    return f"python:{read_dotenv()['PYTHON_IMAGE_TAG']}"


def image_exists(name: str) -> bool:
    return run("podman", "image", "exists", name, check=False).returncode == 0


def stand_in_base() -> str:
    """``python:<tag>`` in podman's store: the real one when present, else the debootstrap stand-in."""
    tag = base_tag()
    if image_exists(tag):
        return tag
    tarball = CACHE / "bookworm-python3.tar"
    if not tarball.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=CACHE) as work:
            rootfs = Path(work) / "rootfs"
            run(
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv",
                "bookworm",
                str(rootfs),
                DEBIAN_MIRROR,
                timeout=900,
            )
            (rootfs / "usr/local/bin/python").symlink_to("/usr/bin/python3")
            shutil.rmtree(rootfs / "var/lib/apt/lists", ignore_errors=True)
            shutil.rmtree(rootfs / "var/cache/apt/archives", ignore_errors=True)
            partial = tarball.with_suffix(".partial")
            run("tar", "-C", str(rootfs), "--numeric-owner", "-cf", str(partial), ".", timeout=300)
            partial.rename(tarball)
    run("podman", "import", "--change", 'CMD ["python3"]', str(tarball), tag, timeout=300)
    return tag


def host_ca_bundle() -> str | None:
    """The CA bundle this machine's pip trusts (its index may sit behind a TLS-inspecting proxy), handed
    to the build as the PIP_CA_BUNDLE secret, as a user behind a corporate proxy would."""
    for candidate in (os.environ.get("PIP_CERT"), os.environ.get("REQUESTS_CA_BUNDLE")):
        if candidate and Path(candidate).is_file():
            return candidate
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "config", "get", "global.cert"], capture_output=True, text=True, check=False
    )
    cert = probe.stdout.strip()
    return cert if probe.returncode == 0 and cert and Path(cert).is_file() else None


def build_image() -> float:
    """``make image`` with podman; returns the seconds it took (cached layers make a rebuild quick)."""
    started = time.monotonic()
    ca = host_ca_bundle()
    result = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "image",
            "ENGINE=podman",
            f"IMAGE={IMAGE}",
            *([f"PIP_CA_BUNDLE={ca}"] if ca else []),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
        env=ENV,
    )
    if result.returncode != 0:
        raise AssertionError(f"make image failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return time.monotonic() - started


def image_size(name: str = IMAGE) -> int:
    (info,) = json.loads(run("podman", "image", "inspect", name).stdout)
    return int(info["Size"])


def in_image(*command: str, name: str = IMAGE) -> subprocess.CompletedProcess:
    """A command in a throwaway container of the image, as its own user."""
    return run("podman", "run", "--rm", "--network=none", name, *command, timeout=120, check=False)


def compose_app_services() -> dict[str, Service]:
    """The services docker-compose.yml builds from the Dockerfile, as docker-compose resolves them."""
    result = run_compose("config")
    if result.returncode != 0:
        raise AssertionError(f"docker-compose config failed:\n{result.stderr}")
    services = {name: Service(name, config) for name, config in yaml.safe_load(result.stdout)["services"].items()}
    return {name: service for name, service in services.items() if service.is_app}


@dataclass
class Container:
    name: str
    service: Service
    port: int
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def inspect(self) -> dict:
        (info,) = json.loads(run("podman", "container", "inspect", self.name).stdout)
        return info

    def logs(self) -> str:
        result = run("podman", "logs", self.name, check=False)
        return result.stdout + result.stderr

    def healthcheck(self) -> int:
        """The compose healthcheck, as podman runs it inside the container (0 = healthy)."""
        return run("podman", "healthcheck", "run", self.name, timeout=60, check=False).returncode

    def rss_bytes(self) -> int:
        """Resident memory of the container's processes, each shared page counted once (the sum of their
        proportional set sizes: the gunicorn master and its forked worker share most of theirs)."""
        pids = run("podman", "top", self.name, "hpid").stdout.split()[1:]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
        return total

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/health/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            if self.inspect()["State"]["Status"] != "running":
                break
            time.sleep(0.3)
        raise AssertionError(f"{self.service.name} never became ready:\n{self.logs()[-4000:]}")

    def remove(self) -> None:
        run("podman", "rm", "--force", "--volumes", "--time", "15", self.name, check=False, timeout=60)


def run_container(service: Service, port: int, env: dict[str, str], name_prefix: str, image: str = IMAGE) -> Container:
    """One compose service as compose configures it (command, environment, memory limit, capabilities
    dropped, no-new-privileges, healthcheck) plus a read-only root, on the host's network at ``port``."""
    config = service.config
    command = [part.replace(f":{service.gunicorn_port}", f":{port}") for part in service.command]
    health = [part.replace(f":{service.gunicorn_port}/", f":{port}/") for part in config["healthcheck"]["test"]]
    assert health[0] == "CMD", health
    name = f"{name_prefix}-{service.name}"
    args = ["podman", "run", "--detach", "--name", name, "--network=host", "--read-only"]
    args += [
        "--memory",
        str(memory_bytes(config["mem_limit"])),
        "--memory-swap",
        str(memory_bytes(config["mem_limit"])),
    ]
    args += [f"--cap-drop={cap}" for cap in config.get("cap_drop", [])]
    args += [f"--security-opt={opt.replace(':', '=', 1)}" for opt in config.get("security_opt", [])]
    args += ["--health-cmd", json.dumps(health[1:]), "--health-interval", "disable"]
    for key, value in env.items():
        args += ["--env", f"{key}={value}"]
    args += [image, *command]
    run(*args, timeout=120)
    return Container(name, service, port, env)
