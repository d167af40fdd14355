"""Property and hostile-record tests for the logged-model and run-input files."""

from __future__ import annotations

import json
import logging
import math
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mltrail
from mltrail.errors import CorruptedRecord, InvalidParameterValue, ResourceNotFound
from mltrail.model_search import filter_models
from mltrail.store import FileStore
from mltrail.store import inputs as inputs_files
from mltrail.store import logged_models as files
from mltrail.store.formats import write_yaml

RUN = "0123456789abcdef0123456789abcdef"
keys = st.from_regex(r"[a-z][a-z0-9_./: -]{0,30}", fullmatch=True).filter(
    lambda k: all(p not in ("", ".", "..") for p in k.split("/")) and not k.endswith("/")
)
texts = st.none() | st.text(max_size=40)
values = st.floats(allow_nan=True, allow_infinity=True)
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)


def same_float(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return struct.pack(">d", a) == struct.pack(">d", b)


@given(key=keys, value=values, ts=ints, step=ints, name=texts, digest=texts)
def test_a_linked_point_reads_back_as_written(
    key: str, value: float, ts: int, step: int, name: str | None, digest: str | None
) -> None:
    point = files.LinkedPoint(key, value, ts, step, RUN, name, digest)
    (back,) = files.parse_links(RUN, files.format_link(point))
    assert (back.key, back.timestamp, back.step, back.run_id) == (key, ts, step, RUN)
    assert (back.dataset_name, back.dataset_digest) == (name, digest)
    assert same_float(back.value, value)


@given(data=st.binary(max_size=300))
def test_any_bytes_are_points_or_skipped_lines(data: bytes) -> None:
    for point in files.parse_links(RUN, data):
        assert isinstance(point.key, str) and point.key
        assert isinstance(point.timestamp, int)


def _record(**changes: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "model_id": "m-" + "a" * 32,
        "name": "model",
        "experiment_id": "0",
        "source_run_id": RUN,
        "artifact_path": "model",
        "status": "READY",
        "creation_timestamp": 1,
        "last_updated_timestamp": 2,
        "model_type": None,
        "step": 0,
        "params": {"a": "1"},
        "tags": {"t": "x"},
    }
    rec.update(changes)
    return rec


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=60)
@given(
    name=st.text(max_size=30),
    params=st.dictionaries(st.text(max_size=10), st.text(max_size=10), max_size=3),
    step=ints,
)
def test_a_model_record_reads_back_or_is_refused_at_write(
    tmp_path: Path, name: str, params: dict[str, str], step: int
) -> None:
    run_path = tmp_path / RUN
    rec = _record(name=name, params=params, step=step)
    try:
        path = files.write_record(run_path, rec)
    except CorruptedRecord:
        assert any(ord(c) < 32 or ord(c) == 127 or 0x80 <= ord(c) < 0xA0 for c in name)
        return
    assert files.read_record(path) == rec


@pytest.mark.parametrize(
    "damage",
    [
        {"model_id": "m-" + "b" * 32},  # not its folder's name
        {"source_run_id": "f" * 32},  # not its run
        {"artifact_path": "../../../etc"},
        {"artifact_path": "/abs"},
        {"status": "DONE"},
        {"step": "0"},
        {"params": {"a": 1}},
        {"tags": ["x"]},
        {"name": "a\x00b"},
    ],
)
def test_a_damaged_model_record_is_refused_naming_its_file(tmp_path: Path, damage: dict) -> None:
    run_path = tmp_path / RUN
    path = files.model_dir(run_path, "m-" + "a" * 32) / files.RECORD
    path.parent.mkdir(parents=True)
    write_yaml(path, _record(**damage))
    with pytest.raises(CorruptedRecord, match=str(path)):
        files.read_record(path)
    assert files.list_records(run_path)[0] == []


@settings(max_examples=80)
@given(
    data=st.recursive(
        st.none() | st.text(max_size=5) | st.integers(),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=12,
    )
)
def test_any_inputs_record_is_read_or_refused(tmp_path_factory: Any, data: Any) -> None:
    run_path = tmp_path_factory.mktemp("run")
    write_yaml(run_path / inputs_files.INPUTS_FILE, data)
    try:
        found = inputs_files.read_inputs(run_path)
    except CorruptedRecord as e:
        assert str(run_path) in str(e)
        return
    assert isinstance(found["datasets"], list) and isinstance(found["models"], list)


@given(text=st.text(max_size=60))
def test_any_logged_model_filter_parses_or_raises_one_clear_error(text: str) -> None:
    try:
        filter_models([], text)
    except InvalidParameterValue as e:
        assert str(e)


def test_the_filter_refuses_run_attributes_and_names_the_valid_ones() -> None:
    with pytest.raises(InvalidParameterValue, match="source_run_id"):
        filter_models([], "run_name = 'x'")


def test_a_bad_model_id_is_not_found_and_never_a_path(tracking: FileStore) -> None:
    for bad in ("../x", "m-../../etc", "m-" + "a" * 100, "runs:/x"):
        with pytest.raises(ResourceNotFound):
            mltrail.get_logged_model(bad)


def test_one_damaged_model_costs_only_itself(
    tracking: FileStore, caplog: pytest.LogCaptureFixture
) -> None:
    from sklearn.linear_model import LinearRegression

    est = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    with mltrail.start_run():
        good = mltrail.sklearn.log_model(est, name="good")
    with mltrail.start_run():
        bad = mltrail.sklearn.log_model(est, name="bad")
    run_path = files.find_model(tracking.root, bad.model_id)
    record = files.model_dir(run_path, bad.model_id) / files.RECORD
    record.write_text("model_id: [unclosed\n")
    with caplog.at_level(logging.WARNING):
        found = mltrail.search_logged_models(output_format="list")
    assert [m.model_id for m in found] == [good.model_id]
    assert str(record) in caplog.text
    with pytest.raises(CorruptedRecord, match=str(record)):
        mltrail.get_logged_model(bad.model_id)
    assert mltrail.get_logged_model(good.model_id).name == "good"


def test_a_stale_or_hostile_index_is_never_trusted(tracking: FileStore) -> None:
    from sklearn.linear_model import LinearRegression

    with mltrail.start_run() as run:
        info = mltrail.sklearn.log_model(LinearRegression().fit([[0.0]], [1.0]), name="m")
    index = tracking.root / ".cache" / files.INDEX_FILE
    index.write_text(json.dumps({"models": {info.model_id: "../../etc", "m-x": 5}}))
    assert mltrail.get_logged_model(info.model_id).source_run_id == run.info.run_id
    index.write_text("not json")
    assert mltrail.get_logged_model(info.model_id).source_run_id == run.info.run_id


def test_linking_from_another_run_writes_only_that_runs_file(tracking: FileStore) -> None:
    from sklearn.linear_model import LinearRegression

    with mltrail.start_run() as first:
        info = mltrail.sklearn.log_model(LinearRegression().fit([[0.0]], [1.0]), name="m")
    with mltrail.start_run() as second:
        mltrail.log_metric("eval_rmse", 0.1, model_id=info.model_id)
    folder = files.model_dir(files.find_model(tracking.root, info.model_id), info.model_id)
    assert sorted(p.name for p in (folder / "metrics").iterdir()) == [f"{second.info.run_id}.tsv"]
    metrics = mltrail.get_logged_model(info.model_id).metrics
    assert [(m.key, m.run_id) for m in metrics] == [("eval_rmse", second.info.run_id)]
    got = mltrail.get_run(second.info.run_id)
    assert [m.model_id for m in got.inputs.model_inputs] == [info.model_id]
    assert first.info.run_id != second.info.run_id


def test_a_model_another_process_logs_into_the_run_takes_this_processs_metrics(
    tracking: FileStore,
) -> None:
    """Distributed training: rank 1 logs the model at step 3, rank 0 logs metrics there
    afterwards; MLflow's rule links them, whichever process logged the model."""
    import subprocess
    import sys

    with mltrail.start_run() as run:
        mltrail.log_metric("loss", 0.5, step=1)  # this process has read the run's models
        script = (
            "import sys, mltrail\n"
            "from sklearn.linear_model import LinearRegression\n"
            "mltrail.set_tracking_uri(sys.argv[1])\n"
            "with mltrail.start_run(run_id=sys.argv[2]):\n"
            "    model = LinearRegression().fit([[0.0]], [1.0])\n"
            "    print(mltrail.sklearn.log_model(model, name='m', step=3).model_id)\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", script, str(tracking.root), run.info.run_id],
            capture_output=True, text=True, check=True,
            env={**os.environ, "MLTRAIL_AUTO_COMMIT": "0"},
        )  # fmt: skip
        model_id = done.stdout.strip().splitlines()[-1]
        mltrail.log_metric("loss", 0.25, step=3)
    linked = mltrail.get_logged_model(model_id).metrics
    assert [(m.key, m.value, m.step) for m in linked] == [("loss", 0.25, 3)]
