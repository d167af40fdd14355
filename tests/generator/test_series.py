"""Downsampling keeps spikes, ends and non-finite points; the CSV keeps every point exactly."""

from __future__ import annotations

import csv
import io
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrail.entities import Metric
from mltrail_generator.gather.series import (
    MAX_POINTS,
    Series,
    downsample,
    encode_floats,
    encode_ints,
    series_to_csv,
)
from mltrail_generator.output.datafiles import share_axes
from mltrail_generator.output.jsdata import script_json

T0 = 1_700_000_000_000

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
any_float = st.floats(allow_nan=True, allow_infinity=True)
# Mostly finite, with the odd NaN or infinity: the shape of a real diverging history.
values_strategy = st.lists(
    st.one_of(finite, finite, finite, finite, any_float), min_size=0, max_size=2500
)


def positions(series: Series) -> list[int]:
    """Where each kept point was in the input (the tests use step = index)."""
    return list(series.step)


def same(a: float | None, b: float) -> bool:
    return (a is None and not math.isfinite(b)) or a == b


def run(values: list[float], max_points: int) -> Series:
    n = len(values)
    return downsample(list(range(n)), [T0 + 10 * i for i in range(n)], values, max_points)


@settings(max_examples=200, deadline=None)
@given(values_strategy, st.integers(min_value=8, max_value=300))
def test_downsampling_properties(values: list[float], max_points: int) -> None:
    s = run(values, max_points)
    n = len(values)
    kept = positions(s)
    assert s.count == n
    assert len(s.step) == len(s.time) == len(s.value) == len(kept)
    assert len(kept) <= min(n, max_points)
    assert s.downsampled == (len(kept) < n)
    if n <= max_points:
        assert kept == list(range(n)) and not s.downsampled
    if n:
        assert kept[0] == 0 and kept[-1] == n - 1
    assert kept == sorted(set(kept)), "order kept, no point twice"
    assert s.time == [T0 + 10 * i for i in kept]
    for j, i in enumerate(kept):
        assert same(s.value[j], values[i])
        if math.isfinite(values[i]):
            assert j not in s.nonfinite
        else:
            name = "NaN" if math.isnan(values[i]) else "Infinity" if values[i] > 0 else "-Infinity"
            assert s.nonfinite[j] == name
    ordered = [v for v in values if not math.isnan(v)]
    kept_ordered = [values[i] for i in kept if not math.isnan(values[i])]
    if ordered:
        assert min(kept_ordered) == min(ordered), "the lowest point survives"
        assert max(kept_ordered) == max(ordered), "the highest point survives"
    assert any(math.isnan(v) for v in values) == any(math.isnan(values[i]) for i in kept)


@settings(max_examples=50, deadline=None)
@given(st.lists(finite, min_size=1, max_size=3000), st.integers(0, 2999), st.booleans())
def test_a_single_spike_survives(values: list[float], where: int, up: bool) -> None:
    where %= len(values)
    spike = max(map(abs, values)) * 2 + 1
    values[where] = spike if up else -spike
    assert where in positions(run(values, 50))


def test_long_series_comes_down_to_max_points() -> None:
    values = [math.sin(i / 100) for i in range(100_000)]
    s = run(values, MAX_POINTS)
    assert len(s.value) == MAX_POINTS and s.downsampled and s.count == 100_000


def test_nan_costs_little_resolution() -> None:
    values = [float(i % 7) for i in range(10_000)]
    values[5_000] = math.nan
    s = run(values, MAX_POINTS)
    assert MAX_POINTS - 2 <= len(s.value) <= MAX_POINTS
    assert list(s.nonfinite.values()) == ["NaN"]


def test_to_json_is_what_data_js_holds() -> None:
    s = run([1.0, math.inf, 2.0, math.nan, -math.inf], 10)
    assert s.to_json() == {
        "step": [0, [1, 4]],
        "time": [T0, [10, 4]],
        "value": encode_floats([1.0, math.inf, 2.0, math.nan, -math.inf]),
    }  # count and downsampled only when points were dropped
    long = downsample(range(30), range(30), [float(i) for i in range(30)], max_points=8)
    assert long.to_json()["count"] == 30 and long.to_json()["downsampled"] is True
    script_json(s.to_json())  # writable as is: no NaN left


@pytest.mark.parametrize(
    ("numbers", "items"),
    [
        ([], []),
        ([5], [5]),
        ([0, 1, 2], [0, 1, 1]),
        ([0, 1, 2, 3], [0, [1, 3]]),
        ([-7, 3, 3, 3, 3, 0], [-7, 10, [0, 3], -3]),
        ([2**53, 1, 2], ["9007199254740992", "1", 1]),
        ([-(2**52), 2**52], [-(2**52), "4503599627370496"]),
    ],
)
def test_encode_ints(numbers: list[int], items: list[object]) -> None:
    assert encode_ints(numbers) == items


def test_empty_series() -> None:
    assert run([], 10) == Series(step=[], time=[], value=[], count=0, downsampled=False)


@pytest.mark.parametrize(
    ("steps", "times", "values", "max_points", "message"),
    [
        ([0, 1], [0], [1.0, 2.0], 10, "differ in length"),
        ([0], [0], [1.0], 7, "at least 8"),
    ],
)
def test_bad_arguments(
    steps: list[int], times: list[int], values: list[float], max_points: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        downsample(steps, times, values, max_points)


def test_100k_points_downsample_to_at_most_1000_with_the_spike_kept() -> None:
    """Speed lives in benchmarks/; here only what a long history must look like."""
    n = 100_000
    steps, times = list(range(n)), [T0 + i for i in range(n)]
    values = [math.sin(i / 1000) + (i % 13) * 1e-3 for i in range(n)]
    values[77_777] = math.nan
    values[12_345] = 50.0
    series = downsample(steps, times, values)
    assert series.count == n and series.downsampled and len(series.step) <= 1000
    assert 12_345 in series.step and series.step[-1] == n - 1
    assert "NaN" in series.nonfinite.values()


points_strategy = st.lists(
    st.builds(
        Metric,
        key=st.just("loss"),
        value=any_float,
        timestamp=st.integers(min_value=0, max_value=2**53),
        step=st.integers(min_value=-(2**63), max_value=2**63 - 1),
    ),
    max_size=50,
)


@given(points_strategy)
def test_csv_round_trips_every_point(points: list[Metric]) -> None:
    text = series_to_csv(points)
    assert series_to_csv(points) == text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["step", "timestamp", "value"]
    assert len(rows) == len(points) + 1
    for p, (step, ts, value) in zip(points, rows[1:], strict=True):
        assert (int(step), int(ts)) == (p.step, p.timestamp)
        back = float(value)
        assert (math.isnan(back) and math.isnan(p.value)) or back == p.value
        assert math.copysign(1, back) == math.copysign(1, p.value) or math.isnan(back)


def test_csv_reads_back_in_pandas() -> None:
    values = [0.1, math.nan, math.inf, -math.inf, 1e-300]
    points = [Metric("loss", v, T0 + i, i) for i, v in enumerate(values)]
    text = series_to_csv(points)
    assert text == (
        "step,timestamp,value\n"
        f"0,{T0},0.1\n1,{T0 + 1},nan\n2,{T0 + 2},inf\n3,{T0 + 3},-inf\n4,{T0 + 4},1e-300\n"
    )
    frame = pd.read_csv(io.StringIO(text))
    assert list(frame.columns) == ["step", "timestamp", "value"]
    assert frame["value"].iloc[0] == 0.1 and math.isnan(frame["value"].iloc[1])
    assert frame["value"].iloc[2] == math.inf and frame["value"].iloc[3] == -math.inf
    assert frame["value"].iloc[4] == 1e-300


_AXIS = st.lists(st.integers(0, 3), max_size=4).map(encode_ints)


@given(st.dictionaries(st.text(max_size=3), st.tuples(_AXIS, _AXIS), max_size=6))
def test_shared_axes_give_every_series_its_own_steps_and_times(
    axes: dict[str, tuple[list[object], list[object]]],
) -> None:
    series = {k: {"step": step, "time": time, "value": ""} for k, (step, time) in axes.items()}
    shared = share_axes(series)
    for key, (step, time) in axes.items():
        assert series[key].get("step", shared.get("step")) == step  # as MLTRAIL.runData reads it
        assert series[key].get("time", shared.get("time")) == time
    for axis, value in shared.items():  # only what two or more series have
        assert sum(value == v[0 if axis == "step" else 1] for v in axes.values()) >= 2
