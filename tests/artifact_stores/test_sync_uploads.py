"""`mltrail sync` pushes no pointer that other machines cannot read: a blob logged while
the store kept its artifacts in a local folder is uploaded to the bucket the store moved
to, before the push; a blob that is nowhere stops the sync before anything is pushed."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mltrail.store import FileStore
from mltrail.store.blobs import blob_name
from mltrail.tracking import context
from mltrail.tracking.client import MlflowClient
from tests.artifact_stores.conftest import S3Server
from tests.conftest import run_git, set_store_config
from tests.store.test_sync import clone, head, make_hub


def sync(repo: Path) -> subprocess.CompletedProcess[str]:
    """``mltrail sync`` in a new process, as a user runs it after changing the store's
    settings (this process keeps the settings it read)."""
    return subprocess.run(
        [sys.executable, "-m", "mltrail", "sync", "--store", str(repo / "runs")],
        capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip


def _log_blob_then_move_to(bucket: str, repo: Path, data: bytes, tmp_path: Path) -> str:
    """A run of ``repo``'s store with one large artifact in the local blob folder; then the
    store's artifact store becomes the bucket (committed). The run's id."""
    store = repo / "runs"
    set_store_config(FileStore(store), large_artifact_threshold=100)
    big = tmp_path / "weights.bin"
    big.write_bytes(data)
    client = MlflowClient(str(store))
    run_id = client.create_run("0").info.run_id
    client.log_artifact(run_id, str(big))
    client.set_terminated(run_id)
    client._store.flush()
    context.close_all()
    set_store_config(FileStore(store), artifact_store=f"s3://{bucket}/team")
    run_git(repo, "commit", "-qam", "Keep the artifacts in the team's bucket")
    return run_id


def test_sync_uploads_what_only_this_machine_has(
    s3: S3Server, bucket: str, tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = make_hub(tmp_path)
    a = clone(hub, tmp_path / "a")
    data = os.urandom(5000)
    run_id = _log_blob_then_move_to(bucket, a, data, tmp_path)
    result = sync(a)
    assert result.returncode == 0, result.stderr
    digest = hashlib.sha256(data).hexdigest()
    assert s3.objects(bucket)[f"team/{blob_name(digest)}"] == data
    # Another machine, with nothing but the clone and the bucket, reads it.
    b = clone(hub, tmp_path / "b")
    monkeypatch.setenv("MLTRAIL_ARTIFACT_CACHE", str(tmp_path / "cache-b"))
    got = MlflowClient(str(b / "runs")).download_artifacts(run_id, "weights.bin", str(tmp_path))
    assert Path(got).read_bytes() == data
    # A second sync finds the blob there and uploads nothing.
    assert sync(a).returncode == 0


def test_sync_pushes_nothing_when_a_blob_is_nowhere(
    s3: S3Server, bucket: str, tmp_path: Path, clean_env: None
) -> None:
    hub = make_hub(tmp_path)
    a = clone(hub, tmp_path / "a")
    _log_blob_then_move_to(bucket, a, os.urandom(5000), tmp_path)
    for blob in (a / "runs" / ".artifacts").rglob("*"):
        if blob.is_file():
            blob.unlink()  # lost with a disk, say
    before = head(hub)
    result = sync(a)
    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]  # after the "Syncing ..." progress line
    assert error.startswith("Error: ") and error.endswith("nothing was pushed.")
    assert head(hub) == before
    assert s3.objects(bucket) == {}
