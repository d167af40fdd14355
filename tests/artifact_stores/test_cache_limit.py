"""The local cache of fetched remote blobs stays under its size limit, least recently used first."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import MltrailError
from mltrail.store import FileStore, blobcache
from tests.artifact_stores.conftest import S3Server

KB = 1024


def _blob(cache: Path, name: str, size: int, age: float) -> Path:
    path = cache / "sha256" / name[:2] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x" * size)
    when = time.time() - age
    os.utime(path, (when, when))
    return path


def test_prune_removes_the_least_recently_used_blobs_down_below_the_limit(tmp_path: Path) -> None:
    old = _blob(tmp_path, "aa" + "0" * 62, 40 * KB, age=3 * 3600)
    older = _blob(tmp_path, "bb" + "0" * 62, 40 * KB, age=5 * 3600)
    recent = _blob(tmp_path, "cc" + "0" * 62, 40 * KB, age=3600)
    assert blobcache.prune(tmp_path, 100 * KB) == 40 * KB
    assert not older.exists() and old.exists() and recent.exists()
    assert blobcache.prune(tmp_path, 100 * KB) == 0  # under the limit now
    assert blobcache.prune(tmp_path, None) == 0  # no limit: nothing goes


def test_prune_keeps_blobs_used_in_the_last_minutes_and_downloads_in_progress(
    tmp_path: Path,
) -> None:
    just_used = _blob(tmp_path, "aa" + "1" * 62, 50 * KB, age=60)
    partial = tmp_path / "sha256" / "aa" / ".mltrail-0123.tmp"
    partial.write_bytes(b"y" * 50 * KB)
    assert blobcache.prune(tmp_path, 1) == 0
    assert just_used.exists() and partial.exists()


@pytest.mark.parametrize("value", ["ten gigabytes", "-1", "1.5e9"])
def test_a_bad_limit_in_the_environment_is_one_clear_error(
    value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(blobcache.ENV_MAX_BYTES, value)
    with pytest.raises(MltrailError, match=f"{blobcache.ENV_MAX_BYTES}=.*whole number"):
        blobcache.max_bytes()


def test_limit_defaults_and_zero_means_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(blobcache.ENV_MAX_BYTES, raising=False)
    assert blobcache.max_bytes() == blobcache.DEFAULT_MAX_BYTES
    monkeypatch.setenv(blobcache.ENV_MAX_BYTES, "0")
    assert blobcache.max_bytes() is None


def test_reading_remote_artifacts_keeps_the_cache_under_its_limit(
    tracking: FileStore,
    s3: S3Server,
    s3_store: Callable[..., str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s3_store(large_artifact_threshold=0)
    monkeypatch.setenv(blobcache.ENV_MAX_BYTES, str(250 * KB))
    monkeypatch.setattr(blobcache, "GRACE_SECONDS", 0.0)
    client = mltrail.MlflowClient()
    runs = []
    for i in range(4):
        src = tmp_path / f"w{i}.bin"
        src.write_bytes(os.urandom(100 * KB))
        with mltrail.start_run() as run:
            mltrail.log_artifact(str(src))
        runs.append((run.info.run_id, src))
    cache = tmp_path / "cache"
    for i, (rid, src) in enumerate(runs):
        out = client.download_artifacts(rid, src.name, str(tmp_path / f"dl{i}"))
        assert Path(out).read_bytes() == src.read_bytes()
        held = sum(p.stat().st_size for p in cache.rglob("*") if p.is_file())
        assert held <= 250 * KB
    # What was pruned is fetched again, whole and checked, when it is read next.
    first_rid, first_src = runs[0]
    again = client.download_artifacts(first_rid, first_src.name, str(tmp_path / "again"))
    assert Path(again).read_bytes() == first_src.read_bytes()
