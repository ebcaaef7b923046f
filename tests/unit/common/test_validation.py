"""The services' one JSON decoder (services.common.validation.loads_strict): standard JSON and nothing else."""

import pytest

from services.common.validation import loads_strict


@pytest.mark.parametrize("text", ["NaN", "-Infinity", '{"a": Infinity}', "", "[" * 5000, "{'a': 1}", b"\xff"])
def test_strict_json_refuses_what_is_not_standard_json(text):
    with pytest.raises(ValueError):
        loads_strict(text)


def test_strict_json_reads_standard_json_from_bytes():
    assert loads_strict('{"é": [1.5, true, null]}'.encode()) == {"é": [1.5, True, None]}
