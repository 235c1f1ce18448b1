"""benchmarks/style_ablation.py keeps its rows in a JSON file two processes share: a bad one is refused in one line."""

from __future__ import annotations

import json

import pytest

from benchmarks.style_ablation import MAX_ROWS_BYTES, read_rows


def test_rows_read_back_and_a_missing_file_is_a_fresh_start(tmp_path):
    path = tmp_path / "rows.json"
    assert read_rows(path, {"start": {}}) == {"start": {}}
    path.write_text(json.dumps({"none": {"pen": 38}}))
    assert read_rows(path, {}) == {"none": {"pen": 38}}


@pytest.mark.parametrize("content, words", [
    ("[1, 2", "not JSON"),
    ("[1, 2]", "is not the rows"),
    ('{"none": 3}', "is not the rows"),
    ("\xff\xfe", "not JSON"),
    (" " * (MAX_ROWS_BYTES + 1), "limit"),
])
def test_a_file_that_is_not_its_rows_stops_the_benchmark_naming_the_file(tmp_path, content, words):
    path = tmp_path / "rows.json"
    path.write_bytes(content.encode("latin-1"))
    with pytest.raises(SystemExit) as stopped:
        read_rows(path, {})
    assert str(path) in str(stopped.value) and words in str(stopped.value)
