"""Artifact stores on S3: logging, reading, models and serving against moto's S3 server."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import MltrailError, StoreError
from mltrail.store import FileStore
from tests.artifact_stores.conftest import SECRET, S3Server
from tests.conftest import run_git, set_store_config
from tests.serving.servers import REPO, ServeProcess, free_port, send

MB = 1024 * 1024


def _pointer(store: FileStore, run_id: str, rel: str) -> Path:
    return store.run_path(run_id) / "artifacts" / f"{rel}.mltrail-pointer"


def test_large_artifacts_go_to_the_bucket_and_small_ones_stay_in_git(
    tracking: FileStore, s3: S3Server, bucket: str, s3_store: Callable[..., str], tmp_path: Path
) -> None:
    s3_store(large_artifact_threshold=1000)
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(5000))
    with mltrail.start_run() as run:
        mltrail.log_artifact(str(big), "model")
        mltrail.log_text("small", "notes.txt")
    rid = run.info.run_id
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    assert s3.objects(bucket) == {f"team/sha256/{digest[:2]}/{digest}": big.read_bytes()}
    assert (tracking.run_path(rid) / "artifacts" / "notes.txt").read_text() == "small"
    assert not (tracking.run_path(rid) / "artifacts" / "model" / "weights.bin").exists()
    assert digest in _pointer(tracking, rid, "model/weights.bin").read_text()
    listed = {i.path: i.file_size for i in mltrail.MlflowClient().list_artifacts(rid, "model")}
    assert listed == {"model/weights.bin": 5000}
    out = mltrail.MlflowClient().download_artifacts(rid, "", str(tmp_path / "dl"))
    assert (Path(out) / "model" / "weights.bin").read_bytes() == big.read_bytes()


def test_artifact_store_files_all_sends_every_file(
    tracking: FileStore, s3: S3Server, bucket: str, s3_store: Callable[..., str], tmp_path: Path
) -> None:
    s3_store(artifact_store_files="all")
    folder = tmp_path / "plots"
    folder.mkdir()
    for i in range(5):  # log_artifacts uploads them in parallel
        (folder / f"p{i}.txt").write_text(f"plot {i}")
    with mltrail.start_run() as run:
        mltrail.log_artifacts(str(folder), "plots")
    assert len(s3.objects(bucket)) == 5
    arts = tracking.run_path(run.info.run_id) / "artifacts" / "plots"
    assert sorted(p.name for p in arts.iterdir()) == [f"p{i}.txt.mltrail-pointer" for i in range(5)]


def test_a_missing_bucket_fails_the_call_in_one_line_and_writes_no_pointer(
    tracking: FileStore, s3: S3Server, tmp_path: Path
) -> None:
    set_store_config(tracking, artifact_store="s3://no-such-bucket/x", artifact_store_files="all")
    data = tmp_path / "a.bin"
    data.write_bytes(b"payload")
    with mltrail.start_run() as run, pytest.raises(StoreError) as err:
        mltrail.log_artifact(str(data))
    message = str(err.value)
    assert "\n" not in message and "s3://no-such-bucket/x/sha256/" in message
    assert "not logged" in message and SECRET not in message
    assert not any((tracking.run_path(run.info.run_id) / "artifacts").rglob("*"))


def test_a_stopped_server_fails_the_upload_and_log_artifacts_writes_nothing(
    tracking: FileStore, s3: S3Server, bucket: str, s3_store: Callable[..., str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    s3_store(artifact_store_files="all")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nobody there
    folder = tmp_path / "f"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    (folder / "b.txt").write_text("b")
    with mltrail.start_run() as run, pytest.raises(StoreError, match="Could not upload") as err:
        mltrail.log_artifacts(str(folder))
    assert "\n" not in str(err.value)
    assert not any((tracking.run_path(run.info.run_id) / "artifacts").rglob("*"))


def test_listing_and_searching_runs_never_touch_the_remote_store(
    tracking: FileStore, s3: S3Server, bucket: str, s3_store: Callable[..., str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    s3_store(artifact_store_files="all")
    with mltrail.start_run() as run:
        mltrail.log_metric("auc", 0.9)
        mltrail.log_text("x" * 100, "dir/report.txt")
    mltrail.flush()
    s3.server.stop()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(var)
    script = f"""
import mltrail
mltrail.set_tracking_uri({str(tracking.root)!r})
found = mltrail.search_runs(filter_string="metrics.auc > 0.5", output_format="list")
listed = mltrail.MlflowClient().list_artifacts(found[0].info.run_id, "dir")
print(len(found), [(i.path, i.file_size) for i in listed])
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "1 [('dir/report.txt', 100)]"
    assert run.info.run_id


def test_an_experiments_artifact_location_sends_its_runs_blobs_there(
    tracking: FileStore, s3: S3Server, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLTRAIL_ARTIFACT_CACHE", str(tmp_path / "cache"))
    set_store_config(tracking, large_artifact_threshold=10)
    url = f"s3://{bucket}/exp"
    eid = mltrail.create_experiment("remote", artifact_location=url)
    assert mltrail.get_experiment(eid).artifact_location == url
    with mltrail.start_run(experiment_id=eid):
        mltrail.log_text("y" * 50, "big.txt")
    with mltrail.start_run(experiment_id="0"):
        mltrail.log_text("z" * 50, "big.txt")
    assert [k.split("/")[0] for k in s3.objects(bucket)] == ["exp"]
    assert any((tracking.root / ".artifacts").rglob("*"))  # the default store kept the other


def test_a_model_logged_registered_loaded_and_served_from_s3(
    tracking: FileStore, s3: S3Server, bucket: str, s3_store: Callable[..., str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LinearRegression

    caplog.set_level(logging.DEBUG)
    s3_store(artifact_store_files="all")
    model = LinearRegression().fit([[0.0], [1.0], [2.0]], [0.0, 2.0, 4.0])
    with mltrail.start_run():
        info = mltrail.sklearn.log_model(model, name="model")
    mltrail.register_model(info.model_uri, "doubler")
    mltrail.flush()
    assert any(k.startswith("team/sha256/") for k in s3.objects(bucket))

    monkeypatch.setenv("MLTRAIL_ARTIFACT_CACHE", str(tmp_path / "fresh-cache"))  # empty
    script = f"""
import mltrail
mltrail.set_tracking_uri({str(tracking.root)!r})
model = mltrail.pyfunc.load_model("models:/doubler/1")
print(model.predict([[3.0]]).tolist())
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == pytest.approx([6.0])

    monkeypatch.setenv("MLTRAIL_ARTIFACT_CACHE", str(tmp_path / "serve-cache"))
    with ServeProcess("-m", "models:/doubler/1", "--store", str(tracking.root), cwd=REPO) as srv:
        srv.wait_ready(120)
        status, body, _ = send(srv.port, "POST", "/invocations", {"inputs": [[5.0]]})
        assert status == 200 and body["predictions"] == pytest.approx([10.0])
        logs = srv.output()
    assert SECRET not in logs + proc.stdout + proc.stderr + caplog.text
    _assert_secret_nowhere(tracking)


def _assert_secret_nowhere(store: FileStore) -> None:
    """The secret key is in no file of the store and no commit of its repository."""
    assert store.repo_root is not None
    for path in store.root.rglob("*"):
        if path.is_file() and ".cache" not in path.parts:
            assert SECRET.encode() not in path.read_bytes(), path
    history = run_git(store.repo_root, "log", "--all", "-p", "--format=%H %s %b")
    assert SECRET not in history and "test-key-id" not in history


def test_a_site_build_needs_neither_the_server_nor_credentials(
    tracking: FileStore, s3: S3Server, bucket: str, s3_store: Callable[..., str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from mltrail_generator import build_site

    url = s3_store(artifact_store_files="all")
    with mltrail.start_run() as run:
        mltrail.log_text("hello " * 10, "notes/hello.txt")
    mltrail.flush()
    s3.server.stop()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var)
    out = tmp_path / "site"
    build_site(tracking, out)
    page = (out / "runs" / run.info.run_id / "index.html").read_text()
    assert f"{url}/sha256/" in page and "60 B" in page
    assert not (out / "runs" / run.info.run_id / "artifacts" / "notes" / "hello.txt").exists()
    for path in out.rglob("*"):
        assert not path.is_file() or SECRET.encode() not in path.read_bytes()


def test_a_site_copies_remote_previews_under_the_budget_when_told(
    tracking: FileStore, s3: S3Server, bucket: str, s3_store: Callable[..., str], tmp_path: Path
) -> None:
    from mltrail_generator import build_site

    s3_store(artifact_store_files="all")
    with mltrail.start_run() as run:
        mltrail.log_text("small", "small.txt")
        mltrail.log_text("b" * 5000, "big.txt")
    mltrail.flush()
    (tracking.root / "mltrail.yaml").write_text("remote_artifacts: {copy: true, max_bytes: 1000}\n")
    out = tmp_path / "site"
    build_site(tracking, out)
    copies = out / "runs" / run.info.run_id / "artifacts"
    assert (copies / "small.txt").read_text() == "small"
    assert not (copies / "big.txt").exists()
    page = (out / "runs" / run.info.run_id / "index.html").read_text()
    assert "/sha256/" in page  # big.txt: its URL


def test_a_missing_backend_says_which_extra_to_install(tracking: FileStore, tmp_path: Path) -> None:
    try:
        import gcsfs  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("gcsfs is installed here")
    set_store_config(
        tracking, artifact_store="gs://team-bucket/mltrail", artifact_store_files="all"
    )
    with mltrail.start_run(), pytest.raises(MltrailError) as err:
        mltrail.log_text("x", "a.txt")
    assert "pip install 'mltrail[gcs]'" in str(err.value) and "\n" not in str(err.value)
