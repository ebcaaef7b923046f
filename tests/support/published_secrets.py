"""Every secret-looking value written in the repository's files: what production must refuse.

Read from the files git knows (tracked, plus new files not ignored), at test time:

* ``NAME=value`` and ``NAME: value`` lines (``.env``, docs, compose, shell, Makefile) whose name says secret,
  password or key;
* in Python, constants, keyword arguments and dict entries with such a name, when the value is a string
  literal or a constant expression of literals (``"e2e-secret-" + "x" * 32``);
* the password of any ``scheme://user:password@host`` URL.

``${...}`` references and values shorter than :data:`MIN_LENGTH` (one-letter placeholders) are not secrets.
"""

from __future__ import annotations

import ast
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: Shorter values are placeholders (``--password P``); production refuses them by length anyway.
MIN_LENGTH = 6
SECRET_NAME = re.compile(r"(?i)secret|passw(or)?d|token_key|signing_key")
TEXT_SUFFIXES = {".md", ".yml", ".yaml", ".toml", ".env", ".sh", ".conf", ".cfg", ".ini", ".txt", ".json"}
TEXT_NAMES = {".env", "Makefile", "Dockerfile"}
_ASSIGNMENT = re.compile(
    r"""(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)["']?\s*(?:=|:)\s*(?P<value>"[^"\n]*"|'[^'\n]*'|[^\s,;)}\]]+)"""
)
_URL_PASSWORD = re.compile(r"[a-z][a-z0-9+.-]*://[^\s:/@'\"]+:(?P<password>[^\s@/'\"]+)@")


def repository_files(root: Path = ROOT) -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    return [root / name for name in listed if (root / name).is_file()]


def _constant(node: ast.AST) -> object:
    """The value of a constant expression of literals (``+`` and ``*`` only); raises ValueError otherwise."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str | int) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
        left, right = _constant(node.left), _constant(node.right)
        if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(node.op, ast.Mult) and isinstance(left, str) and isinstance(right, int):
            return left * right
    raise ValueError("not a constant expression")


def _python_values(tree: ast.AST) -> Iterator[str]:
    for node in ast.walk(tree):
        pairs: list[tuple[str, ast.AST]] = []
        if isinstance(node, ast.Assign):
            pairs = [(t.id, node.value) for t in node.targets if isinstance(t, ast.Name)]
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            pairs = [(node.target.id, node.value)]
        elif isinstance(node, ast.keyword) and node.arg:
            pairs = [(node.arg, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [
                (k.value, v) for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            ]  # fmt: skip
        for name, value in pairs:
            if not SECRET_NAME.search(name):
                continue
            try:
                found = _constant(value)
            except ValueError:
                continue
            if isinstance(found, str):
                yield found


def _text_values(text: str) -> Iterator[str]:
    for match in _ASSIGNMENT.finditer(text):
        if SECRET_NAME.search(match["name"]):
            yield match["value"].strip("\"'")
    for match in _URL_PASSWORD.finditer(text):
        yield match["password"]


def _is_secret(value: str) -> bool:
    return len(value) >= MIN_LENGTH and not value.startswith("?") and not any(c in value for c in "${<")


def published_secrets(root: Path = ROOT) -> set[str]:
    """Every secret-looking value in the repository (see the module docstring)."""
    found: set[str] = set()
    for path in repository_files(root):
        if path.suffix == ".py":
            source = path.read_text(errors="replace")
            found.update(_python_values(ast.parse(source)))
            found.update(m["password"] for m in _URL_PASSWORD.finditer(source))
        elif path.suffix in TEXT_SUFFIXES or path.name in TEXT_NAMES:
            found.update(_text_values(path.read_text(errors="replace")))
    return {value for value in found if _is_secret(value)}


def update_refusal_list(root: Path = ROOT) -> int:
    """Add the fingerprint of every published value missing from services/common/settings.py's
    PUBLISHED_SECRET_FINGERPRINTS (kept sorted); returns how many were added."""
    from services.common.settings import MIN_SECRET_CHARS, fingerprint

    path = root / "services" / "common" / "settings.py"
    source = path.read_text()
    block = re.search(r"PUBLISHED_SECRET_FINGERPRINTS = frozenset\(\n    \{\n(.*?)\n    \}\n\)", source, re.S)
    assert block, f"{path}: PUBLISHED_SECRET_FINGERPRINTS not found"
    known = set(re.findall(r'"([0-9a-f]{64})"', block[1]))
    wanted = known | {fingerprint(v) for v in published_secrets(root) if len(v) >= MIN_SECRET_CHARS}
    lines = "\n".join(f'        "{fp}",' for fp in sorted(wanted))
    path.write_text(source[: block.start(1)] + lines + source[block.end(1) :])
    return len(wanted - known)


if __name__ == "__main__":
    print(f"{update_refusal_list()} fingerprints added to services/common/settings.py")
