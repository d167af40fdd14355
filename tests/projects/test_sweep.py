"""Sweeps: grids and random points, run as children of one parent run, with a failing
child, several at once, and an interrupted sweep."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mltrail
from mltrail.projects import ProjectError, sweep
from mltrail.store import FileStore

MLPROJECT = """
entry_points:
  main:
    parameters:
      alpha: float
      l1: {type: float, default: 0}
    command: "python train.py {alpha} {l1}"
"""
TRAIN = """
import sys, time, mltrail
alpha, l1 = float(sys.argv[1]), float(sys.argv[2])
if alpha < 0:
    time.sleep(60)
with mltrail.start_run():
    mltrail.log_metric("score", alpha + l1)
sys.exit(1 if alpha == 0.5 else 0)
"""


def test_values_grid_and_escaped_commas() -> None:
    assert sweep.split_values(r"a,b\,c,d") == ["a", "b,c", "d"]
    assert sweep.grid({"alpha": "0.1,0.5,1.0", "l1": "0,0.5"}) == [
        {"alpha": a, "l1": b} for a in ("0.1", "0.5", "1.0") for b in ("0", "0.5")
    ]
    assert not sweep.is_sweep({"name": r"a\,b"}, None)
    assert sweep.is_sweep({"name": "a"}, 3)


def test_random_points_are_drawn_again_with_the_same_seed() -> None:
    spec = {"lr": "loguniform:1e-4:1e-1", "depth": "int:2:8", "opt": "choice:adam,sgd", "k": "3"}
    first = sweep.random_points(spec, 20, seed=7)
    assert first == sweep.random_points(spec, 20, seed=7)
    assert first != sweep.random_points(spec, 20, seed=8)
    for point in first:
        assert 1e-4 <= float(point["lr"]) <= 1e-1
        assert 2 <= int(point["depth"]) <= 8
        assert point["opt"] in ("adam", "sgd") and point["k"] == "3"


@pytest.mark.parametrize(
    ("spec", "says"),
    [("uniform:a:1", "must be numbers"), ("int:5:2", "low bound is above"),
     ("int:1.5:3", "whole numbers"), ("loguniform:0:1", "above 0")],
)  # fmt: skip
def test_bad_ranges_are_refused(spec: str, says: str) -> None:
    with pytest.raises(ProjectError, match=says):
        sweep.random_points({"x": spec}, 2, seed=0)


@given(st.integers(-50, 50), st.integers(0, 50), st.integers(0, 2**32))
def test_int_ranges_include_both_ends_and_nothing_else(low: int, width: int, seed: int) -> None:
    points = sweep.random_points({"d": f"int:{low}:{low + width}"}, 30, seed)
    assert all(low <= int(p["d"]) <= low + width for p in points)


@given(st.floats(1e-6, 1e3), st.floats(1, 1e3), st.integers(0, 2**32))
def test_loguniform_stays_in_its_bounds(low: float, factor: float, seed: int) -> None:
    high = low * factor
    for point in sweep.random_points({"lr": f"loguniform:{low}:{high}"}, 10, seed):
        value = float(point["lr"])
        assert low * (1 - 1e-9) <= value <= high * (1 + 1e-9) and math.isfinite(value)


def _project(tmp_path: Path) -> Path:
    folder = tmp_path / "sweep-project"
    folder.mkdir()
    (folder / "MLproject").write_text(MLPROJECT)
    (folder / "train.py").write_text(TRAIN)
    return folder


def _command(store: FileStore, project: Path, *args: str) -> list[str]:
    base = [sys.executable, "-m", "mltrail", "run", str(project), "--store", str(store.root)]
    return [*base, "--experiment-name", "sweep", *args]


def _runs() -> list[mltrail.entities.Run]:
    experiment = mltrail.get_experiment_by_name("sweep")
    return list(mltrail.MlflowClient().search_runs([experiment.experiment_id]))


def test_a_grid_runs_every_point_under_a_parent_and_reports_a_failure(
    tracking: FileStore, tmp_path: Path
) -> None:
    project = _project(tmp_path)
    command = _command(
        tracking, project, "-P", "alpha=0.1,0.5", "-P", "l1=0,1", "-j", "2", "--run-name", "grid"
    )
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # one child failed
    runs = _runs()
    (parent,) = [r for r in runs if "mltrail.sweep" in r.data.tags]
    children = [r for r in runs if r is not parent]
    assert parent.info.status == "FAILED" and parent.data.tags["mltrail.sweep"] == "4"
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parent.info.run_id}
    assert parent.info.run_name == "grid"  # and each child its own name after it
    assert sorted(r.info.run_name for r in children) == [f"grid-{n}" for n in (1, 2, 3, 4)]
    got = {(r.data.params["alpha"], r.data.params["l1"]): r.info.status for r in children}
    assert got == {("0.1", "0"): "FINISHED", ("0.1", "1"): "FINISHED",
                   ("0.5", "0"): "FAILED", ("0.5", "1"): "FAILED"}  # fmt: skip
    table = done.stdout.splitlines()
    assert table[0].split() == ["RUN", "ID", "alpha", "l1", "STATUS", "score"]
    assert len(table) == 5 and sum("FAILED" in line for line in table) == 2
    assert "2 finished, 2 not" in done.stderr


def test_a_bad_point_is_refused_before_any_run(tracking: FileStore, tmp_path: Path) -> None:
    project = _project(tmp_path)
    done = subprocess.run(_command(tracking, project, "-P", "alpha=0.1,fast"),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert (
        done.returncode == 2 and "alpha=fast" in done.stderr and "must be a number" in done.stderr
    )
    assert mltrail.get_experiment_by_name("sweep") is None or _runs() == []


def test_an_interrupted_sweep_kills_running_children_and_keeps_finished_ones(
    tracking: FileStore, tmp_path: Path
) -> None:
    project = _project(tmp_path)
    proc = subprocess.Popen(_command(tracking, project, "-P", "alpha=1,-1,2"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # the first child done and the slow one running with its params: a child's run is
        # made RUNNING a moment before its params are logged, and a signal in between
        # would leave it without them (CI once sent it there)
        children = (
            {
                r.data.params.get("alpha", "?"): r.info.status
                for r in _runs()
                if "mltrail.sweep" not in r.data.tags
            }
            if mltrail.get_experiment_by_name("sweep")
            else {}
        )
        if children == {"1": "FINISHED", "-1": "RUNNING"}:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    runs = _runs()
    (parent,) = [r for r in runs if "mltrail.sweep" in r.data.tags]
    children = {r.data.params["alpha"]: r.info.status for r in runs if r is not parent}
    assert parent.info.status == "KILLED"
    assert children == {"1": "FINISHED", "-1": "KILLED"}  # alpha=2 never started


def test_an_interrupt_just_as_a_child_starts_still_stops_it(
    tracking: FileStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signal can land after the child's command started but before ``submit``
    returned it to the sweep: the child is still stopped and ends KILLED."""
    started: list[sweep.SubmittedRun] = []

    def interrupted(*args: Any, **kwargs: Any) -> sweep.SubmittedRun:
        started.append(real_submit(*args, **kwargs))
        raise KeyboardInterrupt  # as if SIGTERM arrived on the way back

    real_submit = sweep.submit
    monkeypatch.setattr(sweep, "submit", interrupted)
    request = sweep.RunRequest(str(_project(tmp_path)), experiment_name="sweep",
                               env_manager="local")  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        sweep.run_sweep(request, [{"alpha": "-1"}, {"alpha": "1"}])
    (child,) = started
    assert child.get_status() == "KILLED"  # its sleeping command was stopped
    statuses = {r.data.params.get("alpha", "parent"): r.info.status for r in _runs()}
    assert statuses == {"parent": "KILLED", "-1": "KILLED"}
