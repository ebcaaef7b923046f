"""What the compose tests read: docker-compose.yml (as written, as YAML nodes, and as docker-compose resolves
it), .env, the Dockerfile, .dockerignore, and the code's own list of environment variables.

Everything here is static: no Docker engine is needed, only the ``docker-compose`` command (Debian's
``docker-compose`` package) for ``config``.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOTENV = ROOT / ".env"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"

#: Files whose string constants name the environment variables the services read (besides the
#: OpenTelemetry SDK's, which come from ``opentelemetry.sdk.environment_variables``).
ENV_READING_SOURCES = ("services", "telemetry", "gunicorn.conf.py")

INSTALL_HINT = (
    "docker-compose is needed to validate docker-compose.yml (no Docker engine required): "
    "apt-get install -y docker-compose"
)


class ComposeUnavailable(RuntimeError):
    pass


def compose_command() -> list[str]:
    """``docker-compose``, or ``docker compose`` when only the plugin is there."""
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    raise ComposeUnavailable(INSTALL_HINT)


def run_compose(*args: str) -> subprocess.CompletedProcess:
    """Run docker-compose on the repository's file with a clean environment, so that only .env
    (and not whatever the test run exported, e.g. TIENDA_ENV) fills in the ``${...}`` values."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    return subprocess.run(
        [*compose_command(), "--project-directory", str(ROOT), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read_dotenv(path: Path = DOTENV) -> dict[str, str]:
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Z_][A-Z0-9_]*", key):
            raise ValueError(f"{path.name}:{number}: not KEY=VALUE: {line!r}")
        values[key] = value
    return values


def memory_bytes(value) -> int:
    """A compose memory value (``128m``, ``1g``, ``134217728``) in bytes; units are binary, as Docker's."""
    if isinstance(value, int):
        return value
    match = re.fullmatch(r"(\d+)\s*([bkmg]?)b?", str(value).strip().lower())
    if not match:
        raise ValueError(f"not a memory size: {value!r}")
    number, unit = match.groups()
    return int(number) * {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[unit]


MIB = 1024**2


@dataclass(frozen=True)
class Service:
    name: str
    config: dict  # as docker-compose resolved it

    @property
    def is_app(self) -> bool:
        """Built from the repository's Dockerfile: one of the shop's Python services."""
        return "build" in self.config

    @property
    def environment(self) -> dict[str, str]:
        env = self.config.get("environment") or {}
        if isinstance(env, list):
            env = dict(item.split("=", 1) for item in env)
        return {key: "" if value is None else str(value) for key, value in env.items()}

    @property
    def command(self) -> list[str]:
        command = self.config.get("command") or []
        return command.split() if isinstance(command, str) else [str(part) for part in command]

    @property
    def gunicorn_port(self) -> int | None:
        """The port of ``gunicorn ... -b host:port`` in the command, if it is a gunicorn command."""
        command = self.command
        if "gunicorn" not in command[:1]:
            return None
        for flag, value in zip(command, command[1:], strict=False):
            if flag in ("-b", "--bind"):
                return int(value.rsplit(":", 1)[1])
        for part in command:
            if part.startswith("--bind="):
                return int(part.rsplit(":", 1)[1])
        return None

    @property
    def container_ports(self) -> set[int]:
        """Ports the container listens on, as the file declares them: expose, ports, the gunicorn bind."""
        ports = {int(str(port).split("/")[0]) for port in self.config.get("expose") or []}
        for port in self.config.get("ports") or []:
            if isinstance(port, dict):
                ports.add(int(port["target"]))
            else:
                ports.add(int(str(port).split("/")[0].rsplit(":", 1)[-1]))
        if self.gunicorn_port is not None:
            ports.add(self.gunicorn_port)
        return ports

    @property
    def published_ports(self) -> dict[int, str]:
        """Host port -> host IP it is bound to ('' = every interface)."""
        published = {}
        for port in self.config.get("ports") or []:
            if isinstance(port, dict):
                if port.get("published"):
                    published[int(port["published"])] = port.get("host_ip", "")
                continue
            parts = str(port).split("/")[0].split(":")
            if len(parts) == 3:
                published[int(parts[1])] = parts[0]
            elif len(parts) == 2:
                published[int(parts[0])] = ""
        return published

    @property
    def mem_limit(self) -> int | None:
        value = self.config.get("mem_limit")
        if value is None:
            value = (((self.config.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
        return None if value is None else memory_bytes(value)


def url_endpoint(url: str) -> tuple[str, int] | None:
    """(host, port) of a URL with an explicit host and port, else None."""
    try:
        parts = urlsplit(url)
        if parts.hostname and parts.port:
            return parts.hostname, parts.port
    except ValueError:
        return None
    return None


def env_names_read_by_code() -> set[str]:
    """Every environment variable name the services' code can read, computed from the source.

    The project's own variables are string constants in ``services/``, ``telemetry/`` and
    ``gunicorn.conf.py`` (``env.get("JWT_SECRET")``, ``_url(env, "PRODUCTS_URL")``, ...); the standard
    ``OTEL_*`` ones are those the OpenTelemetry SDK and its exporters read, listed by the SDK itself.
    """
    names: set[str] = set()
    files: list[Path] = []
    for entry in ENV_READING_SOURCES:
        path = ROOT / entry
        files.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and len(node.value) >= 3
                and re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", node.value)
            ):
                names.add(node.value)
    import opentelemetry.sdk.environment_variables as otel_env

    names.update(value for key, value in vars(otel_env).items() if key.startswith("OTEL_") and isinstance(value, str))
    return names


def settings_fields_used(service: str) -> set[str]:
    """Attributes ``settings.<field>`` that ``services/<service>/app.py`` reads (``database_url``, ...).

    A call to ``services.common.web.attach_database`` counts as reading ``database_url``: it opens the database
    named there.
    """
    tree = ast.parse((ROOT / "services" / service / "app.py").read_text())
    fields = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "settings"
    }
    opens_database = any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "attach_database"
        for node in ast.walk(tree)
    )
    return fields | {"database_url"} if opens_database else fields


# ---- Dockerfile ------------------------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[tuple[str, str]]  # (INSTRUCTION, arguments)


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, comments dropped and continuation lines joined."""
    logical, current = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        logical.append(current)
        current = ""
    pairs = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        pairs.append((instruction.upper(), arguments.strip()))
    return pairs


def dockerfile_stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults (before the first FROM) and the build stages."""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for instruction, arguments in dockerfile_instructions(text):
        if instruction == "FROM":
            parts = arguments.split()
            parts = [p for p in parts if not p.startswith("--")]
            name = parts[2] if len(parts) >= 3 and parts[1].lower() == "as" else None
            stages.append(Stage(parts[0], name, []))
        elif not stages:
            if instruction == "ARG":
                key, _, default = arguments.partition("=")
                global_args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append((instruction, arguments))
    return global_args, stages


def dockerignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def _pattern_regex(pattern: str) -> re.Pattern:
    pattern = pattern.strip("/")
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out += "[" + pattern[i + 1 : end].replace("!", "^", 1) + "]"
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Whether Docker leaves ``path`` (relative to the context) out of the build context.

    Docker's rules: a pattern matches a path or any of its parent directories; later patterns win;
    ``!`` re-includes.
    """
    parts = path.strip("/").split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = _pattern_regex(pattern[1:] if negate else pattern)
        if any(regex.fullmatch(candidate) for candidate in candidates):
            ignored = not negate
    return ignored


def mapping_get(node: yaml.MappingNode, key: str):
    """The value node of ``key`` in a mapping node (merge keys not followed), or None."""
    for key_node, value_node in node.value:
        if key_node.value == key:
            return value_node
    return None


def merged_nodes(node: yaml.MappingNode) -> list[yaml.Node]:
    """Every mapping node merged into ``node`` with ``<<``, transitively."""
    found = []
    merge = mapping_get(node, "<<")
    if merge is None:
        return found
    sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
    for source in sources:
        found.append(source)
        found.extend(merged_nodes(source))
    return found
