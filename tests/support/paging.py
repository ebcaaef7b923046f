"""Keyset pages over in-memory rows, as the services' stores answer them (``services.common.db.keyset``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from services.common.contract import MAX_AUDIT_PAGE_SIZE
from tests.support.auth import AUDIT

T = TypeVar("T")


def keyset_page(rows: Iterable[T], key: Callable[[T], Any], *, after: Any, until: Any, limit: int) -> list[T]:
    """The rows whose ``key`` is after ``after`` and up to ``until`` (None: unbounded), in key order, at most
    ``limit``."""
    inside = [row for row in rows if (after is None or key(row) > after) and (until is None or key(row) <= until)]
    return sorted(inside, key=key)[:limit]


def audit_pages(client: Any, route: str, rows: str, key: str, *, limit: int, **bounds: Any) -> list[list[Any]]:
    """The keys of every page of an audit read (``GET /audit/...`` through a Flask test ``client``, as the audit),
    ``limit`` rows a page within ``bounds`` (``until=...``), each page asked for with the ``next`` of the one before
    (which must be the last key of a full page)."""
    pages: list[list[Any]] = []
    after = None
    while True:
        query = {"limit": limit, **bounds} | ({} if after is None else {"after": after})
        response = client.get(route, query_string=query, headers=AUDIT)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        pages.append([row[key] for row in body[rows]])
        if body["next"] is None:
            return pages
        assert body["next"] == pages[-1][-1]
        after = body["next"]


#: Page parameters every audit read refuses with a 400 ``invalid_page``, whatever its key.
BAD_PAGES = (
    {"limit": "0"}, {"limit": str(MAX_AUDIT_PAGE_SIZE + 1)}, {"limit": "ten"}, {"after": ""}, {"until": "a b"},
    {"page": "2"},
)  # fmt: skip
