"""The repository stands on its own: docs/architecture.md states the ports and routes the code uses, the
architecture picture is what its source draws, nothing points at a file outside the repository, and test
helpers live in tests/support/ (conftest modules hold fixtures only)."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

from services.common.settings import DEFAULT_URLS
from services.stack import SERVICES
from tests.support.diagram import PICTURE, SOURCE, GraphvizUnavailable, render

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
#: What is not part of the project, so nothing may cite it as if it were: files beside the repository, and the
#: project's issues (a note states its target or case in place).
OUTSIDE = re.compile(r"DESIGN\.md|\.\./shared|\b[Ii]ssues? [0-9]+\b|\b[Tt]he[ ]issue\b|\([Ii]ssue[ )]")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")
TESTS = ROOT / "tests"


def repository_files() -> list[Path]:
    """Every file of the project: committed, or new and not ignored."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text()
    except UnicodeDecodeError:
        return None


def markdown_table(text: str, heading: str) -> list[list[str]]:
    """The body rows (cells stripped) of the first table after the line ``heading``."""
    lines = text.split(f"\n{heading}\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[start + 2 : end]]


def test_the_committed_architecture_picture_is_what_its_dot_source_renders_to():
    try:
        drawn = render(SOURCE)
    except GraphvizUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)

    assert PICTURE.read_text() == drawn, (
        "docs/architecture.svg is not what docs/architecture.dot renders to; "
        "write it anew with: .venv/bin/python -m tests.support.diagram"
    )


def test_the_readme_and_the_architecture_notes_show_the_picture():
    assert "](docs/architecture.svg)" in (ROOT / "README.md").read_text()
    assert "](architecture.svg)" in ARCHITECTURE.read_text()


def test_no_file_cites_a_design_document_a_shared_folder_or_an_issue_outside_the_repository():
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in repository_files()
        if (text := text_of(path)) is not None
        for number, line in enumerate(text.splitlines(), start=1)
        if OUTSIDE.search(line)
    ]

    assert offenders == []


def test_every_relative_link_in_the_documentation_leads_to_a_file_in_the_repository():
    broken = []
    for path in repository_files():
        if path.suffix != ".md":
            continue
        for target in MARKDOWN_LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a web address or an anchor in the same page
            linked = (path.parent / target.split("#", 1)[0]).resolve()
            if not linked.is_relative_to(ROOT) or not linked.exists():
                broken.append(f"{path.relative_to(ROOT)}: {target}")

    assert broken == []


def test_the_ports_in_the_architecture_notes_are_the_ones_the_services_start_on():
    documented = {row[0]: row[1] for row in markdown_table(ARCHITECTURE.read_text(), "## Ports")}

    upstreams = {name.removesuffix("_URL").lower(): url for name, url in DEFAULT_URLS.items()}

    assert {service.name: documented[service.name] for service in SERVICES} == {
        service.name: str(service.port) for service in SERVICES
    }
    assert upstreams == {service.name: service.url for service in SERVICES if service.name in upstreams}
    assert set(upstreams) == {service.name for service in SERVICES} - {"gateway", "audit"}


def documented_path(rule: str) -> str:
    """A Flask rule as the notes write it: ``<id:order_id>`` is ``{id}``, ``<string:service>`` is ``{service}``."""
    return re.sub(r"<[a-z]+:([a-z_]+)>", r"{\1}", re.sub(r"<id:[a-z_]+>", "{id}", rule))


def test_the_public_routes_in_the_architecture_notes_are_exactly_the_gateways_routes():
    from services.gateway.app import create_app

    app = create_app()
    served = {
        f"{method} {documented_path(rule.rule)}"
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    rows = markdown_table(ARCHITECTURE.read_text(), "## Public API: gateway :8080, prefix `/api/v1`")
    documented = {re.match(r"`([A-Z]+ /[^` ?]+)", row[0]).group(1) for row in rows}

    assert documented == served


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module name) of every import in ``path``, relative ones resolved against its package."""
    package = path.relative_to(ROOT).parent.parts
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join((*base, *(node.module.split(".") if node.module else ())))
            found.append((node.lineno, module))
            found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
    return found


def test_no_test_module_imports_from_a_conftest_module():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted(TESTS.rglob("*.py"))
        for line, module in imported_modules(path)
        if module == "conftest" or module.endswith(".conftest") or ".conftest." in module
    ]

    assert offenders == []


def test_conftest_modules_define_fixtures_and_hooks_only():
    helpers = []
    for path in sorted(TESTS.rglob("conftest.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                is_fixture = any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)
                if not is_fixture and not node.name.startswith("pytest_"):
                    helpers.append(f"{path.relative_to(ROOT)}:{node.lineno}: def {node.name}")
            elif isinstance(node, ast.ClassDef | ast.Assign | ast.AnnAssign):
                helpers.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node).splitlines()[0]}")

    assert helpers == [], "helpers belong in tests/support/"


def test_integration_and_end_to_end_tests_import_nothing_from_the_unit_tests():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for folder in ("integration", "e2e", "stack", "load", "compose", "support")
        for path in sorted((TESTS / folder).rglob("*.py"))
        for line, module in imported_modules(path)
        if module.startswith("tests.unit")
    ]

    assert offenders == []
