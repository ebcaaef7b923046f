from pathlib import Path

from bench.report import write_section

DOCUMENT = """# Benchmarks

## Telemetry overhead

Old overhead figures.

### Results

| variant | req/s |
|---|---:|
| bare | 1 |

## Memory

Old memory table.

## Memory growth: the integrity audit's full reads

Written by hand.
"""


def test_a_benchmark_replaces_its_own_section_and_keeps_the_others(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    report.write_text(DOCUMENT)

    write_section("## Telemetry overhead\n\nNew overhead figures.\n\n### Results\n\n| bare | 2 |\n", report)

    text = report.read_text()
    assert "Old overhead figures" not in text and "| bare | 1 |" not in text
    assert "New overhead figures.\n\n### Results\n\n| bare | 2 |\n\n## Memory\n\nOld memory table." in text
    assert text.endswith("## Memory growth: the integrity audit's full reads\n\nWritten by hand.\n")


def test_a_section_ends_at_the_next_section_so_hand_written_ones_after_it_survive(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    report.write_text(DOCUMENT)

    write_section("## Memory\n\nNew memory table.\n", report)

    assert report.read_text() == DOCUMENT.replace("Old memory table.", "New memory table.")


def test_a_section_not_yet_in_the_file_is_appended(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    report.write_text(DOCUMENT)

    write_section("## Orders through the gateway\n\n| service | CPU ms per order |\n", report)

    assert report.read_text() == DOCUMENT + "\n## Orders through the gateway\n\n| service | CPU ms per order |\n"


def test_the_first_section_written_creates_the_file_under_its_title(tmp_path: Path) -> None:
    report = tmp_path / "docs" / "benchmarks.md"

    write_section("## Memory\n\nA table.\n", report)

    assert report.read_text() == "# Benchmarks\n\n## Memory\n\nA table.\n"
