"""The hashed lock files (make lock): what the image, make install and CI install, read statically."""

from __future__ import annotations

import re
import tomllib

import pytest

from tests.support.compose import DOCKERFILE, ROOT, dockerfile_stages

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def read_lock(name: str) -> dict[str, tuple[str, set[str]]]:
    """package -> (version, hashes), from a pip-compile --generate-hashes file."""
    pins: dict[str, tuple[str, set[str]]] = {}
    current = None
    for line in (ROOT / name).read_text().splitlines():
        match = PIN.match(line)
        if match:
            current = canonical(match[1])
            pins[current] = (match[2], set())
        for digest in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            assert current is not None, f"{name}: a hash before any pin"
            pins[current][1].add(digest)
    return pins


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    return canonical(re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0])


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_every_pin_of_both_locks_carries_hashes():
    for name in ("requirements.lock", "requirements-test.lock"):
        pins = read_lock(name)
        assert pins, f"{name} pins nothing"
        unhashed = sorted(package for package, (_, hashes) in pins.items() if not hashes)
        assert not unhashed, f"{name}: pins without a hash: {unhashed}"
        text = (ROOT / name).read_text()
        assert "--index-url" not in text and "--find-links" not in text, f"{name} names a machine's index"


def test_the_runtime_lock_pins_every_dependency_and_the_test_lock_the_test_extra_too(project):
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    for requirement in project["dependencies"]:
        assert requirement_name(requirement) in runtime, f"{requirement} is not in requirements.lock"
    for requirement in project["optional-dependencies"]["test"]:
        assert requirement_name(requirement) in test, f"{requirement} is not in requirements-test.lock"
    assert "setuptools" in runtime, "the build backend is installed without isolation: it must be pinned"


def test_the_image_and_the_tests_install_the_same_versions_with_the_same_hashes():
    runtime, test = read_lock("requirements.lock"), read_lock("requirements-test.lock")
    for package, (version, hashes) in runtime.items():
        assert package in test, f"{package} is in the image but not in the tests' lock"
        assert test[package][0] == version, f"{package}: image {version}, tests {test[package][0]}"
        assert hashes <= test[package][1], f"{package}: hashes differ between the locks"


def test_the_image_installs_the_lock_with_hashes_before_it_copies_the_readme_or_the_source():
    _, stages = dockerfile_stages(DOCKERFILE.read_text())
    builder = stages[0].instructions
    copies = [(index, args) for index, (instruction, args) in enumerate(builder) if instruction == "COPY"]
    lock_copy = next(index for index, args in copies if args.split()[0] == "requirements.lock")
    install = next(
        index
        for index, (instruction, args) in enumerate(builder)
        if instruction == "RUN" and "requirements.lock" in args
    )
    assert "--require-hashes" in builder[install][1]
    for index, args in copies:
        if index == lock_copy:
            continue
        assert index > install, f"COPY {args} comes before the dependency layer: editing it reinstalls everything"


def test_make_install_installs_the_test_lock_with_hashes_and_the_project_without_its_dependencies():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := requirements-test\.lock$", makefile, re.M)
    assert "--require-hashes -r $(LOCK)" in makefile
    assert "--no-deps --no-build-isolation -e ." in makefile
