"""OTLP/HTTP span export with a hand-written protobuf encoder.

:func:`encode_spans` turns finished SDK spans into the bytes of an OTLP ``ExportTraceServiceRequest``
(opentelemetry-proto's ``collector/trace/v1``), the same message the SDK's encoder builds, field for field:
resource, then instrumentation scope, then spans, each grouped in the order first seen; span kind, status,
flags (``SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK``, plus ``..._IS_REMOTE_MASK`` for a remote parent), events,
links, trace state and dropped counts; attribute values as the SDK maps them (bool, string, int64, double,
bytes, arrays, key-value lists; ``None`` as an empty value). tests/unit/test_otlp_encoder.py decodes its
output with opentelemetry-proto and compares it with the SDK encoder's.

Why by hand: the SDK's encoder builds a protobuf object per span, attribute and value in Python and then
serialises them; in bench/profile_request.py that was most of the export thread's time, and the export
thread holds the GIL while it encodes a batch, which request threads feel as latency. Writing the wire
format directly, with the resource and scope headers encoded once and cached, does the same work several
times faster (numbers in docs/overhead-analysis.md). The wire format is protobuf's, which does not change;
a new field in the OTLP schema would be missing here until added, which the comparison test shows.

:class:`OTLPSpanExporter` is the SDK's OTLP/HTTP exporter (endpoint, headers, TLS, compression, timeout and
retries all read from the standard ``OTEL_EXPORTER_OTLP_*`` variables as before) with only the encoding
replaced. It reaches the SDK's HTTP client through a private attribute; if an SDK release moves it, the
exporter falls back to the SDK's own encoder (slower, never broken), and a unit test fails to say so.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as _SdkOTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExportResult
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext

from .redaction import redact_attribute, redact_span, redact_text

logger = logging.getLogger(__name__)

_pack_fixed64 = struct.Struct("<Q").pack
_pack_fixed32 = struct.Struct("<I").pack
_pack_double = struct.Struct("<d").pack
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1

# Span.flags (fixed32, field 16): the SDK always says whether the parent's remoteness is known (it is).
_FLAGS_LOCAL = b"\x85\x01" + _pack_fixed32(0x100)  # SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE_MASK
_FLAGS_REMOTE = b"\x85\x01" + _pack_fixed32(0x300)  # ... | SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_LINK_FLAGS_LOCAL = b"\x35" + _pack_fixed32(0x100)  # Link.flags is field 6
_LINK_FLAGS_REMOTE = b"\x35" + _pack_fixed32(0x300)


def _varint(n: int) -> bytes:
    """Protobuf base-128 varint of a non-negative int (a negative int64 arrives as its two's complement)."""
    if n < 0x80:
        return bytes((n,))
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


# Lengths below 128 are by far the most common: one table lookup instead of a call.
_SMALL_VARINTS = tuple(bytes((n,)) for n in range(0x80))


def _len_prefixed(tag: bytes, payload: bytes) -> bytes:
    n = len(payload)
    return tag + (_SMALL_VARINTS[n] if n < 0x80 else _varint(n)) + payload


def _string(tag: bytes, value: str) -> bytes:
    return _len_prefixed(tag, value.encode())


def _optional_string(tag: bytes, value: str | None) -> bytes:
    """A proto3 string field: absent when empty."""
    return _string(tag, value) if value else b""


def _fixed64(tag: bytes, n: int | None) -> bytes:
    return tag + _pack_fixed64(n) if n else b""


def _any_value(value: Any) -> bytes:
    """The AnyValue message for an attribute value, mapped as the SDK's ``_encode_value`` maps it."""
    if value is None:
        return b""
    if value is True:  # bool before int: bool is an int subclass
        return b"\x10\x01"
    if value is False:
        return b"\x10\x00"
    cls = type(value)
    if cls is str:
        return _string(b"\x0a", value)
    if cls is int:
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise ValueError(f"{value} does not fit an int64")
        return b"\x18" + _varint(value if value >= 0 else value + 2**64)
    if cls is float:
        return b"\x21" + _pack_double(value)
    if cls is tuple:  # what the SDK makes of a sequence: every server span's request ID is one
        return _len_prefixed(b"\x2a", b"".join(_len_prefixed(b"\x0a", _any_value(v)) for v in value))
    if isinstance(value, bool):
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, str):
        return _string(b"\x0a", value)
    if isinstance(value, int):
        return _any_value(int(value))
    if isinstance(value, float):
        return b"\x21" + _pack_double(value)
    if isinstance(value, bytes):
        return _len_prefixed(b"\x3a", value)
    if isinstance(value, Sequence):
        return _len_prefixed(b"\x2a", b"".join(_len_prefixed(b"\x0a", _any_value(v)) for v in value))
    if isinstance(value, Mapping):
        return _len_prefixed(b"\x32", b"".join(b"\x0a" + _key_value(str(k), v) for k, v in value.items()))
    raise TypeError(f"Invalid type {type(value)} of value {value}")


def _key_value(key: str, value: Any) -> bytes:
    """A ``KeyValue`` message with its length prefix, without its field tag."""
    payload = _optional_string(b"\x0a", key) + _len_prefixed(b"\x12", _any_value(value))
    return _len_prefixed(b"", payload)


#: Bound of an encoder's cache of encoded ``KeyValue`` messages (cleared when full).
_KV_CACHE_MAX = 4096


def _attributes(
    tag: bytes,
    attributes: Mapping[str, Any] | None,
    cache: dict[tuple[str, str | int], bytes],
    redact: bool,
) -> bytes:
    """Each attribute as a KeyValue in field ``tag``, its value redacted first if ``redact``; one that cannot
    be encoded is logged and left out, as the SDK does.

    ``cache`` holds the encoded KeyValue of string and int attributes by (key, value as given): most
    attributes of a service's spans repeat (method, route, scheme, status code, peer address). Redaction
    depends on the key and the value alone, so a pair found there is neither redacted nor encoded again.
    """
    if not attributes:
        return b""
    parts = []
    # The SDK's BoundedAttributes is a Mapping over a dict: iterating that dict directly skips a lock and a
    # method call per item (a third of this function's time).
    items = getattr(attributes, "_dict", attributes)
    for key, value in items.items():
        cls = type(value)
        cacheable = cls is str or cls is int  # exact types: True == 1, and their encodings differ
        if cacheable:
            encoded = cache.get((key, value))
            if encoded is not None:
                parts.append(tag + encoded)
                continue
        try:
            encoded = _key_value(key, redact_attribute(key, value) if redact else value)
        except Exception as error:
            logger.exception("Failed to encode key %s: %s", key, error)
            continue
        if cacheable:
            if len(cache) >= _KV_CACHE_MAX:
                cache.clear()
            cache[(key, value)] = encoded
        parts.append(tag + encoded)
    return b"".join(parts)


def _span_attributes(span: ReadableSpan) -> Mapping[str, Any] | None:
    """The span's attributes, as the dict the SDK keeps them in when it is where this looks.

    ``ReadableSpan.attributes`` wraps the span's ``BoundedAttributes`` in a ``MappingProxyType``, through
    which :func:`_attributes` cannot reach the dict inside and makes a ``__getitem__`` call on the bounded
    mapping per item (9 % of encoding a batch of bench/app.py's server spans in cProfile). A finished span's
    attributes are immutable, so the dict is read as it is; a span that keeps them otherwise (a hand-made
    ``ReadableSpan``, an SDK release that moves them) is read through the public property, as before, and
    a unit test says which path the SDK's spans take.
    """
    items = getattr(getattr(span, "_attributes", None), "_dict", None)
    return items if type(items) is dict else span.attributes


def _uint32(tag: bytes, n: int) -> bytes:
    return tag + _varint(n) if n else b""


def _trace_state(tag: bytes, context: SpanContext) -> bytes:
    state = context.trace_state
    if not state:
        return b""
    return _string(tag, ",".join(f"{key}={value}" for key, value in state.items()))


def encode_span(span: ReadableSpan, cache: dict[tuple[str, str | int], bytes], redact: bool = False) -> bytes:
    """One ``Span`` message (without its field tag and length); with ``redact``, attributes (of the span, its
    events and links) and the status description as :mod:`telemetry.redaction` leaves them."""
    ctx = span.context
    parent = span.parent
    parts = [
        b"\x0a\x10" + ctx.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + ctx.span_id.to_bytes(8, "big"),
        _trace_state(b"\x1a", ctx),
    ]
    if parent is not None:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    parts.append(_optional_string(b"\x2a", span.name))
    kind = span.kind.value + 1  # the API's INTERNAL is 0, OTLP's SPAN_KIND_INTERNAL is 1 (0 is UNSPECIFIED)
    parts.append(b"\x30" + _SMALL_VARINTS[kind])
    parts.append(_fixed64(b"\x39", span.start_time))
    parts.append(_fixed64(b"\x41", span.end_time))
    parts.append(_attributes(b"\x4a", _span_attributes(span), cache, redact))
    parts.append(_uint32(b"\x50", span.dropped_attributes))
    # ReadableSpan.events and .links copy the SDK's bounded list under its lock even when it is empty, as it
    # is for most spans; the list's own length says whether there is anything to copy.
    for event in span.events if getattr(span, "_events", True) else ():
        parts.append(
            _len_prefixed(
                b"\x5a",
                _fixed64(b"\x09", event.timestamp)
                + _optional_string(b"\x12", event.name)
                + _attributes(b"\x1a", event.attributes, cache, redact)
                + _uint32(b"\x20", event.dropped_attributes),
            )
        )
    parts.append(_uint32(b"\x60", span.dropped_events))
    for link in span.links if getattr(span, "_links", True) else ():
        link_ctx = link.context
        parts.append(
            _len_prefixed(
                b"\x6a",
                b"\x0a\x10"
                + link_ctx.trace_id.to_bytes(16, "big")
                + b"\x12\x08"
                + link_ctx.span_id.to_bytes(8, "big")
                + _attributes(b"\x22", link.attributes, cache, redact)
                + _uint32(b"\x28", link.dropped_attributes)
                + (_LINK_FLAGS_REMOTE if link_ctx.is_remote else _LINK_FLAGS_LOCAL),
            )
        )
    parts.append(_uint32(b"\x70", span.dropped_links))
    status = span.status
    code = status.status_code.value
    description = status.description
    if redact and description:
        description = redact_text(description)
    parts.append(
        _len_prefixed(
            b"\x7a", _optional_string(b"\x12", description) + (b"\x18" + _SMALL_VARINTS[code] if code else b"")
        )
    )
    parts.append(_FLAGS_REMOTE if parent is not None and parent.is_remote else _FLAGS_LOCAL)
    return b"".join(parts)


def _encode_resource(resource: Resource) -> bytes:
    return _attributes(b"\x0a", resource.attributes, {}, redact=False)


def _encode_scope(scope: InstrumentationScope | None) -> bytes:
    if scope is None:
        return b""
    return (
        _optional_string(b"\x0a", scope.name)
        + _optional_string(b"\x12", scope.version)
        + _attributes(b"\x1a", scope.attributes, {}, redact=False)
    )


class SpanEncoder:
    """Encodes batches of spans; remembers the encoded resource and scope headers of the spans it has seen.

    A process has one resource and a handful of scopes, so each is encoded once. They are keyed by identity
    (``Resource.__hash__`` serialises the attributes to JSON on every call) and kept alive here, so an id is
    never reused while it is a key.

    With ``redact``, spans are encoded as :func:`telemetry.redaction.redact_span` would leave them (link
    attributes redacted too), in the same pass: an attribute already in the encoder's cache costs neither
    redaction nor encoding, where a separate redaction pass over every span cost about two thirds of the
    encoding's time (docs/overhead-analysis.md). Resource and scope attributes are the process's own and
    are not redacted, as before.
    """

    def __init__(self, redact: bool = False) -> None:
        self.redact = redact
        self._resources: dict[int, tuple[Resource, bytes]] = {}
        self._scopes: dict[int, tuple[InstrumentationScope | None, bytes]] = {}
        self._kv_cache: dict[tuple[str, str | int], bytes] = {}

    def encode(self, spans: Sequence[ReadableSpan]) -> bytes:
        """The serialised ``ExportTraceServiceRequest`` for ``spans``."""
        groups: dict[int, dict[int, list[bytes]]] = {}
        for span in spans:
            resource = span.resource
            scope = span.instrumentation_scope or None
            rkey, skey = id(resource), id(scope)
            if rkey not in self._resources:
                self._resources[rkey] = (resource, _len_prefixed(b"\x0a", _encode_resource(resource)))
            if skey not in self._scopes:
                self._scopes[skey] = (scope, _len_prefixed(b"\x0a", _encode_scope(scope)))
            encoded_span = encode_span(span, self._kv_cache, self.redact)
            groups.setdefault(rkey, {}).setdefault(skey, []).append(_len_prefixed(b"\x12", encoded_span))
        out = []
        for rkey, scopes in groups.items():
            resource, resource_bytes = self._resources[rkey]
            body = [resource_bytes]
            for skey, encoded in scopes.items():
                scope, scope_bytes = self._scopes[skey]
                schema = scope.schema_url if scope is not None else None
                body.append(_len_prefixed(b"\x12", scope_bytes + b"".join(encoded) + _optional_string(b"\x1a", schema)))
            body.append(_optional_string(b"\x1a", resource.schema_url))
            out.append(_len_prefixed(b"\x0a", b"".join(body)))
        return b"".join(out)


def encode_spans(spans: Sequence[ReadableSpan]) -> bytes:
    """The serialised ``ExportTraceServiceRequest`` for ``spans`` (a fresh :class:`SpanEncoder`)."""
    return SpanEncoder().encode(spans)


class OTLPSpanExporter(_SdkOTLPSpanExporter):
    """The SDK's OTLP/HTTP span exporter, encoding with :class:`SpanEncoder` (see the module docstring).

    ``redact=True`` (what :func:`telemetry.tracing.setup_tracing` uses) sends every span as
    :func:`telemetry.redaction.redact_span` leaves it, redacting while encoding; the fallback to the SDK's
    encoder redacts first.
    """

    def __init__(self, redact: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._encoder = SpanEncoder(redact)
        client = getattr(self, "_client", None)
        #: False when this SDK release no longer has the HTTP client where we look for it.
        self.fast_path = callable(getattr(client, "export", None)) and hasattr(self, "_shutdown")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self.fast_path or self._shutdown:
            return super().export([redact_span(span) for span in spans] if self._encoder.redact else spans)
        try:
            data = self._encoder.encode(spans)
        except Exception as error:  # the SDK's behaviour: the batch is lost, the processor goes on
            logger.error("Failed to encode span batch: %s", error)
            return SpanExportResult.FAILURE
        result = self._client.export(data)
        return SpanExportResult.SUCCESS if result.success else SpanExportResult.FAILURE
