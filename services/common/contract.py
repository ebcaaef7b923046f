"""The rules every service's contract shares, written once: ids, paging, the idempotency key, free text.

Each service's ``contract.py`` builds its request and response models from these; the gateway's public
models and every OpenAPI document are made from those models, so a bound stated here holds at the gateway
and at the service alike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Annotated, Any, Final, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, Field, StringConstraints
from werkzeug.datastructures import Headers

from .errors import BadRequest, InvalidInput
from .validation import Strict, parse_query

#: Largest id any service hands out or accepts: the products' tables have 32-bit keys, and the gateway's route
#: converter lets no larger id through. A larger id is simply not found.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]

#: Money is integer cents and one ISO 4217 currency, the shop's: products prices in it, payments charges in it.
Currency = Literal["EUR"]
CURRENCIES: Final[tuple[Currency, ...]] = get_args(Currency)
CURRENCY: Final[Currency] = "EUR"

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
#: Deepest page offset, the same for every listing service and the gateway.
MAX_OFFSET = 1_000_000_000


class PageQuery(Strict):
    """``?limit=&offset=`` of every listing."""

    limit: Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE
    offset: Annotated[int, Field(ge=0, le=MAX_OFFSET)] = 0


#: The integrity audit's reads (``GET /audit/...``) come in keyset pages, so that one answer is bounded whatever
#: the number of rows: ``?after=&until=&limit=`` asks for the rows whose key is after ``after`` and up to
#: ``until`` (both optional), in key order, at most ``limit``; ``next`` in the answer is the ``after`` of the
#: page that follows, null on the last one (a store reads ``limit + 1`` rows to know, :func:`keyset_page`).
#: Keys never change, so a walk sees every row that existed when it began exactly once, whatever is written
#: meanwhile.
DEFAULT_AUDIT_PAGE_SIZE = 500
MAX_AUDIT_PAGE_SIZE = 1000
#: A UUID4 as 32 lowercase hex digits (``uuid4().hex``): how tienda writes a saga id and an event id.
HEX_UUID = "[0-9a-f]{32}"
#: A stock reservation's id: 1 to 64 of these characters (orders reserves under its checkout's saga id).
RESERVATION_ID_MAX_LENGTH = 64
RESERVATION_ID_PATTERN = rf"^[A-Za-z0-9._:-]{{1,{RESERVATION_ID_MAX_LENGTH}}}$"
#: The key the audit pages orders, payments and reservations by, their saga's: a saga id (32 hex digits),
#: ``order-{id}`` of a charge made before saga ids, or any reservation id.
AuditKey = Annotated[str, StringConstraints(pattern=RESERVATION_ID_PATTERN)]

K = TypeVar("K")


class KeysetQuery(Strict, Generic[K]):
    """``?after=&until=&limit=`` of an audit read (:func:`keyset_query` parses it)."""

    after: K | None = Field(None, description="Rows after this key: the `next` of the page before (default: the first)")
    until: K | None = Field(None, description="Rows up to this key, included (default: to the last)")
    limit: Annotated[int, Field(ge=1, le=MAX_AUDIT_PAGE_SIZE, description="Rows at most")] = DEFAULT_AUDIT_PAGE_SIZE


class KeysetPage(BaseModel, Generic[K]):
    """What every audit page answers besides its rows."""

    next: K | None = Field(description="`after` of the next page; null: this is the last page")


class InvalidPage(BadRequest, code="invalid_page"):
    """An audit read's keyset query (``after``, ``until``, ``limit``) is not one the read takes: ``details`` names
    the field. A listing's ``PageQuery`` is validated like any query (422)."""


Q = TypeVar("Q", bound=KeysetQuery[Any])


def keyset_query(model: type[Q], args: Mapping[str, str]) -> Q:
    """The page an audit read asks for; :class:`InvalidPage` (400, each problem in ``details``) when a parameter
    is not a key of the read or ``limit`` is outside 1..MAX_AUDIT_PAGE_SIZE."""
    try:
        return parse_query(model, args)
    except InvalidInput as exc:
        raise InvalidPage(
            f"after and until must be keys of this read and limit 1 to {MAX_AUDIT_PAGE_SIZE}.", details=exc.details
        ) from None


T = TypeVar("T")


def keyset_page(rows: Sequence[T], limit: int, key: Callable[[T], K]) -> tuple[Sequence[T], K | None]:
    """A page and its ``next`` from ``rows`` read with ``limit + 1``: the one row more tells that a page follows."""
    page = rows[:limit]
    return page, key(page[-1]) if len(rows) > limit else None


def audit_page(
    query: type[KeysetQuery[Any]], args: Mapping[str, str], read: Callable[..., Sequence[T]], key: Callable[[T], K]
) -> tuple[Sequence[T], K | None]:
    """The page an audit read's ``args`` ask for (:func:`keyset_query`) and its ``next``: ``read(after=, until=,
    limit=)`` is asked for one row more than the page holds."""
    page = keyset_query(query, args)
    return keyset_page(read(after=page.after, until=page.until, limit=page.limit + 1), page.limit, key)


def utc_timestamp(moment: datetime, timespec: Literal["milliseconds", "microseconds"] = "milliseconds") -> str:
    """``moment`` as the contracts write a time ("ISO 8601, UTC"): in UTC, to ``timespec``, ending in ``Z``."""
    return moment.astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
#: Marks an answer served from what an earlier request with the same key stored (``true``), not worked out anew.
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
#: The headers of a replayed answer.
REPLAYED: Mapping[str, str] = MappingProxyType({IDEMPOTENT_REPLAYED_HEADER: "true"})
IDEMPOTENCY_KEY_MAX_LENGTH = 255
IDEMPOTENCY_KEY_DOC = (
    f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters. Repeating an order with the same key returns "
    "the first result instead of ordering again."
)


class InvalidIdempotencyKey(InvalidInput, code="invalid_idempotency_key"):
    """The ``Idempotency-Key`` header breaks :func:`valid_idempotency_key`."""


def valid_idempotency_key(key: str) -> bool:
    """1..255 printable ASCII characters (what any HTTP client can send on unchanged)."""
    return 1 <= len(key) <= IDEMPOTENCY_KEY_MAX_LENGTH and all(" " <= char <= "~" for char in key)


def idempotency_key(headers: Headers | Mapping[str, str]) -> str | None:
    """The request's ``Idempotency-Key``, if any; :class:`InvalidIdempotencyKey` (422) when it breaks the rule."""
    key = headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is not None and not valid_idempotency_key(key):
        raise InvalidIdempotencyKey(
            f"{IDEMPOTENCY_KEY_HEADER} must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters."
        )
    return key


def idempotency_key_parameter() -> dict[str, Any]:
    """The OpenAPI description of the optional ``Idempotency-Key`` header."""
    return {
        "name": IDEMPOTENCY_KEY_HEADER,
        "in": "header",
        "required": False,
        "description": IDEMPOTENCY_KEY_DOC,
        "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH},
    }


#: One line of text: no control characters at all, C0, DEL or C1 (PostgreSQL refuses NUL in text; logs and
#: terminals the rest: U+009B, for one, starts a terminal escape sequence as ESC [ does).
LINE_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
#: Text that may have tabs and line breaks, but no other control character.
PARAGRAPH_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"


def one_line(max_length: int, *, min_length: int = 1) -> StringConstraints:
    """Constraints of a one-line text field (``Annotated[str, one_line(200)]``): blanks around it removed, then
    ``min_length..max_length`` characters and no control character."""
    return StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=LINE_PATTERN)


def free_text(max_length: int) -> StringConstraints:
    """Constraints of a free-text field (``Annotated[str, free_text(2000)]``): up to ``max_length`` characters,
    line breaks and tabs allowed, blanks around it removed."""
    return StringConstraints(strip_whitespace=True, max_length=max_length, pattern=PARAGRAPH_PATTERN)
