"""The store on disk: layout, artifacts, settings, the run index, and its git commits."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

import mltrail
from mltrail.errors import InvalidParameterValue, ResourceNotFound, StoreError
from mltrail.store import FileStore, find_store, index, init_store, is_store
from mltrail.store.layout import new_run_id

GitRunner = Callable[..., str]


def run_dir(store: FileStore, run_id: str) -> Path:
    return store.run_path(run_id)


def commit_messages(git: GitRunner, repo: Path) -> list[str]:
    return git(repo, "log", "--format=%B%x00").split("\0")[:-1]


def files_in_commit(git: GitRunner, repo: Path, rev: str = "HEAD") -> list[str]:
    out = git(repo, "show", "--name-only", "--format=", rev)
    return [line for line in out.splitlines() if line]


def age(path: Path, seconds: float = 100) -> None:
    """Make a folder and its files look ``seconds`` old (so the run index trusts them)."""
    then = time.time() - seconds
    for p in [path, *path.rglob("*")]:
        os.utime(p, (then, then))


# --- creating and finding a store ---------------------------------------------------------


def test_init_store_inside_a_repo_commits_only_its_files(repo: Path, git: GitRunner) -> None:
    store, created = init_store(repo / "runs")
    assert created and is_store(store.root)
    assert store.repo_root == repo
    assert not (repo / "runs" / ".git").exists()
    assert commit_messages(git, repo)[0].strip() == "Initialize mltrail store"
    files = files_in_commit(git, repo)
    assert files and all(f.startswith("runs/") for f in files)
    assert "runs/mltrail-store.yaml" in files
    default = store.experiments.get("0")
    assert (default.name, default.lifecycle_stage) == ("Default", "active")
    again, created_again = init_store(repo / "runs")
    assert not created_again and again.root == store.root


def test_init_store_outside_a_repo_runs_git_init(
    tmp_path: Path, clean_env: None, git: GitRunner
) -> None:
    store, created = init_store(tmp_path / "standalone")
    assert created and (tmp_path / "standalone" / ".git").is_dir()
    assert store.repo_root == store.root
    assert "Initialize mltrail store" in git(store.root, "log", "--format=%s")
    assert git(store.root, "status", "--porcelain") == ""


def test_find_store_walks_up_to_a_runs_folder(store: FileStore, repo: Path) -> None:
    deep = repo / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_store(deep) == store.root
    assert find_store(store.root / "experiments") == store.root
    assert find_store(repo.parent) is None


def test_store_ignores_its_cache_and_large_artifacts(store: FileStore) -> None:
    ignored = (store.root / ".gitignore").read_text().split()
    assert ".cache/" in ignored and ".artifacts/" in ignored


def test_opening_a_folder_that_is_not_a_store_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="mltrail init"):
        FileStore(tmp_path)


def test_bad_settings_are_reported_together_naming_the_file(
    store: FileStore, store_config: Callable[..., None]
) -> None:
    store_config(auto_commit="maybe", large_artifact_threshold=-5, colour="blue")
    with pytest.raises(StoreError) as info:
        FileStore(store.root)
    message = str(info.value)
    assert "mltrail-store.yaml" in message
    for key in ("auto_commit", "large_artifact_threshold", "colour"):
        assert key in message


def test_newer_format_version_asks_to_upgrade(
    store: FileStore, store_config: Callable[..., None]
) -> None:
    store_config(format_version=99)
    with pytest.raises(StoreError, match="upgrade mltrail"):
        FileStore(store.root)


# --- runs on disk ------------------------------------------------------------------------------


def test_run_ids_are_32_hex_digits_and_sort_by_creation_time() -> None:
    ids = [new_run_id(1_700_000_000_000 + i) for i in range(50)]
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert ids == sorted(ids)
    assert len({new_run_id(1) for _ in range(1000)}) == 1000


def test_run_folder_holds_plain_text_records(tracking: FileStore) -> None:
    with mltrail.start_run(run_name="plain") as run:
        mltrail.log_param("alpha", 0.5)
        mltrail.set_tag("team", "vision")
        mltrail.log_metric("loss", 0.25, step=3, timestamp=1_700_000_000_123)
    folder = run_dir(tracking, run.info.run_id)
    assert folder.parent.parent == tracking.root / "runs"
    record = yaml.safe_load((folder / "run.yaml").read_text())
    assert record["run_id"] == run.info.run_id and record["status"] == "FINISHED"
    assert record["run_name"] == "plain"
    assert yaml.safe_load((folder / "params.yaml").read_text()) == {"alpha": "0.5"}
    assert yaml.safe_load((folder / "tags.yaml").read_text()) == {"team": "vision"}
    assert (folder / "metrics" / "loss.tsv").read_text() == "1700000000123\t0.25\t3\n"
    summary = record["metrics"]["loss"]  # written into run.yaml when the run ends
    assert (summary["latest"], summary["step"], summary["count"]) == (0.25, 3, 1)


def test_metric_keys_with_slashes_become_folders(tracking: FileStore) -> None:
    with mltrail.start_run() as run:
        mltrail.log_metric("train/loss", 1.0)
        mltrail.log_metric("train", 2.0)
    folder = run_dir(tracking, run.info.run_id)
    assert (folder / "metrics" / "train" / "loss.tsv").is_file()
    assert mltrail.get_run(run.info.run_id).data.metrics == {"train/loss": 1.0, "train": 2.0}


def test_unknown_and_malformed_run_ids(store: FileStore) -> None:
    with pytest.raises(ResourceNotFound, match="0123abcd"):
        store.get_run("0123abcd" * 4)
    for bad in ("../../etc", "", "a/b", "x" * 100):
        with pytest.raises(InvalidParameterValue):
            store.get_run(bad)


def test_index_notices_changes_to_runs_it_has_cached(tracking: FileStore) -> None:
    with mltrail.start_run(run_name="cached") as run:
        mltrail.log_metric("m", 1.0)
    run_id = run.info.run_id
    age(run_dir(tracking, run_id))
    assert [r.info.run_name for r in mltrail.search_runs(output_format="list")] == ["cached"]
    assert (tracking.root / ".cache" / "runs-index.marshal").is_file()

    mltrail.MlflowClient().set_tag(run_id, "stage", "late")
    mltrail.MlflowClient().log_metric(run_id, "late_metric", 7.0)
    (found,) = mltrail.search_runs(output_format="list")
    assert found.data.tags["stage"] == "late"
    assert found.data.metrics["late_metric"] == 7.0


SEARCHES = [
    ("metrics.loss < 0.5 and params.opt = 'adam'", None),
    ("tags.team LIKE 'a%'", ["metrics.loss DESC"]),
    ("attributes.run_name != 'r3'", ["params.opt", "attributes.start_time"]),
    ("attributes.user_id = 'nobody'", None),
    (None, ["tags.team ASC", "metrics.loss"]),
]


def test_a_search_over_the_cached_columns_agrees_with_one_over_built_runs(
    tracking: FileStore,
) -> None:
    """Cached runs are filtered and sorted on the cache's columns, a run mixed in that
    cannot be cached (still running) from its files: the same answer as over every run."""
    from mltrail import search

    for i in range(8):
        with mltrail.start_run(run_name=f"r{i}"):
            mltrail.log_param("opt", ["adam", "sgd"][i % 2])
            if i % 3:
                mltrail.set_tag("team", ["alpha", "beta"][i % 2])
            mltrail.log_metric("loss", [0.1, 0.9, float("nan"), 0.4][i % 4])
    for folder in (tracking.root / "runs").glob("*/*"):
        age(folder)
    mltrail.search_runs(output_format="list")  # the cache is written
    live = mltrail.start_run(run_name="live")
    mltrail.log_param("opt", "adam")
    mltrail.log_metric("loss", 0.2)
    try:
        store = FileStore(tracking.root)
        for filter_string, order_by in SEARCHES:
            got = store.search_runs(None, filter_string, order_by=order_by)
            want = search.filter_and_sort(store.all_runs(), filter_string, order_by)
            assert [r.info.run_id for r in got] == [r.info.run_id for r in want], filter_string
            assert got == want
        assert live.info.run_id in {r.info.run_id for r in store.all_runs()}
    finally:
        mltrail.end_run()


@pytest.mark.parametrize("processes", [1, 3])
def test_index_notices_a_hand_edit_made_in_place(
    tracking: FileStore, monkeypatch: pytest.MonkeyPatch, processes: int
) -> None:
    """Records are plain files a person may edit (VS Code rewrites files in place); also
    when helper processes take the stats (a big store's scan)."""
    monkeypatch.setattr(index, "PARALLEL_FROM", 0)
    monkeypatch.setattr(index.recordstats, "processes", lambda: processes)
    with mltrail.start_run(run_name="before") as run:
        mltrail.log_param("lr", "0.1")
    folder = run_dir(tracking, run.info.run_id)
    age(folder)
    assert [r.info.run_name for r in mltrail.search_runs(output_format="list")] == ["before"]

    record_file = folder / "run.yaml"
    text = record_file.read_text().replace("run_name: before", "run_name: after")
    with open(record_file, "w") as f:  # same inode: the folder's mtime does not change
        f.write(text)
    assert mltrail.get_run(run.info.run_id).info.run_name == "after"
    names = [r.info.run_name for r in mltrail.search_runs(output_format="list")]
    assert names == ["after"], (
        "search_runs served the cached record of a run whose run.yaml was edited in place: "
        "the run index (mltrail/store/index.py) keys its cache on the run folder's mtime only"
    )
    params_file = folder / "params.yaml"
    text = params_file.read_text().replace("0.1", "0.2")
    with open(params_file, "w") as f:
        f.write(text)
    found = mltrail.search_runs(filter_string="params.lr = '0.2'", output_format="list")
    assert [r.info.run_id for r in found] == [run.info.run_id]
    # a new process's first scan: the cache file's size decides before it is read
    again = FileStore(tracking.root).search_runs(None, "params.lr = '0.2'")
    assert [r.info.run_name for r in again] == ["after"]


def test_changes_made_elsewhere_during_a_run_survive_its_end(tracking: FileStore) -> None:
    """`mltrail runs delete` from another terminal while training runs is not undone."""
    run = mltrail.start_run(run_name="live")
    deleted = subprocess.run(
        [sys.executable, "-m", "mltrail", "runs", "delete", run.info.run_id],
        cwd=tracking.root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert deleted.returncode == 0, deleted.stderr
    mltrail.log_metric("m", 1.0)
    mltrail.end_run()
    info = FileStore(tracking.root).get_run(run.info.run_id).info
    assert info.status == "FINISHED"
    assert info.lifecycle_stage == "deleted", (
        "ending the run rewrote run.yaml from a copy cached when it started "
        "(FileStore._live in mltrail/store/store.py), undoing the deletion"
    )


def test_deleting_the_cache_only_costs_time(tracking: FileStore) -> None:
    for i in range(3):
        with mltrail.start_run(run_name=f"r{i}"):
            mltrail.log_metric("m", i)
    for folder in (tracking.root / "runs").glob("*/*"):
        age(folder)
    first = {r.info.run_name for r in mltrail.search_runs(output_format="list")}
    (tracking.root / ".cache" / "runs-index.marshal").write_text("{not marshal")
    assert {r.info.run_name for r in mltrail.search_runs(output_format="list")} == first
    (tracking.root / ".cache" / "runs-index.marshal").unlink()
    assert {r.info.run_name for r in mltrail.search_runs(output_format="list")} == first


# --- artifacts ---------------------------------------------------------------------------------


@pytest.fixture
def small_threshold(store: FileStore, store_config: Callable[..., None]) -> int:
    store_config(large_artifact_threshold=1000)
    return 1000


def test_small_and_large_artifacts(
    tracking: FileStore, small_threshold: int, tmp_path: Path, git: GitRunner, repo: Path
) -> None:
    small = tmp_path / "notes.txt"
    small.write_text("short")
    large = tmp_path / "weights.bin"
    large_bytes = os.urandom(small_threshold + 1)
    large.write_bytes(large_bytes)
    with mltrail.start_run() as run:
        mltrail.log_artifact(small)
        mltrail.log_artifact(large, artifact_path="model")
    run_id = run.info.run_id
    artifacts = run_dir(tracking, run_id) / "artifacts"
    assert (artifacts / "notes.txt").read_text() == "short"
    assert not (artifacts / "model" / "weights.bin").exists()
    pointer = yaml.safe_load((artifacts / "model" / "weights.bin.mltrail-pointer").read_text())
    assert pointer["size"] == len(large_bytes)
    blob = tracking.root / ".artifacts" / "sha256" / pointer["sha256"][:2] / pointer["sha256"]
    assert blob.read_bytes() == large_bytes

    client = mltrail.MlflowClient()
    listed = {(f.path, f.is_dir, f.file_size) for f in client.list_artifacts(run_id)}
    assert listed == {("model", True, None), ("notes.txt", False, 5)}
    assert [(f.path, f.file_size) for f in client.list_artifacts(run_id, "model")] == [
        ("model/weights.bin", len(large_bytes))
    ]
    dst = tmp_path / "download"
    assert (
        Path(client.download_artifacts(run_id, "model/weights.bin", str(dst))).read_bytes()
        == large_bytes
    )
    assert Path(client.download_artifacts(run_id, "notes.txt", str(dst))).read_text() == "short"
    whole = Path(client.download_artifacts(run_id, "", str(tmp_path / "all")))
    assert (whole / "model" / "weights.bin").read_bytes() == large_bytes
    assert (whole / "notes.txt").read_text() == "short"

    mltrail.flush()
    committed = git(repo, "ls-tree", "-r", "--name-only", "HEAD").split()
    assert any(p.endswith("model/weights.bin.mltrail-pointer") for p in committed)
    assert not any(".artifacts/" in p for p in committed)


def test_same_large_content_is_stored_once(
    tracking: FileStore, small_threshold: int, tmp_path: Path
) -> None:
    data = b"x" * (small_threshold * 2)
    for name in ("a.bin", "b.bin"):
        (tmp_path / name).write_bytes(data)
    with mltrail.start_run():
        mltrail.log_artifact(tmp_path / "a.bin")
        mltrail.log_artifact(tmp_path / "b.bin")
    blobs = [p for p in (tracking.root / ".artifacts").rglob("*") if p.is_file()]
    assert len(blobs) == 1


def test_missing_large_blob_is_a_clear_error(
    tracking: FileStore, small_threshold: int, tmp_path: Path
) -> None:
    (tmp_path / "big.bin").write_bytes(b"y" * 5000)
    with mltrail.start_run() as run:
        mltrail.log_artifact(tmp_path / "big.bin")
    for blob in (tracking.root / ".artifacts").rglob("*"):
        if blob.is_file():
            blob.unlink()
    with pytest.raises(ResourceNotFound, match="artifact_store"):
        mltrail.MlflowClient().download_artifacts(run.info.run_id, "big.bin", str(tmp_path / "d"))


@pytest.mark.parametrize(
    "artifact_path", ["../outside", "a/../../outside", "/etc", "C:/Windows", "a/..\\..\\b"]
)
def test_artifact_paths_that_leave_the_run_are_rejected(
    tracking: FileStore, tmp_path: Path, artifact_path: str
) -> None:
    (tmp_path / "f.txt").write_text("x")
    with mltrail.start_run() as run, pytest.raises(InvalidParameterValue):
        mltrail.log_artifact(tmp_path / "f.txt", artifact_path=artifact_path)
    client = mltrail.MlflowClient()
    with pytest.raises(InvalidParameterValue):
        client.log_text(run.info.run_id, "x", artifact_path + "/f.txt")
    with pytest.raises(InvalidParameterValue):
        client.download_artifacts(run.info.run_id, artifact_path, str(tmp_path / "d"))
    assert not (tmp_path / "outside").exists()


def test_pointer_suffix_is_reserved(tracking: FileStore) -> None:
    with mltrail.start_run(), pytest.raises(InvalidParameterValue, match="reserved"):
        mltrail.log_text("x", "fake.mltrail-pointer")


# --- git ----------------------------------------------------------------------------------------


def test_ended_run_is_committed_with_name_id_and_status(
    tracking: FileStore, repo: Path, git: GitRunner
) -> None:
    with mltrail.start_run(run_name="commit-me") as run:
        mltrail.log_metric("loss", 0.1)
    assert mltrail.flush(timeout=30)
    message = commit_messages(git, repo)[0]
    assert "commit-me" in message and run.info.run_id in message
    assert "finished" in message.lower()
    files = files_in_commit(git, repo)
    assert files and all(f.startswith("runs/runs/") for f in files)
    assert any(f.endswith("/run.yaml") for f in files)
    assert git(repo, "status", "--porcelain", "--", "runs") == ""


def test_failed_run_commit_names_its_status(
    tracking: FileStore, repo: Path, git: GitRunner
) -> None:
    run = mltrail.start_run(run_name="boom")
    mltrail.end_run(status="FAILED")
    mltrail.flush()
    message = commit_messages(git, repo)[0]
    assert "failed" in message.lower() and run.info.run_id in message


def test_auto_commit_keeps_the_users_staged_changes_staged(
    tracking: FileStore, repo: Path, git: GitRunner
) -> None:
    (repo / "README.md").write_text("# project\n\nwork in progress\n")
    git(repo, "add", "README.md")
    (repo / "scratch.py").write_text("print('not staged')\n")
    before = git(repo, "rev-parse", "HEAD").strip()
    with mltrail.start_run():
        mltrail.log_param("p", 1)
    mltrail.flush()
    assert git(repo, "rev-parse", "HEAD").strip() != before
    assert git(repo, "diff", "--cached", "--name-only").split() == ["README.md"]
    assert git(repo, "show", "HEAD:README.md") == "# project\n"
    assert all(f.startswith("runs/") for f in files_in_commit(git, repo))
    assert "?? scratch.py" in git(repo, "status", "--porcelain")


def test_auto_commit_off_then_commit_pending(
    store: FileStore, repo: Path, git: GitRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    mltrail.set_tracking_uri(store.root)
    try:
        head = git(repo, "rev-parse", "HEAD")
        with mltrail.start_run(run_name="uncommitted") as run:
            mltrail.log_metric("m", 1.0)
        mltrail.create_experiment("quiet")
        mltrail.flush()
        assert git(repo, "rev-parse", "HEAD") == head
        assert git(repo, "status", "--porcelain", "--", "runs") != ""
        sha = FileStore(store.root).commit_pending()
        assert sha is not None and git(repo, "rev-parse", "HEAD").strip() == sha
        assert git(repo, "status", "--porcelain", "--", "runs") == ""
        tree = git(repo, "ls-tree", "-r", "--name-only", "HEAD")
        assert run.info.run_id in tree
        assert FileStore(store.root).commit_pending() is None
    finally:
        while mltrail.active_run():
            mltrail.end_run()
        mltrail.flush()
        from mltrail.tracking import context

        context.reset_tracking_uri()


def test_auto_commit_false_in_the_settings(
    store: FileStore, repo: Path, git: GitRunner, store_config: Callable[..., None]
) -> None:
    store_config(auto_commit=False)
    git(repo, "commit", "-q", "-am", "settings")
    head = git(repo, "rev-parse", "HEAD")
    client = mltrail.MlflowClient(str(store.root))
    run = client.create_run("0")
    client.set_terminated(run.info.run_id)
    mltrail.flush()
    assert git(repo, "rev-parse", "HEAD") == head


def test_experiment_changes_are_committed(tracking: FileStore, repo: Path, git: GitRunner) -> None:
    client = mltrail.MlflowClient()

    def committed_record() -> dict[str, str]:
        assert mltrail.flush(timeout=30)
        assert git(repo, "status", "--porcelain", "--", "runs") == ""
        return yaml.safe_load(git(repo, "show", f"HEAD:runs/experiments/{exp_id}/experiment.yaml"))

    exp_id = client.create_experiment("first-name")
    assert committed_record()["name"] == "first-name"
    assert "Create experiment 'first-name'" in commit_messages(git, repo)[0]
    client.rename_experiment(exp_id, "second-name")
    assert committed_record()["name"] == "second-name"
    assert "Rename experiment 'second-name'" in commit_messages(git, repo)[0]
    client.delete_experiment(exp_id)
    assert committed_record()["lifecycle_stage"] == "deleted"
    assert "Delete experiment 'second-name'" in commit_messages(git, repo)[0]
    client.restore_experiment(exp_id)
    assert committed_record()["lifecycle_stage"] == "active"


def test_deleting_and_restoring_a_run_is_committed(
    tracking: FileStore, repo: Path, git: GitRunner
) -> None:
    with mltrail.start_run(run_name="doomed") as run:
        pass
    mltrail.flush()
    run_file = f"HEAD:runs/runs/{run.info.run_id[-2:]}/{run.info.run_id}/run.yaml"
    mltrail.delete_run(run.info.run_id)
    mltrail.flush()
    assert commit_messages(git, repo)[0].startswith("Delete run doomed")
    assert yaml.safe_load(git(repo, "show", run_file))["lifecycle_stage"] == "deleted"
    mltrail.MlflowClient().restore_run(run.info.run_id)
    mltrail.flush()
    assert commit_messages(git, repo)[0].startswith("Restore run doomed")
    assert yaml.safe_load(git(repo, "show", run_file))["lifecycle_stage"] == "active"


def test_gc_removes_deleted_runs_and_commits_it(
    tracking: FileStore, repo: Path, git: GitRunner
) -> None:
    with mltrail.start_run() as keep:
        pass
    with mltrail.start_run() as drop:
        pass
    mltrail.delete_run(drop.info.run_id)
    mltrail.flush()
    assert FileStore(tracking.root).gc(older_than_ms=86_400_000) == []
    assert FileStore(tracking.root).gc() == [drop.info.run_id]
    assert not run_dir(tracking, drop.info.run_id).exists()
    tree = git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    assert drop.info.run_id not in tree and keep.info.run_id in tree
    assert "Purge 1 deleted runs" in commit_messages(git, repo)[0]


def test_a_store_opened_by_a_relative_path_stays_put(
    store: FileStore, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative root is the folder it named when the store was opened: runs get file
    URIs, and a later change of directory does not move the store."""
    monkeypatch.chdir(repo)
    opened = FileStore(Path(store.root.name))
    record = {"run_name": "r", "status": "RUNNING", "start_time": 1, "end_time": None,
              "user": "u", "parent_run_id": None, "description": "", "source": {}}  # fmt: skip
    run = opened.create_run("0", record, {})
    assert run.info.artifact_uri.startswith(store.root.as_uri())
    monkeypatch.chdir(repo.parent)
    assert opened.get_run(run.info.run_id).info.run_id == run.info.run_id


def test_a_search_pauses_the_garbage_collector(tracking: FileStore) -> None:
    """A search makes objects for every run it finds and no garbage: a collection would
    only walk them (a full one cost a 100,000-run search 0.12 s). It runs again after."""
    client = mltrail.MlflowClient(str(tracking.root))
    for i in range(150):
        run = client.create_run("0", run_name=f"r{i}")
        client.log_param(run.info.run_id, "p", str(i))
        client.set_terminated(run.info.run_id)
    collections: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    # which generation the first collection after the pause takes depends on the counters
    # earlier work left; a full collection now zeroes them, so only the search is counted
    gc.collect()
    gc.callbacks.append(count)
    try:
        found = client.search_runs(["0"], "params.p != 'none'")
    finally:
        gc.callbacks.remove(count)
    assert len(found) == 150 and found[0].inputs is not None
    # at most the one collection that runs as the collector is switched back on
    assert len(collections) <= 1 and gc.isenabled()
