"""Property tests for the store's two file formats: metric histories and YAML records."""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mltrail.errors import CorruptedRecord, InvalidParameterValue
from mltrail.store import layout
from mltrail.store.formats import (
    format_point,
    parse_points,
    read_mapping,
    repair_tail,
    summarize,
    write_yaml,
)
from mltrail.validation import key_file_name, key_of_file_name, validate_key

timestamps = st.integers(min_value=0, max_value=2**63 - 1)
steps = st.integers(min_value=-(2**63), max_value=2**63 - 1)
values = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(
    [0.0, -0.0, math.inf, -math.inf, math.nan, 5e-324, 1.7976931348623157e308, -1e-300, 1e22]
)
points = st.tuples(timestamps, values, steps)


def same_float(a: float, b: float) -> bool:
    """Equal bit for bit (so -0.0 differs from 0.0); any NaN equals any NaN."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack(">d", a) == struct.pack(">d", b)


def assert_points(parsed: list, expected: list[tuple[int, float, int]]) -> None:
    assert len(parsed) == len(expected)
    for metric, (ts, value, step) in zip(parsed, expected, strict=True):
        assert (metric.timestamp, metric.step) == (ts, step)
        assert same_float(metric.value, value), (metric.value, value)


# --- metric histories ------------------------------------------------------------------


@given(st.lists(points, max_size=30))
@example([(0, -0.0, -1), (1, math.nan, 0), (2, math.inf, 2**62), (3, -math.inf, -(2**62))])
@example([(1_700_000_000_000, 5e-324, 0), (1, 1.7976931348623157e308, 1)])
def test_metric_lines_round_trip(pts: list[tuple[int, float, int]]) -> None:
    data = b"".join(format_point(*p) for p in pts)
    assert_points(list(parse_points("loss", data)), pts)
    assert all(m.key == "loss" for m in parse_points("loss", data))


@given(st.lists(points, min_size=1, max_size=10), st.data())
def test_truncated_last_line_is_skipped(
    pts: list[tuple[int, float, int]], data: st.DataObject
) -> None:
    """A crash mid-write leaves part of the last line: every earlier point still reads."""
    whole = b"".join(format_point(*p) for p in pts)
    last = format_point(*pts[-1])
    cut = data.draw(st.integers(min_value=1, max_value=len(last) - 1), label="bytes kept of last")
    truncated = whole[: len(whole) - len(last) + cut]
    assert_points(list(parse_points("m", truncated)), pts[:-1])


def test_damaged_line_in_the_middle_loses_only_that_point() -> None:
    data = format_point(1, 1.0, 0) + b"garbage\tline\n" + b"\xff\xfe\n" + format_point(2, 2.0, 1)
    assert [(m.timestamp, m.value, m.step) for m in parse_points("m", data)] == [
        (1, 1.0, 0),
        (2, 2.0, 1),
    ]


def test_empty_history_has_no_points() -> None:
    assert list(parse_points("m", b"")) == []
    assert list(parse_points("m", b"123\t1.0")) == []  # one line, never finished


@given(st.lists(points, max_size=10), st.binary(max_size=40).filter(lambda b: b"\n" not in b))
def test_repair_tail_cuts_a_partial_line_only(
    tmp_path_factory: pytest.TempPathFactory, pts: list[tuple[int, float, int]], tail: bytes
) -> None:
    path = tmp_path_factory.mktemp("hist") / "m.tsv"
    complete = b"".join(format_point(*p) for p in pts)
    path.write_bytes(complete + tail)
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        repair_tail(fd)
        os.write(fd, format_point(9, 9.5, 9))
    finally:
        os.close(fd)
    assert path.read_bytes() == complete + format_point(9, 9.5, 9)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_lines=st.integers(min_value=1, max_value=300))
def test_repair_tail_on_long_histories(tmp_path: Path, n_lines: int) -> None:
    """A history longer than the repair window keeps every complete line."""
    path = tmp_path / "long.tsv"
    complete = b"".join(format_point(1_700_000_000_000 + i, i / 7, i) for i in range(n_lines))
    path.write_bytes(complete + b"1700000000999\t0.12")
    fd = os.open(path, os.O_RDWR | os.O_APPEND)
    try:
        repair_tail(fd)
    finally:
        os.close(fd)
    assert path.read_bytes() == complete


def test_latest_value_is_highest_step_then_latest_timestamp() -> None:
    def columns(*points: tuple[float, int, int]) -> tuple[list[int], list[float], list[int]]:
        """(value, timestamp, step) points as the (times, values, steps) columns."""
        return [p[1] for p in points], [p[0] for p in points], [p[2] for p in points]

    summary = summarize(columns((1.0, 100, 5), (2.0, 200, 2), (3.0, 50, 5)))
    assert summary is not None
    assert (summary.latest, summary.step, summary.timestamp) == (1.0, 5, 100)
    assert (summary.min, summary.max, summary.count) == (1.0, 3.0, 3)
    with_nan = summarize(columns((math.nan, 1, 0), (4.0, 2, 0)))
    assert with_nan is not None and (with_nan.latest, with_nan.min, with_nan.max) == (4.0, 4.0, 4.0)
    only_nan = summarize(columns((math.nan, 1, 0)))
    assert only_nan is not None and math.isnan(only_nan.latest) and math.isnan(only_nan.max)
    assert summarize(([], [], [])) is None


# --- YAML records ------------------------------------------------------------------------

TRICKY_STRINGS = [
    "yes", "no", "on", "off", "true", "False", "null", "Null", "~", "", " ", "1e3", "1_000",
    "0x1F", "0o17", "012", "+1", "-.5", ".inf", "-.Inf", ".nan", "2026-01-01",
    "2026-01-01 10:00:00", "12:30", "1:20:30", "<<", "=", "- item", "? key", ": value", "a: b",
    "# comment", "'single'", '"double"', "trailing ", " leading", "tab\tinside", "line\nbreak",
    "crlf\r\n", "\x00nul", "\x07bell", "\x1b[31mred", "\x7f", "\x85nel", "\u2028", "\ufeffbom",
    "emoji 🚀", "日本語", "%percent", "@at", "`tick", "!tag", "&anchor", "*alias", "{a: 1}",
    "[1, 2]", "|", ">", "...", "---",
]  # fmt: skip

yaml_text = st.text() | st.sampled_from(TRICKY_STRINGS)


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record=st.dictionaries(yaml_text, yaml_text, max_size=8))
def test_yaml_text_records_round_trip(tmp_path: Path, record: dict[str, str]) -> None:
    path = tmp_path / "record.yaml"
    write_yaml(path, record)
    back = read_mapping(path)
    assert back == record
    assert all(type(k) is str and type(v) is str for k, v in back.items())


@pytest.mark.parametrize("text", TRICKY_STRINGS)
def test_yaml_keeps_tricky_strings_as_strings(tmp_path: Path, text: str) -> None:
    path = tmp_path / "tags.yaml"
    write_yaml(path, {text: text, "value": text})
    assert read_mapping(path) == {text: text, "value": text}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    record=st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats()
        | st.lists(st.integers(), max_size=3)
        | st.dictionaries(st.text(max_size=5), st.floats(allow_nan=False), max_size=3),
        max_size=8,
    )
)
def test_yaml_typed_records_round_trip(tmp_path: Path, record: dict[str, object]) -> None:
    """run.yaml/summary.yaml hold ints, floats (NaN, inf), None, bools and nested maps."""
    path = tmp_path / "run.yaml"
    write_yaml(path, record)
    back = read_mapping(path)
    assert set(back) == set(record)
    for key, value in record.items():
        if isinstance(value, float):
            assert isinstance(back[key], float) and same_float(back[key], value)
        else:
            assert back[key] == value and type(back[key]) is type(value)


def test_write_yaml_replaces_whole_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    write_yaml(path, {"a": "1", "b": "2"})
    write_yaml(path, {"a": "1"})
    assert read_mapping(path) == {"a": "1"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]


def test_read_mapping_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    assert read_mapping(missing) == {}
    with pytest.raises(FileNotFoundError):
        read_mapping(missing, missing_ok=False)
    for name, content in [
        ("bad.yaml", b"a: [1, 2\n"),
        ("list.yaml", b"- 1\n- 2\n"),
        ("binary.yaml", b"run_id: \xff\xfe\x00\x81\n"),
    ]:
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(CorruptedRecord, match=name):
            read_mapping(path)


#: Keys MLflow accepts: word characters of any script (letters, digits, marks), "_-. :/"
_KEY_CHARS = st.characters(categories=("L", "N", "Mn", "Pc"), exclude_characters="\x00") | (
    st.sampled_from("_-. :")
)
_SEGMENTS = st.text(_KEY_CHARS, min_size=1, max_size=12).filter(lambda s: s not in (".", ".."))


@given(st.lists(_SEGMENTS, min_size=1, max_size=4).map("/".join))
@settings(max_examples=300)
@example("val:acc")
@example("précision/损失")
@example("a.tsv")
def test_metric_file_names_hold_on_every_os_and_read_back(tmp_path_factory: Any, key: str) -> None:
    """A metric key's history file name has only portable characters (no ':' for
    Windows, only ASCII for macOS' normalization), reads back as the same key, and is
    the file the store writes and reads."""
    try:
        validate_key("metric", key)
    except InvalidParameterValue:
        return  # refused keys write nothing
    name = key_file_name(key)
    assert name.isascii() and ":" not in name and not any(c in name for c in '<>"\\|?*')
    assert key_of_file_name(name) == key
    run_path = tmp_path_factory.mktemp("run")
    path = layout.metric_path(run_path, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("1\t0.5\t0\n")
    assert [layout.metric_key_of(run_path, f) for f in layout.iter_metric_files(run_path)] == [key]
