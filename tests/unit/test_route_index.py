"""The route index of docs/architecture.md ("## Route index") is the services' code: every route their OpenAPI
documents hold has a row, and every name a row gives (contract model, handler, domain rule, test file) exists."""

from __future__ import annotations

import ast
import functools
import importlib
import re
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from pydantic import BaseModel

from tests.support.documents import DOCUMENTS

ROOT = Path(__file__).resolve().parents[2]
ARCHITECTURE = ROOT / "docs" / "architecture.md"
HEADING = "## Route index"

QUOTED = re.compile(r"`([^`]+)`")
#: A domain rule: ``Class.method``, or ``Class.method`` in ``module.py`` (a module of the service other than domain.py).
RULE = re.compile(r"`([A-Za-z_][\w.]*)`(?: in `([\w/]+)\.py`)?")


#: The columns of every table of the section, as its header row names them.
COLUMNS = ("route", "contract", "handler", "domain rule", "test")
#: One row of a table: its table's service, then its cells by column (``domain rule`` is ``domain_rule``).
Row = NamedTuple("Row", [(name.replace(" ", "_"), str) for name in ("service", *COLUMNS)])


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


@functools.cache
def tables() -> tuple[tuple[str, list[str], list[list[str]]], ...]:
    """Each ``### <service>`` heading of the section, in order: its service, its table's header and its rows."""
    section = ARCHITECTURE.read_text().split(f"\n{HEADING}\n", 1)[1].split("\n## ", 1)[0]
    found: list[tuple[str, list[str]]] = []
    for line in section.splitlines():
        if line.startswith("### "):
            found.append((line.removeprefix("### ").split()[0], []))
        elif line.startswith("|") and not line.startswith("|---") and found:
            found[-1][1].append(line)
    return tuple(
        (service, cells(lines[0]) if lines else [], [cells(line) for line in lines[1:]]) for service, lines in found
    )


@functools.cache
def index() -> tuple[Row, ...]:
    """The rows of every table whose columns are :data:`COLUMNS`; the tests below report any other table or row."""
    return tuple(
        Row(service, row[0].strip("`"), *row[1:])
        for service, header, rows in tables()
        if tuple(header) == COLUMNS
        for row in rows
        if len(row) == len(COLUMNS)
    )


def row_id(row: Row) -> str:
    return f"{row.service}: {row.route}"


@functools.cache
def operations(service: str) -> dict[str, dict[str, Any]]:
    """``METHOD path`` -> its operation, for every operation of the service's OpenAPI document."""
    if service not in DOCUMENTS:
        return {}  # a heading that names no service: its rows are reported as unknown
    paths = DOCUMENTS[service]().to_dict()["paths"]
    return {f"{method.upper()} {path}": op for path, methods in paths.items() for method, op in methods.items()}


def contract_models(row: Row) -> dict[str, object]:
    """Each model the contract cell names -> what it is: bare names in the service's contract.py, dotted ones
    in the module they name."""
    found: dict[str, object] = {}
    for name in QUOTED.findall(row.contract):
        module, _, attribute = name.rpartition(".")
        try:
            found[name] = getattr(
                importlib.import_module(module or f"services.{row.service}.contract"), attribute, None
            )
        except ImportError:
            found[name] = None
    return found


def referenced_models(operation: dict[str, Any]) -> set[str]:
    """The names of the models the operation's request body and answers refer to."""
    refs = re.findall(r"'\$ref': '#/components/schemas/(\w+)'", repr(operation))
    return set(refs) - {"Error"}


@functools.cache
def defined_functions(path: Path) -> set[str]:
    """Every function defined in ``path``, at any depth (handlers are defined inside ``blueprint``)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}


def resolve(module: str, dotted: str) -> object:
    target: object = importlib.import_module(module)
    for part in dotted.split("."):
        target = getattr(target, part)
    return target


def test_the_route_index_has_a_table_for_every_service():
    assert sorted({row.service for row in index()}) == sorted(DOCUMENTS)


def test_every_table_of_the_route_index_has_the_same_columns():
    headers = {service: tuple(header) for service, header, _ in tables()}

    assert headers == dict.fromkeys(headers, COLUMNS)


def test_every_row_of_the_route_index_has_a_cell_for_every_column():
    short_or_long = [
        f"{service}: {row[0]}" for service, _, rows in tables() for row in rows if len(row) != len(COLUMNS)
    ]

    assert short_or_long == []


def test_no_service_has_two_tables_in_the_route_index():
    services = [service for service, _, _ in tables()]

    assert sorted(services) == sorted(set(services))


def test_every_route_of_every_service_has_a_row_in_the_route_index():
    indexed = {(row.service, row.route) for row in index()}
    missing = [
        f"{service}: {route}"
        for service in DOCUMENTS
        for route in operations(service)
        if (service, route) not in indexed
    ]

    assert missing == [], f"routes without a row under {HEADING} in docs/architecture.md"


def test_no_route_has_two_rows_in_the_route_index():
    seen = [(row.service, row.route) for row in index()]
    twice = sorted({f"{service}: {route}" for service, route in seen if seen.count((service, route)) > 1})

    assert twice == []


# Each row is checked on its own: a failure's test id names the row (``[orders: POST /orders]``).
each_row = pytest.mark.parametrize("row", index(), ids=row_id)


@each_row
def test_the_row_names_a_route_its_service_documents(row: Row):
    assert row.route in operations(row.service), "the service's OpenAPI document has no such route"


@each_row
def test_every_contract_the_row_names_is_a_model_of_the_module_it_names(row: Row):
    wrong = [
        name
        for name, model in contract_models(row).items()
        if not (isinstance(model, type) and issubclass(model, BaseModel))
    ]

    assert wrong == [], "named contracts that are no pydantic model of that module"
    assert row.contract == "—" or QUOTED.search(row.contract), 'a contract cell names models in backquotes, or is "—"'


@each_row
def test_every_model_the_route_documents_is_named_in_the_rows_contract_cell(row: Row):
    operation = operations(row.service).get(row.route, {})  # an unknown route fails the test above
    named = {model.__name__ for model in contract_models(row).values() if isinstance(model, type)}

    assert sorted(referenced_models(operation) - named) == [], "models of the route's body or answers not named"


@each_row
def test_the_handler_the_row_names_is_a_function_defined_in_its_api_module(row: Row):
    names = QUOTED.findall(row.handler)
    assert len(names) == 1, "the handler cell names one function"
    module, _, function = names[0].rpartition(".")
    path = ROOT / (f"{module.replace('.', '/')}.py" if module else f"services/{row.service}/api.py")

    assert path.is_file() and function in defined_functions(path), f"no function {function} in {path}"


@each_row
def test_every_domain_rule_the_row_names_exists(row: Row):
    rules = RULE.findall(row.domain_rule)
    assert rules, "the domain cell names a rule"
    for dotted, path in rules:
        module = f"services.{row.service}.{path.replace('/', '.') if path else 'domain'}"
        resolve(module, dotted)  # an ImportError or AttributeError names what is missing


@each_row
def test_the_test_file_the_row_names_exists(row: Row):
    names = QUOTED.findall(row.test)
    assert len(names) == 1, "the test cell names one file"
    path = ROOT / names[0]

    assert names[0].startswith("tests/") and path.name.startswith("test_") and path.is_file(), names[0]
