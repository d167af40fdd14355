"""Folder signatures shared with forked workers are the ones one process takes."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

import mltrail
from generator.gather import folders
from mltrail.store import FileStore


def test_forked_workers_sign_the_same_folders(
    tracking: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(5):
        with mltrail.start_run(run_name=f"r{n}"):
            mltrail.log_param("n", n)
            if n % 2:
                mltrail.log_input(mltrail.data.from_numpy(np.arange(3.0) + n, name=f"d{n}"))
    running = mltrail.start_run(run_name="live")
    rows = tracking.run_rows()
    ids = rows.values("attribute", "run_id")
    status = rows.values("attribute", "status")
    runs = [(ids(i), status(i) != "RUNNING") for i in range(len(rows))]
    where = tracking.run_folders()

    alone_inputs: set[str] = set()
    alone = tracking.run_signatures(runs, where, alone_inputs)
    monkeypatch.setattr(folders, "PARALLEL_FROM", 0)
    monkeypatch.setattr(folders, "_processes", lambda n: 3)
    shared_inputs: set[str] = set()
    shared = folders.run_signatures(tracking, runs, where, shared_inputs)

    assert list(shared.items()) == list(alone.items()) and len(shared) == 6
    assert shared_inputs == alone_inputs and len(alone_inputs) == 2
    assert running.info.run_id in shared


def test_a_failure_while_signing_leaves_no_worker_behind(
    tracking: FileStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller works on while forked workers sign; if it fails meanwhile, the pool
    is shut down and its workers reaped (a long-lived ``mltrail ui`` builds again)."""
    for n in range(3):
        with mltrail.start_run(run_name=f"r{n}"):
            mltrail.log_param("n", n)
    rows = tracking.run_rows()
    ids = rows.values("attribute", "run_id")
    runs = [(ids(i), True) for i in range(len(rows))]
    monkeypatch.setattr(folders, "_processes", lambda n: 2)
    with (
        pytest.raises(RuntimeError, match="meanwhile"),
        folders.signing(tracking, runs, tracking.run_folders()),
    ):
        assert multiprocessing.active_children()  # the workers are at it
        raise RuntimeError("failed meanwhile")
    assert not multiprocessing.active_children() and folders._forked is None
    with folders.signing(tracking, runs, tracking.run_folders()) as pending:
        signatures, _ = pending.result()
    assert list(signatures) == [run_id for run_id, _ in runs]
