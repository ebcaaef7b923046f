"""Redaction: what keeps credentials, card numbers and password hashes out of logs and spans.

Log lines (:mod:`telemetry.logs`) and exported spans (the OTLP/HTTP encoder of :mod:`telemetry.otlp` redacts
as it encodes; :class:`RedactingSpanExporter` goes in front of any other exporter that
:func:`telemetry.tracing.setup_tracing` makes) go through the same rules:

* a field, span attribute or URL query parameter whose *name* looks like a credential has its value
  replaced by ``[REDACTED]``, at any depth of dicts and lists: ``password``, ``card_number``, ``cvc``,
  ``authorization``, ``cookie``, ``token``, ``secret``, ``api_key``, and any name ending in
  ``_password``, ``_token``, ``_secret``, ``api_key`` or ``_hash`` (``password_hash``) — see :func:`is_sensitive`;
* inside free text (messages, tracebacks, exception messages, any string value), the same names written as
  ``key=value``, ``key: value`` or ``"key": "value"`` have their value masked; a quoted value is masked to its
  closing quote, spaces and commas included (``'password': 'correct horse'``, SQLAlchemy's
  ``'password_hash': '$argon2id$v=19$m=65536,t=3,p=4$...'``), an unquoted one to the next blank or separator;
* a JSON Web Token (``eyJ...``: three base64url parts) is masked wherever it stands, with or without a key;
* anything shaped like a payment card number (13 to 19 digits, grouped by spaces or dashes in any way)
  keeps only its last four digits: ``****4242``.

Cost: most text holds nothing to mask (an access line's ``GET /items/42 200``), so every string first meets
one cheap pre-check (:data:`_SUSPECT`, a case-sensitive search over the lowered text, about three times faster
than the same search with ``(?i)``); the substitutions only run on text that names a credential, holds
``eyj`` or has a run of digits long enough for a card. Numbers, booleans and ``None`` are never looked at.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import unquote_plus

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import Status

REDACTED = "[REDACTED]"

_SENSITIVE_KEYS = frozenset(
    {
        "password", "passwd", "passphrase", "new_password", "old_password", "card_number", "cardnumber", "pan",
        "cvc", "cvv", "authorization", "proxy_authorization", "cookie", "set_cookie", "token", "access_token",
        "refresh_token", "id_token", "secret", "client_secret", "jwt_secret", "api_key", "apikey",
    }
)  # fmt: skip
_SENSITIVE_SUFFIXES = ("_password", "_token", "_secret", "api_key", "_hash")

# A credential's name inside text: words joined by "_" or "-" whose last word is one of these (so
# "password_hash", "X-Api-Key" and "jwt_secret" match, "tokens" and "hashes" do not). Broader than
# is_sensitive() on purpose: in free text a false alarm only masks a value.
_KEY_WORDS = (
    r"password|passwd|passphrase|secret|token|hash|api[_-]?key|apikey"
    r"|card[_-]?number|cardnumber|pan|cvc|cvv|authorization|cookie"
)
# The value after "key=", "key: ", "'key': ": a quoted string to its closing quote (escapes honoured; a value
# cut short before its closing quote is masked to the end), bytes or str prefixes included; or a bare word.
_VALUE = r"""(?:(bearer|basic)\s+)?([bru]?"(?:[^"\\]|\\.)*"?|[bru]?'(?:[^'\\]|\\.)*'?|[^"'\s;&})\]]+)"""
_IN_TEXT = re.compile(rf"""(?i)(?<![\w-])((["']?)(?:[a-z0-9]+[_-])*(?:{_KEY_WORDS})\2\s*[:=]\s*){_VALUE}""")
# A JWT: base64url of a JSON object ("eyJ" is '{"'), a payload, and a signature (empty for alg "none").
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
# 13 to 19 digits with up to three spaces or dashes between any two: a payment card number however grouped.
_CARD = re.compile(r"\b\d(?:[ -]{0,3}\d){12,18}\b")
# The pre-check, run on the lowered text: a credential's name, the start of a JWT, or 13 characters of digits,
# spaces and dashes from a digit on, which every card number _CARD finds holds. Wanting fewer would send
# "/items/42 200" to the substitutions; a plain class repeat is also about half the cost of _CARD's own
# pattern on digit-rich text (request ids, addresses, versions).
_SUSPECT = re.compile(r"pass|secret|token|hash|key|card|pan|cv[cv]|auth|cookie|eyj|\d[\d -]{12}")
_SCALARS = frozenset({int, float, bool})


@functools.lru_cache(maxsize=2048)
def is_sensitive(key: str) -> bool:
    """True when a field called ``key`` must never be logged or exported in clear.

    A dotted span attribute name is judged by its last part: ``http.request.header.authorization``.
    """
    k = key.lower().replace("-", "_").rpartition(".")[2]
    return k in _SENSITIVE_KEYS or k.endswith(_SENSITIVE_SUFFIXES)


def _mask_value(match: re.Match[str]) -> str:
    scheme, value = match.group(3), match.group(4)
    quote = value.lstrip("bruBRU")[:1]
    if quote not in ("'", '"'):
        quote = ""
    return f"{match.group(1)}{scheme + ' ' if scheme else ''}{quote}{REDACTED}{quote}"


def _mask_card(match: re.Match[str]) -> str:
    digits = match.group(0).replace(" ", "").replace("-", "")
    return f"****{digits[-4:]}"


def may_hold_secrets(text: str) -> bool:
    """False when :func:`redact_text` would return ``text`` unchanged without looking further.

    The pre-check alone: it holds for every part of ``text`` too, so one call can clear several strings
    written side by side (no pattern crosses a line break).
    """
    return _SUSPECT.search(text.lower()) is not None


def redact_text(text: str) -> str:
    """Mask credentials written as ``key=value`` text, JWTs and card numbers inside ``text``."""
    if _SUSPECT.search(text.lower()) is None:
        return text
    text = _IN_TEXT.sub(_mask_value, text)
    text = _JWT.sub(REDACTED, text)
    return _CARD.sub(_mask_card, text)


def redact(value: Any) -> Any:
    """Return ``value`` with sensitive fields masked, recursing through dicts, lists and tuples."""
    if value is None or type(value) in _SCALARS:
        return value
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: (REDACTED if isinstance(k, str) and is_sensitive(k) else redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact(v) for v in value]
    return value


def redact_query(query: str) -> str:
    """A URL query string with the values of sensitive parameters replaced: ``a=1&token=[REDACTED]``.

    Other values keep their text, card numbers and JWTs masked as in :func:`redact_text`.
    """
    parts = []
    for part in query.split("&"):
        name, eq, _ = part.partition("=")
        parts.append(f"{name}={REDACTED}" if eq and is_sensitive(unquote_plus(name)) else redact_text(part))
    return "&".join(parts)


def redact_attribute(key: str, value: Any) -> Any:
    """A span attribute's value as it may be exported: ``[REDACTED]`` for a sensitive key, text redacted."""
    if is_sensitive(key):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, tuple) and value and isinstance(value[0], str):
        # One pre-check for all the strings (a request header's values, most often one request ID): a
        # generator and a comparison per item cost more than the search itself.
        if not may_hold_secrets("\n".join(value)):
            return value
        clean = tuple(redact_text(v) for v in value)
        return value if all(c is v for c, v in zip(clean, value, strict=True)) else clean
    return value


def redact_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``attributes`` with every value redacted, or None when nothing had to change (the common case)."""
    if not attributes:
        return None
    # One pre-check over all the string values at once: a span's several short strings cost one search
    # instead of one each (a line break joins them, which no pattern of _SUSPECT crosses).
    texts = []
    for key, value in attributes.items():
        if is_sensitive(key):
            break
        if type(value) is str:
            texts.append(value)
        elif type(value) is tuple:
            texts.extend(v for v in value if type(v) is str)
    else:
        if _SUSPECT.search("\n".join(texts).lower()) is None:
            return None
    redacted = {k: redact_attribute(k, v) for k, v in attributes.items()}
    if all(redacted[k] is v for k, v in attributes.items()):  # redact_text returns its argument unchanged
        return None
    return redacted


def redact_span(span: ReadableSpan) -> ReadableSpan:
    """``span`` itself when it holds nothing to mask; otherwise a copy with attributes, event attributes
    (``exception.message``, ``exception.stacktrace``, ...) and the status description redacted."""
    attributes = redact_attributes(span.attributes)
    events: list[Event] | None = None
    for index, event in enumerate(span.events):
        event_attributes = redact_attributes(event.attributes)
        if event_attributes is not None:
            if events is None:
                events = list(span.events)
            events[index] = Event(event.name, event_attributes, event.timestamp)
    description = span.status.description
    clean_description = redact_text(description) if description else description
    if attributes is None and events is None and clean_description is description:
        return span
    # A copy made through the public constructor: dropped attribute counts of the original are not carried
    # over (the SDK keeps them on its private bounded mapping), which only matters for spans that also hit
    # the attribute limits.
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes if attributes is not None else span.attributes,
        events=events if events is not None else span.events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, clean_description),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanExporter(SpanExporter):
    """Wraps an exporter so that no span leaves the process with a credential in it (see :func:`redact_span`).

    Redaction runs here, on the batch processor's thread just before encoding, rather than in a span
    processor's ``on_end``: the request thread pays nothing, and spans of library instrumentations
    (SQLAlchemy, ...) that share the provider are covered the same way.
    """

    def __init__(self, exporter: SpanExporter) -> None:
        self.exporter = exporter

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.exporter.export([redact_span(span) for span in spans])

    def shutdown(self) -> None:
        self.exporter.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.exporter.force_flush(timeout_millis)
