"""The Dockerfile and .dockerignore, read statically (nothing is built here)."""

from __future__ import annotations

import re

import pytest

from tests.support.compose import (
    DOCKERFILE,
    DOCKERIGNORE,
    ROOT,
    dockerfile_stages,
    dockerignore_patterns,
    dockerignored,
)

BUILD_TOOLS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cmake|python3?-dev|libc6?-dev|cc)\b")


@pytest.fixture(scope="module")
def dockerfile():
    return dockerfile_stages(DOCKERFILE.read_text())


def test_the_image_is_built_in_stages_from_the_pinned_python_slim(dockerfile, dotenv):
    global_args, stages = dockerfile
    assert len(stages) >= 2, "a builder stage and a runtime stage"
    assert global_args.get("PYTHON_IMAGE_TAG") == dotenv["PYTHON_IMAGE_TAG"], "ARG default must equal the .env pin"
    for stage in stages:
        assert stage.base == "python:${PYTHON_IMAGE_TAG}", f"stage {stage.name}: FROM {stage.base}"
    assert "slim" in dotenv["PYTHON_IMAGE_TAG"]


def test_the_runtime_stage_copies_only_the_venv_and_the_source_from_the_builder(dockerfile):
    _, stages = dockerfile
    builder, runtime = stages[0], stages[-1]
    copies = [args for instruction, args in runtime.instructions if instruction in ("COPY", "ADD")]
    assert copies, "the runtime stage copies nothing"
    for args in copies:
        assert args.startswith(f"--from={builder.name} "), f"runtime stage copies from the context: {args}"
    sources = {args.split()[1] for args in copies}
    assert "/opt/venv" in sources
    runs = " ".join(args for instruction, args in runtime.instructions if instruction == "RUN")
    assert "pip install" not in runs, "the runtime stage installs nothing"


def test_the_runtime_stage_has_no_compilers_or_build_tools(dockerfile):
    _, stages = dockerfile
    runtime = stages[-1]
    for instruction, args in runtime.instructions:
        if instruction == "RUN":
            assert not BUILD_TOOLS.search(args), f"build tools in the runtime stage: {args}"
            assert not re.search(r"\b(apt-get|apt|apk)\s+(install|add)\b", args), f"packages installed: {args}"


def test_the_runtime_stage_runs_as_a_non_root_user(dockerfile):
    _, stages = dockerfile
    users = [args for instruction, args in stages[-1].instructions if instruction == "USER"]
    assert users, "the runtime stage never leaves root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1]}"


def test_the_runtime_stage_runs_python_unbuffered_with_the_venv_on_the_path(dockerfile):
    _, stages = dockerfile
    env = " ".join(args for instruction, args in stages[-1].instructions if instruction == "ENV")
    assert re.search(r"\bPYTHONUNBUFFERED=1\b", env), "log lines must reach docker logs as they are written"
    assert re.search(r"\bPATH=/opt/venv/bin:", env)


def test_the_builder_installs_wheels_only_so_no_stage_needs_a_compiler(dockerfile):
    _, stages = dockerfile
    runs = " ".join(args for instruction, args in stages[0].instructions if instruction == "RUN")
    assert "--only-binary=:all:" in runs
    assert not BUILD_TOOLS.search(runs.replace("--only-binary=:all:", ""))


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build_context():
    patterns = dockerignore_patterns(DOCKERIGNORE.read_text())
    for path in (
        ".git/HEAD",
        ".venv/bin/python",
        "var/users.db",
        ".env",
        ".pytest_cache/v/cache",
        ".ruff_cache/x",
        "services/users/__pycache__/app.cpython-311.pyc",
        "tests/compose/test_dockerfile.py",
        "tienda.egg-info/PKG-INFO",
    ):
        assert dockerignored(path, patterns), f"{path} would be sent to the Docker daemon"


def test_every_file_the_dockerfile_copies_from_the_context_gets_through_dockerignore(dockerfile):
    patterns = dockerignore_patterns(DOCKERIGNORE.read_text())
    _, stages = dockerfile
    for stage in stages:
        for instruction, args in stage.instructions:
            if instruction not in ("COPY", "ADD") or args.startswith("--from="):
                continue
            parts = [p for p in args.split() if not p.startswith("--")]
            for source in parts[:-1]:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not dockerignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
                if (ROOT / source).is_dir():
                    kept = [
                        p
                        for p in (ROOT / source).rglob("*.py")
                        if not dockerignored(str(p.relative_to(ROOT)), patterns)
                    ]
                    assert kept, f"COPY {source}: every Python file is excluded"


def test_dockerignore_matching_follows_dockers_rules():
    # The matcher the two tests above rely on: parents, ** and ! re-includes.
    assert dockerignored("var/log/x.log", ["var"])
    assert dockerignored("a/b/__pycache__/m.pyc", ["**/__pycache__"])
    assert not dockerignored("docs/keep.md", ["docs", "!docs/keep.md"])
    assert not dockerignored("services/app.py", ["var", "**/*.pyc"])
