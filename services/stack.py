"""Run every tienda service locally under gunicorn: ``python -m services.stack`` (what ``make up`` calls).

Starts each service in :data:`SERVICES` on its port from DESIGN.md, with its data under ``var/``, starts
Prometheus on :9090 when it is installed, prints the URLs, and stops everything on Ctrl-C or SIGTERM.
A second copy refuses to start while the first is running, naming the busy port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
VAR = ROOT / "var"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    port: int
    app: str


SERVICES = (ServiceSpec("demo", 8000, "services.demo.app:create_app()"),)
PROMETHEUS_PORT = 9090


def port_in_use(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{url}: process exited with {proc.returncode}")
        try:
            if requests.get(url, timeout=0.5).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # polling interval
    raise RuntimeError(f"{url} not ready after {timeout}s")


def prometheus_config(services: tuple[ServiceSpec, ...]) -> str:
    jobs = "\n".join(
        f"  - job_name: {s.name}\n    static_configs:\n      - targets: ['127.0.0.1:{s.port}']" for s in services
    )
    return f"global:\n  scrape_interval: 5s\nscrape_configs:\n{jobs}\n"


def main() -> int:
    busy = [s for s in SERVICES if port_in_use(s.port)]
    if busy:
        names = ", ".join(f"{s.name} (:{s.port})" for s in busy)
        print(f"tienda seems to be running already: port(s) in use by {names}. Stop it first.", file=sys.stderr)
        return 1
    logs = VAR / "log"
    logs.mkdir(parents=True, exist_ok=True)
    procs: list[tuple[str, subprocess.Popen]] = []

    def stop(*_):
        for _, proc in reversed(procs):
            if proc.poll() is None:
                proc.terminate()
        for _, proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt))
    try:
        for spec in SERVICES:
            env = {**os.environ, "OTEL_SERVICE_NAME": spec.name, "PYTHONUNBUFFERED": "1"}
            env.setdefault("OTEL_TRACES_EXPORTER", os.environ.get("OTEL_TRACES_EXPORTER", "otlp"))
            log = open(logs / f"{spec.name}.log", "ab")
            cmd = [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "-b",
                f"127.0.0.1:{spec.port}",
                spec.app,
            ]
            procs.append((spec.name, subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)))
        for (_name, proc), spec in zip(procs, SERVICES, strict=True):
            wait_ready(f"http://127.0.0.1:{spec.port}/health/live", proc)
        prometheus = shutil.which("prometheus")
        if prometheus and not port_in_use(PROMETHEUS_PORT):
            pdir = VAR / "prometheus"
            pdir.mkdir(parents=True, exist_ok=True)
            (pdir / "prometheus.yml").write_text(prometheus_config(SERVICES))
            plog = open(logs / "prometheus.log", "ab")
            procs.append(
                (
                    "prometheus",
                    subprocess.Popen(
                        [
                            prometheus,
                            f"--config.file={pdir / 'prometheus.yml'}",
                            f"--storage.tsdb.path={pdir / 'data'}",
                            f"--web.listen-address=127.0.0.1:{PROMETHEUS_PORT}",
                            "--enable-feature=exemplar-storage",
                        ],
                        stdout=plog,
                        stderr=subprocess.STDOUT,
                    ),
                )
            )
        print("tienda is up:")
        for spec in SERVICES:
            print(f"  {spec.name:<14} http://127.0.0.1:{spec.port}   (logs: var/log/{spec.name}.log)")
        if prometheus:
            print(f"  {'prometheus':<14} http://127.0.0.1:{PROMETHEUS_PORT}")
        else:
            print("  prometheus     not installed (apt-get install -y prometheus)")
        print("Ctrl-C stops everything.", flush=True)
        while all(proc.poll() is None for _, proc in procs):
            time.sleep(0.5)
        dead = [name for name, proc in procs if proc.poll() is not None]
        print(f"stopping: {', '.join(dead)} exited (see var/log/)", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping tienda...", flush=True)
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
