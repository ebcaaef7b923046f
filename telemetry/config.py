"""Every environment variable the telemetry package reads, read once, in one place.

The standard ``OTEL_*`` variables keep the meaning the OpenTelemetry specification gives them; the SDK and
the OTLP exporters read most of them directly (sampler, exporter endpoint, headers, timeouts, batch
processor limits), so this module only reads what tienda decides itself and validates what it reads:
a malformed value is a start-up error that names the variable, never a silent default.

Project variables read here:

``LOG_LEVEL``
    Root log level (``DEBUG``, ``INFO``, ``WARNING``, ``ERROR``). Default ``INFO``.
``TIENDA_ENV``
    ``development`` (default), ``test``, ``demo`` (compose on a laptop) or ``production``; the ``environment``
    label of ``tienda_build_info``. Also sets ``deployment.environment`` unless
    ``OTEL_RESOURCE_ATTRIBUTES`` already names one.
``SERVICE_VERSION``
    The ``service.version`` resource attribute and the ``version`` label of ``tienda_build_info``.
    Defaults to the installed distribution's version.
``FAULTS``
    Fault rules set at start, a JSON list (see :mod:`telemetry.faults`); empty (default): none.
``FAULTS_ENABLED``
    Whether faults may be set at all (``FAULTS`` and ``/admin/faults``). Default true, except with
    ``TIENDA_ENV=production``, where only an explicit ``true`` allows them.
``REQUEST_BUDGET_SECONDS``
    The deadline budget a public entry gives a request that arrives without one, and the most it accepts
    from a client (see :mod:`telemetry.deadline`). Overrides ``instrument(request_budget_seconds=...)``;
    an app given neither is an internal hop and only honours the budget it receives.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata

from .faults import FaultRule, FaultSpecError, parse_env

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_ENVIRONMENTS = ("development", "test", "demo", "production")
_PROTOCOLS = ("http/protobuf", "grpc")
_TRUE = ("true", "1", "yes", "on")
_FALSE = ("false", "0", "no", "off", "")
_MAX_BUDGET_SECONDS = 3600.0


class ConfigError(ValueError):
    """A required environment variable is missing or malformed."""


def _version() -> str:
    try:
        return metadata.version("tienda")
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        return "0.0.0"


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name}={raw!r} is not a boolean (use true or false)")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip() or default
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}")


def _faults(env: Mapping[str, str], environment: str) -> tuple[bool, tuple[FaultRule, ...]]:
    allowed = _bool(env, "FAULTS_ENABLED", environment != "production")
    try:
        rules = parse_env(env.get("FAULTS", ""))
    except FaultSpecError as exc:
        raise ConfigError(f"FAULTS is malformed: {exc}") from None
    if rules and not allowed:
        why = "TIENDA_ENV=production needs FAULTS_ENABLED=true" if environment == "production" else "FAULTS_ENABLED"
        raise ConfigError(f"FAULTS is set but fault injection is off ({why})")
    return allowed, rules


def _budget_seconds(env: Mapping[str, str]) -> float | None:
    raw = env.get("REQUEST_BUDGET_SECONDS", "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= _MAX_BUDGET_SECONDS:
        raise ConfigError(f"REQUEST_BUDGET_SECONDS={raw!r} is not a number of seconds above 0, at most 3600")
    return value


def parse_resource_attributes(raw: str) -> dict[str, str]:
    """Parse ``OTEL_RESOURCE_ATTRIBUTES`` (``key1=value1,key2=value2``, values percent-encoded)."""
    from urllib.parse import unquote

    attributes: dict[str, str] = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"OTEL_RESOURCE_ATTRIBUTES entry {item!r} is not key=value")
        attributes[key.strip()] = unquote(value.strip())
    return attributes


@dataclass(frozen=True)
class TelemetryConfig:
    """What :func:`telemetry.instrument` needs to know, resolved from the environment."""

    service_name: str
    service_version: str
    environment: str
    log_level: str = "INFO"
    sdk_disabled: bool = False
    traces_exporter: str = "otlp"
    otlp_protocol: str = "http/protobuf"
    resource_attributes: dict[str, str] = field(default_factory=dict)
    faults_allowed: bool = True
    faults: tuple[FaultRule, ...] = ()
    request_budget_seconds: float | None = None
    #: TIENDA_ENV itself (``environment`` may be renamed by the resource attributes).
    tienda_env: str = "development"

    @classmethod
    def from_env(cls, service_name: str, env: Mapping[str, str] | None = None) -> TelemetryConfig:
        """Read the configuration; ``OTEL_SERVICE_NAME`` wins over the ``service_name`` argument."""
        env = os.environ if env is None else env
        resource = parse_resource_attributes(env.get("OTEL_RESOURCE_ATTRIBUTES", ""))
        name = env.get("OTEL_SERVICE_NAME", "").strip() or resource.get("service.name") or service_name
        if not name:
            raise ConfigError("a service name is required (argument or OTEL_SERVICE_NAME)")
        environment = _choice(env, "TIENDA_ENV", _ENVIRONMENTS, "development")
        exporter = env.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
        if exporter not in ("otlp", "none", "console"):
            raise ConfigError(f"OTEL_TRACES_EXPORTER={exporter!r} is not one of otlp, console, none")
        protocol = env.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or env.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        protocol = (protocol or "http/protobuf").strip().lower()
        if protocol not in _PROTOCOLS:
            raise ConfigError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not one of {', '.join(_PROTOCOLS)}")
        faults_allowed, faults = _faults(env, environment)
        return cls(
            service_name=name,
            service_version=env.get("SERVICE_VERSION", "").strip() or _version(),
            environment=resource.get("deployment.environment.name")
            or resource.get("deployment.environment")
            or environment,
            log_level=_choice(env, "LOG_LEVEL", _LOG_LEVELS, "INFO"),
            sdk_disabled=_bool(env, "OTEL_SDK_DISABLED", False),
            traces_exporter=exporter,
            otlp_protocol=protocol,
            resource_attributes=resource,
            faults_allowed=faults_allowed,
            faults=faults,
            request_budget_seconds=_budget_seconds(env),
            tienda_env=environment,
        )
