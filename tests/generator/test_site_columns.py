"""The site's aggregates come from the run index's columns, not from built runs: they
must still say what the runs' files say, after hand edits too, and a rebuild after such
edits must be the full build."""

from __future__ import annotations

import logging
import math
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrail import MlflowClient
from mltrail.entities import LifecycleStage, Run, ViewType
from mltrail.store import FileStore, init_store
from mltrail.store.index import RunIndex, read_only_index_cache
from mltrail_generator import build_site
from mltrail_generator.config import load_config
from mltrail_generator.gather.site import SiteData, gather_site, user_tags
from tests.generator.conftest import files_of

PARENT = "mlflow.parentRunId"


def _runs_by_experiment(store: FileStore) -> dict[str, list[Run]]:
    """The reference: every run built from its files, newest first per experiment."""
    shown = {e.experiment_id for e in store.experiments.list(ViewType.ACTIVE_ONLY)}
    runs = sorted(
        (
            r
            for r in store.all_runs()
            if r.info.lifecycle_stage == LifecycleStage.ACTIVE and r.info.experiment_id in shown
        ),
        key=lambda r: (-r.info.start_time, r.info.run_id),
    )
    found: dict[str, list[Run]] = {e: [] for e in shown}
    for run in runs:
        found[run.info.experiment_id].append(run)
    return found


def _best(runs: list[Run], metric: str, lower: bool) -> tuple[str, float] | None:
    best: tuple[str, float] | None = None
    for run in reversed(runs):
        value = run.data.metrics.get(metric)
        if value is None or not math.isfinite(value):
            continue
        if best is None or (value < best[1] if lower else value > best[1]):
            best = (run.info.run_id, value)
    return best


def _check(site: SiteData, store: FileStore) -> None:
    expected = _runs_by_experiment(store)
    ids = {r.info.run_id for runs in expected.values() for r in runs}
    assert sorted(site.runs) == sorted(ids)
    for record in site.experiments:
        runs = expected[record.experiment.experiment_id]
        assert [r.info.run_id for r in record.runs] == [r.info.run_id for r in runs]
        assert list(record.runs) == runs
        cols = record.columns
        assert cols.params == tuple(sorted({k for r in runs for k in r.data.params}))
        assert cols.metrics == tuple(sorted({k for r in runs for k in r.data.metrics}))
        assert cols.tags == tuple(sorted({k for r in runs for k in user_tags(r)}))
        counts = Counter(k for r in runs for k in r.data.metrics)
        if counts:
            assert record.primary_metric == min(counts, key=lambda k: (-counts[k], k))
        times = [t for r in runs for t in (r.info.start_time, r.info.end_time) if t]
        assert record.last_activity == (max(times) if times else None)
        if record.primary_metric:
            best = _best(runs, record.primary_metric, record.lower_is_better)
            got = record.best and (record.best.run_id, record.best.value)
            assert got == best
    children: dict[str, list[Run]] = {}
    for run in (r for runs in expected.values() for r in runs):
        if run.data.tags.get(PARENT) in ids:
            children.setdefault(run.data.tags[PARENT], []).append(run)
    assert dict(site.children) == {
        parent: tuple(
            r.info.run_id
            for r in sorted(kids, key=lambda r: (-r.info.start_time, r.info.run_id))[::-1]
        )
        for parent, kids in children.items()
    }


def _hand_edit(store: Path) -> tuple[str, str, str]:
    """A param added, a run made a child of another and a run moved to another
    experiment, all by editing their files in place; the three run ids."""
    fs = FileStore(store)
    runs = sorted(fs.all_runs(), key=lambda r: r.info.run_id)
    experiments = sorted({r.info.experiment_id for r in runs})
    assert len(experiments) >= 2
    edited, child, moved = _three_runs(runs, experiments)
    with open(fs.run_path(edited.info.run_id) / "params.yaml", "a") as f:
        f.write('hand_made: "7"\n')
    with open(fs.run_path(child.info.run_id) / "tags.yaml", "a") as f:
        f.write(f'{PARENT}: "{edited.info.run_id}"\n')
    record = fs.run_path(moved.info.run_id) / "run.yaml"
    old = moved.info.experiment_id
    text = record.read_text()
    assert f'experiment_id: "{old}"' in text
    record.write_text(text.replace(f'experiment_id: "{old}"', f'experiment_id: "{experiments[0]}"'))
    time.sleep(0.2)  # past the index's racy window: the edited runs are cached again
    return edited.info.run_id, child.info.run_id, moved.info.run_id


def _three_runs(runs: list[Run], experiments: list[str]) -> tuple[Run, Run, Run]:
    plain = [r for r in runs if PARENT not in r.data.tags and "hand_made" not in r.data.params]
    first = [r for r in plain if r.info.experiment_id == experiments[0]]
    other = [r for r in plain if r.info.experiment_id == experiments[1]]
    return first[0], first[1], other[0]


def test_aggregates_from_columns_match_the_runs_after_hand_edits(store_copy: Path) -> None:
    config = load_config(None)
    store = FileStore.open_read_only(store_copy, keep_cache=True)
    _check(gather_site(store, config)[0], store)
    edited, child, moved = _hand_edit(store_copy)
    for _ in range(2):  # the edited runs read from their files, then from the cache
        store = FileStore.open_read_only(store_copy, keep_cache=True)
        site, _ = gather_site(store, config)
        _check(site, store)
    assert site.runs[edited].data.params["hand_made"] == "7"
    assert child in site.children[edited]
    first = site.experiment(site.runs[edited].info.experiment_id)
    assert moved in first.runs.ids
    assert "hand_made" in first.columns.params


def test_a_rebuild_after_hand_edits_is_the_full_build(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "site"
    build_site(store_copy, out)
    edited, child, moved = _hand_edit(store_copy)
    build_site(store_copy, out)
    fresh = tmp_path / "fresh"
    build_site(store_copy, fresh)
    assert files_of(out) == files_of(fresh)
    page = (out / "runs" / edited / "index.html").read_text()
    assert "hand_made" in page and f"runs/{child}/" in page
    joined = FileStore(store_copy).get_run(moved).info.experiment_id
    assert f"experiments/{joined}/" in (out / "runs" / moved / "index.html").read_text()
    assert moved in (out / "experiments" / joined / "runs.js").read_text()


def test_a_damaged_entry_of_the_run_index_is_read_from_its_files(
    store_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A byte flipped in one run's cached entry (a disk error) after the scan trusted the
    cache: the run is read from its files when its page is written, and the site is the
    same."""
    monkeypatch.chdir(tmp_path)
    first = tmp_path / "first"
    build_site(store_copy, first)
    index = RunIndex(store_copy, read_only_index_cache(store_copy))
    cache = index._read()
    entry = bytes(cache.entry(0))
    assert isinstance(index.path, Path)
    damaged = bytearray(index.path.read_bytes())
    damaged[bytes(cache.data).index(entry) + len(entry) // 2] ^= 0xFF
    index.path.write_bytes(bytes(damaged))
    again = tmp_path / "again"
    with caplog.at_level(logging.WARNING):
        build_site(store_copy, again)  # a new folder: every page written, every run built
    assert f"entry of run {cache.ids[0]} is damaged" in caplog.text
    assert files_of(again) == files_of(first)


def test_a_damaged_column_every_run_has_is_read_again_from_the_files(
    store_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The index's header says which columns every run has, so the build need not decode
    them to count a key's runs; a byte flipped in one (a disk error) is still found
    while the runs can be read again, and the site is the same."""
    monkeypatch.chdir(tmp_path)
    first = tmp_path / "first"
    build_site(store_copy, first)
    index = RunIndex(store_copy, read_only_index_cache(store_copy))
    cache = index._read()
    name = "column:tag\0mlflow.source.type"
    assert cache.every_run_has("tag", "mlflow.source.type")  # the header says so
    offset, size, _ = cache._parts[name]
    assert isinstance(index.path, Path)
    damaged = bytearray(index.path.read_bytes())
    damaged[cache._body + offset + size // 2] ^= 0xFF
    index.path.write_bytes(bytes(damaged))
    again = tmp_path / "again"
    with caplog.at_level(logging.WARNING):
        build_site(store_copy, again)
    assert f"part {name} does not match its digest" in caplog.text
    assert files_of(again) == files_of(first)


def test_an_inputs_record_copied_in_by_hand_shows_on_the_rebuilt_site(
    store_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which runs hold an inputs record is seen while their folders are listed for the
    signatures: a record added to an old run must still reach the dataset pages."""
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "site"
    build_site(store_copy, out)
    fs = FileStore(store_copy)
    with_inputs = sorted(store_copy.glob("runs/*/*/inputs.yaml"))
    source = with_inputs[0]
    target = next(
        r.info.run_id
        for r in sorted(fs.all_runs(), key=lambda r: r.info.run_id)
        if not (fs.run_path(r.info.run_id) / "inputs.yaml").exists()
    )
    (fs.run_path(target) / "inputs.yaml").write_bytes(source.read_bytes())
    build_site(store_copy, out)
    fresh = tmp_path / "fresh"
    build_site(store_copy, fresh)
    assert files_of(out) == files_of(fresh)
    pages = [p.read_text() for p in (out / "datasets").glob("d-*.html")]
    assert any(f"runs/{target}/" in page for page in pages)


_VALUES = st.sampled_from([0.0, -0.0, 1.0, -2.5, math.inf, -math.inf, math.nan, None])


@settings(max_examples=20)
@given(values=st.lists(_VALUES, min_size=1, max_size=6), metric=st.sampled_from(["loss", "acc"]))
def test_the_best_run_is_the_oldest_with_the_best_finite_value(
    tmp_path_factory: pytest.TempPathFactory, values: list[float | None], metric: str
) -> None:
    """Ties (equal values, 0.0 and -0.0) go to the older run; NaN, infinities and runs
    without the metric are never best; the last activity is the latest start or end."""
    store, _ = init_store(tmp_path_factory.mktemp("best") / "store")
    client = MlflowClient(str(store.root))
    for n, value in enumerate(values):  # the oldest first
        run = client.create_run("0", start_time=1_000 + n)
        if value is not None:
            client.log_metric(run.info.run_id, metric, value, timestamp=5_000)
        client.set_terminated(run.info.run_id, end_time=2_000 + n)
    # the only metric, so the primary one; a loss is better lower, an accuracy higher
    site, _ = gather_site(FileStore.open_read_only(store.root, keep_cache=True), load_config(None))
    _check(site, store)
    (record,) = site.experiments
    assert record.last_activity == 2_000 + len(values) - 1
