"""What the services' business metrics share: counters whose series exist from the start at zero.

A series that appears only at its first increment has no rate until its second scrape, and an alert over it
stays silent meanwhile; each service therefore declares every label value it will count, once, here.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter


def counter_by(
    name: str, documentation: str, label: str, values: Iterable[str], registry: CollectorRegistry
) -> Counter:
    """A counter labelled by ``label``, with the series of every one of ``values`` present at zero."""
    counter = Counter(name, documentation, (label,), registry=registry)
    for value in values:
        counter.labels(value)
    return counter
