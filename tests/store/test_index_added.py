"""Runs added since the run index's cache was written: kept beside it, not rewritten in."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mltrail
from mltrail.store import FileStore, index, indexfile, init_store
from mltrail.store.index import RunIndex
from tests.store.test_store import age


def _new_run(client: mltrail.MlflowClient, store: FileStore, name: str, value: int = 0) -> str:
    run = client.create_run("0", run_name=name)
    client.log_param(run.info.run_id, "p", str(value))
    client.log_metric(run.info.run_id, "m", float(value))
    client.set_terminated(run.info.run_id)
    age(store.run_path(run.info.run_id))
    return run.info.run_id


def _seen(idx: RunIndex) -> dict[str, tuple[Any, ...]]:
    """What a scan answers per run: name, params, latest metrics, and its folder."""
    rows, errors = idx.scan()
    assert not errors
    folders = rows.folders()
    name = rows.values("attribute", "run_name")
    param = rows.values("param", "p")
    found = {}
    for i, run in enumerate(rows.runs()):
        rid = run.info.run_id
        assert name(i) == run.info.run_name and param(i) == run.data.params.get("p")
        found[rid] = (run.info.run_name, run.data.params, run.data.metrics, folders[rid])
    return found


def _truth(root: Path) -> dict[str, tuple[Any, ...]]:
    """The same, read from the files with no cache at all."""
    return _seen(RunIndex(root, cache=False))


@pytest.fixture
def client(tracking: FileStore) -> mltrail.MlflowClient:
    return mltrail.MlflowClient(str(tracking.root))


def test_a_new_run_is_kept_beside_the_cache_which_stays_as_it_was(
    tracking: FileStore, client: mltrail.MlflowClient
) -> None:
    for i in range(3):
        _new_run(client, tracking, f"old{i}", i)
    idx = RunIndex(tracking.root)
    _seen(idx)  # writes the cache
    assert isinstance(idx.path, Path) and isinstance(idx.added_path, Path)
    before = idx.path.stat()
    assert not idx.added_path.exists()

    new = _new_run(client, tracking, "new", 7)
    assert _seen(RunIndex(tracking.root)) == _truth(tracking.root)
    after = idx.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert idx.added_path.is_file()
    fresh = RunIndex(tracking.root)
    assert fresh.scan()[0].run(3).info.run_id == new  # read from the added file, after the rest
    assert fresh.record_signature(new) is not None  # its stats, for folder signatures

    # the search API answers it too, and its filter sees the added run's values
    found = mltrail.search_runs(filter_string="params.p = '7'", output_format="list")
    assert [r.info.run_id for r in found] == [new]


def test_a_changed_cached_run_rewrites_the_cache_and_drops_the_added_file(
    tracking: FileStore, client: mltrail.MlflowClient
) -> None:
    first = _new_run(client, tracking, "first")
    idx = RunIndex(tracking.root)
    _seen(idx)
    _new_run(client, tracking, "second")
    _seen(RunIndex(tracking.root))
    assert isinstance(idx.added_path, Path) and idx.added_path.is_file()

    client.set_tag(first, "late", "yes")
    age(tracking.run_path(first))
    assert _seen(RunIndex(tracking.root)) == _truth(tracking.root)
    assert not idx.added_path.exists()
    assert len(RunIndex(tracking.root)._read().ids) == 2  # both in the cache now


def test_an_added_run_that_went_away_is_forgotten(
    tracking: FileStore, client: mltrail.MlflowClient
) -> None:
    _new_run(client, tracking, "kept")
    _seen(RunIndex(tracking.root))
    gone = _new_run(client, tracking, "gone")
    _seen(RunIndex(tracking.root))
    shutil.rmtree(tracking.run_path(gone))
    idx = RunIndex(tracking.root)
    assert gone not in _seen(idx)
    assert isinstance(idx.added_path, Path) and not idx.added_path.exists()


def test_past_max_added_the_cache_is_rewritten(
    tracking: FileStore, client: mltrail.MlflowClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index, "max_added", lambda cached: 2)
    _new_run(client, tracking, "base")
    idx = RunIndex(tracking.root)
    _seen(idx)
    for i in range(2):
        _new_run(client, tracking, f"added{i}")
        _seen(RunIndex(tracking.root))
    assert len(RunIndex(tracking.root)._read().ids) == 1
    _new_run(client, tracking, "one too many")
    assert _seen(RunIndex(tracking.root)) == _truth(tracking.root)
    assert len(RunIndex(tracking.root)._read().ids) == 4
    assert isinstance(idx.added_path, Path) and not idx.added_path.exists()


@pytest.mark.parametrize("damage", ["flip", "cut", "other key", "other cache"])
def test_an_added_file_that_is_not_ours_or_not_for_this_cache_is_not_used(
    tracking: FileStore, client: mltrail.MlflowClient, damage: str
) -> None:
    _new_run(client, tracking, "base", 1)
    idx = RunIndex(tracking.root)
    _seen(idx)
    _new_run(client, tracking, "added", 2)
    _seen(RunIndex(tracking.root))
    assert isinstance(idx.path, Path) and isinstance(idx.added_path, Path)
    good = idx.added_path.read_bytes()
    if damage == "flip":
        bad = bytearray(good)
        bad[-5] ^= 0xFF
        idx.added_path.write_bytes(bytes(bad))
    elif damage == "cut":
        idx.added_path.write_bytes(good[: len(good) // 2])
    elif damage == "other key":
        payload = good[len(indexfile.ADDED_MAGIC) + indexfile.DIGEST_SIZE :]
        idx.added_path.write_bytes(indexfile.ADDED_MAGIC + b"\0" * indexfile.DIGEST_SIZE + payload)
    else:  # an added file that extends an earlier cache file
        idx.path.unlink()
        _seen(RunIndex(tracking.root))  # a new cache of both runs...
        idx.added_path.write_bytes(good)  # ...and the old added file put back
        assert RunIndex(tracking.root)._read_added(RunIndex(tracking.root)._read()) == []
    assert _seen(RunIndex(tracking.root)) == _truth(tracking.root)


operations = st.lists(
    st.tuples(st.sampled_from(["add", "edit", "remove", "scan"]), st.integers(0, 50)),
    max_size=12,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations, st.integers(1, 3))
def test_every_scan_answers_what_the_files_say(ops: list[tuple[str, int]], limit: int) -> None:
    """Whatever runs are added, edited and removed between scans, with the added file
    holding at most ``limit`` runs, a scan through the cache equals a read of the files."""
    old_limit = index.max_added
    index.max_added = lambda cached: limit  # type: ignore[assignment]
    tmp = Path(tempfile.mkdtemp())
    try:
        os.environ["MLTRAIL_AUTO_COMMIT"] = "false"  # no background git work to clean up
        store, _ = init_store(tmp / "store")
        client = mltrail.MlflowClient(str(store.root))
        runs = [_new_run(client, store, "seed")]
        idx = RunIndex(store.root)  # one long-lived reader, like a server
        for n, (op, pick) in enumerate(ops):
            if op == "add":
                runs.append(_new_run(client, store, f"run{n}", pick))
            elif op == "edit" and runs:
                rid = runs[pick % len(runs)]
                client.log_param(rid, f"q{n}", str(pick))
                age(store.run_path(rid))
            elif op == "remove" and runs:
                shutil.rmtree(store.run_path(runs.pop(pick % len(runs))))
            truth = _truth(store.root)
            assert _seen(RunIndex(store.root)) == truth
            assert _seen(idx) == truth
    finally:
        os.environ.pop("MLTRAIL_AUTO_COMMIT", None)
        index.max_added = old_limit  # type: ignore[method-assign]
        shutil.rmtree(tmp)
