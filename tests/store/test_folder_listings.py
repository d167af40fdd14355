"""Run folders' listings kept between passes: a folder is listed again only when its own
(inode, mtime) changed, and a signature is always the one a fresh listing gives."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mltrail.store import indexfile, signatures
from mltrail.store.index import RunIndex


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then), follow_symlinks=False)


class _Records:
    """A run index that says it took the stats of every run's record files (``records``):
    the path a big store's runs take, where only the folder and its histories are stat-ed."""

    def __init__(self, index: RunIndex) -> None:
        self._index = index

    def record_signature(self, run_id: str) -> bytes:
        return indexfile.SIG.pack(*range(len(run_id), len(run_id) + 9))


def _pass(
    root: Path, folders: dict[str, str], listings: signatures.FolderListings, records: bool = False
) -> dict[str, str]:
    """One signing pass through the kept listings, as a build does; the listings saved."""
    runs = [(run_id, True) for run_id in folders]
    changes: dict[str, signatures.Listing | None] = {}
    index: Any = _Records(listings._index) if records else listings._index
    signed = signatures.run_signatures(folders, index, runs, None, listings.known, changes)
    listings.update(changes, list(folders))
    return signed


def _fresh(folders: dict[str, str], records: bool = False) -> dict[str, str]:
    stats = _Records(RunIndex(Path("."), cache=False)) if records else None
    return {
        run_id: signatures.folder_signature(
            f, True, stats.record_signature(run_id) if stats else None
        )
        for run_id, f in folders.items()
    }


names = st.sampled_from(
    ["run.yaml", "tags.yaml", "inputs.yaml", "notes.txt", "artifacts", "metrics", "x"]
)
operations = st.lists(
    st.tuples(
        st.sampled_from(["write", "append", "remove", "mkdir", "nested", "rename", "touch"]),
        names,
        st.integers(0, 2),
        st.booleans(),  # whether the run folder is then aged (a listing can be kept)
    ),
    min_size=1,
    max_size=15,
)


@settings(max_examples=80, deadline=None)
@given(operations, st.booleans(), st.booleans())
def test_kept_listings_always_sign_as_a_fresh_listing(
    ops: list[tuple[str, str, int, bool]], save_each: bool, records: bool
) -> None:
    """Whether each pass saves its changes or leaves them to be found again, and whether
    the record files' stats come from the run index (then folders holding only records and
    histories take a shorter path, which must sign the same)."""
    tmp = Path(tempfile.mkdtemp())
    before = signatures.max_added
    signatures.max_added = (lambda n: -1) if save_each else (lambda n: 10**9)  # type: ignore[assignment]
    try:
        index = RunIndex(tmp, cache=tmp / "cache" / "runs-index.marshal")
        folders = {f"run{i}": str(tmp / f"run{i}") for i in range(3)}
        for folder in folders.values():
            Path(folder, "metrics").mkdir(parents=True)
            if records:
                for name in indexfile.RECORD_FILES:
                    Path(folder, name).write_text(name)
            _age(Path(folder), 100)
        for op, name, which, aged in ops:
            folder = Path(folders[f"run{which}"])
            target = folder / name
            if op == "write" and not target.is_dir():
                target.write_text(name)
            elif op == "append" and target.is_file():
                with open(target, "a") as f:  # in place: the folder's mtime stays
                    f.write("more")
            elif op == "remove":
                shutil.rmtree(target) if target.is_dir() else target.unlink(missing_ok=True)
            elif op == "mkdir":
                target.mkdir(exist_ok=True) if not target.exists() else None
            elif op == "nested" and target.is_dir():
                (target / "deep.bin").write_bytes(os.urandom(4))
            elif op == "rename" and target.exists():
                target.rename(folder / f"{name}.moved")
            elif op == "touch" and target.exists():
                os.utime(target)
            if aged:
                _age(folder, 50 + len(ops))
            listings = signatures.FolderListings(index)  # read back, as the next build does
            assert _pass(tmp, folders, listings, records) == _fresh(folders, records)
    finally:
        signatures.max_added = before  # type: ignore[method-assign]
        shutil.rmtree(tmp)


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[RunIndex, dict[str, str]]:
    """Two aged run folders; each pass saves its listings (not only once they are many)."""
    monkeypatch.setattr(signatures, "max_added", lambda n: -1)
    index = RunIndex(tmp_path, cache=tmp_path / "cache" / "runs-index.marshal")
    folders = {}
    for i in range(2):
        folder = tmp_path / f"run{i}"
        (folder / "metrics").mkdir(parents=True)
        (folder / "run.yaml").write_text("x")
        _age(folder, 100)
        folders[f"run{i}"] = str(folder)
    return index, folders


def test_an_unchanged_folder_is_not_listed_again(
    runs: tuple[RunIndex, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    index, folders = runs
    _pass(index.root, folders, signatures.FolderListings(index))
    listed: list[str] = []
    real = signatures._listed
    monkeypatch.setattr(signatures, "_listed", lambda p: listed.append(p) or real(p))
    Path(folders["run1"], "new.txt").write_text("new")  # run1's folder changes
    _age(Path(folders["run1"]), 10)
    signed = _pass(index.root, folders, signatures.FolderListings(index))
    assert listed == [folders["run1"]]
    assert signed == _fresh(folders)


def test_a_folder_changed_just_now_or_holding_a_link_keeps_no_listing(
    runs: tuple[RunIndex, dict[str, str]], tmp_path: Path
) -> None:
    index, folders = runs
    os.utime(folders["run0"])  # changed in this clock tick: not to be trusted yet
    (Path(folders["run1"]) / "link").symlink_to(tmp_path)
    _age(Path(folders["run1"]), 100)
    listings = signatures.FolderListings(index)
    _pass(index.root, folders, listings)
    assert set(signatures.FolderListings(index).known) == set()


@pytest.mark.parametrize("damage", ["flip", "cut", "other key"])
def test_a_listings_file_that_is_not_ours_is_not_used(
    runs: tuple[RunIndex, dict[str, str]], damage: str
) -> None:
    index, folders = runs
    _pass(index.root, folders, signatures.FolderListings(index))
    kept = signatures.FolderListings(index)
    assert isinstance(kept.path, Path) and len(kept.known) == 2
    data = bytearray(kept.path.read_bytes())
    if damage == "flip":
        data[-3] ^= 0xFF
    elif damage == "cut":
        del data[len(data) // 2 :]
    else:
        data[len(signatures.FolderListings._MAGIC)] ^= 0xFF  # the signature itself
    kept.path.write_bytes(bytes(data))
    assert signatures.FolderListings(index).known == {}
    assert _pass(index.root, folders, signatures.FolderListings(index)) == _fresh(folders)


def test_runs_gone_are_forgotten(runs: tuple[RunIndex, dict[str, str]]) -> None:
    index, folders = runs
    _pass(index.root, folders, signatures.FolderListings(index))
    del folders["run0"]
    _pass(index.root, folders, signatures.FolderListings(index))
    assert set(signatures.FolderListings(index).known) == {"run1"}


def test_a_few_changes_are_not_written_until_they_are_many(
    runs: tuple[RunIndex, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One new run per rebuild must not rewrite a file of 100,000 listings each time."""
    index, folders = runs
    _pass(index.root, folders, signatures.FolderListings(index))
    kept = signatures.FolderListings(index)
    assert isinstance(kept.path, Path)
    written = kept.path.stat().st_mtime_ns
    monkeypatch.setattr(signatures, "max_added", lambda n: 1)
    Path(folders["run1"], "new.txt").write_text("new")
    _age(Path(folders["run1"]), 10)
    assert _pass(index.root, folders, signatures.FolderListings(index)) == _fresh(folders)
    assert kept.path.stat().st_mtime_ns == written  # 1 change: not written
    for name in ("run0", "run1"):
        Path(folders[name], "more.txt").write_text("more")
        _age(Path(folders[name]), 5)
    assert _pass(index.root, folders, signatures.FolderListings(index)) == _fresh(folders)
    assert kept.path.stat().st_mtime_ns != written  # 2 changes: written


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts open descriptors")
def test_signing_keeps_one_parent_folder_open_at_a_time(tmp_path: Path) -> None:
    """A store may hold thousands of shard folders and a process a few hundred
    descriptors: stats relative to a parent folder keep only the current one open."""
    paths = []
    for shard in range(40):
        folder = tmp_path / f"{shard:02x}" / "run"
        folder.mkdir(parents=True)
        paths.append(str(folder))
    before = len(os.listdir("/proc/self/fd"))
    with signatures._parents() as within:
        for path in paths + paths[:3]:
            found = within(path)
            assert found is not None
            lstat, name = found
            assert lstat(name).st_ino == os.lstat(path).st_ino
            assert len(os.listdir("/proc/self/fd")) <= before + 1
    assert len(os.listdir("/proc/self/fd")) == before
