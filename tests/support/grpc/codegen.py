"""The code generated from proto/: ``python -m tests.support.grpc.codegen`` writes it again after a .proto change.

tests/unit/grpc/test_generated_code.py generates it into a temporary directory and compares it with what is
committed, so a .proto changed without its code fails there.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parents[3]
PROTO = ROOT / "proto"
#: The .proto files and, for each, the three files generated beside it.
SOURCES = tuple(sorted(PROTO.rglob("*.proto")))
SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def generated(source: Path, out: Path) -> list[Path]:
    stem = source.relative_to(PROTO).with_suffix("")
    return [out / f"{stem}{suffix}" for suffix in SUFFIXES]


def generate(out: Path = PROTO) -> None:
    """Write the generated code of every .proto under proto/ into ``out`` (its package tree)."""
    for source in SOURCES:
        args = ["protoc", f"-I{PROTO}", f"--python_out={out}", f"--pyi_out={out}", f"--grpc_python_out={out}"]
        if protoc.main([*args, str(source)]) != 0:
            raise RuntimeError(f"protoc failed on {source}")


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else PROTO)
