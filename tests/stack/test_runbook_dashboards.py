"""Every runbook's **Dashboards.** paragraph sends the reader to dashboards and panels that exist."""

from __future__ import annotations

import re

from tests.support.monitoring import ROOT, dashboards, panels

RUNBOOKS = sorted((ROOT / "docs" / "runbooks").glob("*.md"))


def dashboards_paragraph(text: str) -> str:
    start = text.index("**Dashboards.**")
    end = text.find("\n\n", start)
    return " ".join(text[start : end if end != -1 else None].split())


def test_every_dashboard_and_panel_a_runbook_names_exists():
    uids = {d["uid"] for d in dashboards().values()}
    titles = {panel["title"] for d in dashboards().values() for panel in panels(d)}
    unknown = []
    for path in RUNBOOKS:
        text = path.read_text()
        if "**Dashboards.**" not in text:
            continue
        paragraph = dashboards_paragraph(text)
        unknown += [f"{path.name}: /d/{uid}" for uid in re.findall(r"/d/([\w-]+)", paragraph) if uid not in uids]
        unknown += [f"{path.name}: {name!r}" for name in re.findall(r'"([^"]+)"', paragraph) if name not in titles]
    assert unknown == []
    assert any("**Dashboards.**" in path.read_text() for path in RUNBOOKS)
