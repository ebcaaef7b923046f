"""``docs/benchmarks.md`` is shared: each benchmark owns one ``## `` section of it and replaces only that one.

A section runs from its ``## `` heading to the next ``## `` or ``# `` heading, so a benchmark's own subsections
are ``### `` headings, and a section written by hand under its own ``## `` heading (an analysis beside a
generated table) survives every run.

:func:`load_options` is the command line the load benchmarks (orders, scale, memory) share.
"""

from __future__ import annotations

import argparse
from pathlib import Path

REPORT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
TITLE = "# Benchmarks"


def _is_boundary(line: str) -> bool:
    return line.startswith(("## ", "# "))


def replace_section(document: str, text: str) -> str:
    """``document`` with the section that ``text`` starts with (its first line, a ``## `` heading) replaced by
    ``text``, or with ``text`` appended when it has no such section; every other line is kept as it was."""
    heading = text.split("\n", 1)[0]
    if not heading.startswith("## "):
        raise ValueError(f"a section starts with a '## ' heading, not {heading!r}")
    section = text.strip("\n").split("\n")
    lines = document.rstrip("\n").split("\n") if document.strip() else [TITLE]
    try:
        start = lines.index(heading)
    except ValueError:
        return "\n".join([*lines, "", *section]) + "\n"
    end = next((i for i in range(start + 1, len(lines)) if _is_boundary(lines[i])), len(lines))
    after = lines[end:]
    return "\n".join([*lines[:start], *section, *([""] if after else []), *after]) + "\n"


def write_section(text: str, path: Path = REPORT) -> None:
    """Replace (or append) the section of ``path`` that ``text`` is, keeping the rest of the file."""
    old = path.read_text() if path.exists() else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(replace_section(old, text))


def load_options(doc: str, *, seconds: float, warmup: float) -> argparse.ArgumentParser:
    """The options of a load benchmark whose docstring is ``doc``: ``--clients`` (8) load threads, ``--seconds``
    measured after ``--warmup`` (defaults given), and ``--no-write``; the benchmark adds its own."""
    parser = argparse.ArgumentParser(description=doc.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=seconds)
    parser.add_argument("--warmup", type=float, default=warmup)
    parser.add_argument("--no-write", action="store_true", help="print only, leave docs/benchmarks.md alone")
    return parser
