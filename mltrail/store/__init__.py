"""The on-disk store: the only package that knows file names and layouts."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from mltrail import git
from mltrail.errors import GitError, StoreError
from mltrail.store import formats, layout
from mltrail.store.config import StoreConfig
from mltrail.store.experiments import ExperimentStore
from mltrail.store.store import FileStore

__all__ = ["FileStore", "find_store", "init_store", "is_store"]
log = logging.getLogger(__name__)


def is_store(path: Path) -> bool:
    return (path / layout.MARKER).is_file()


def find_store(start: Path) -> Path | None:
    """Walk up from ``start`` like git: a store folder, or a ``runs/`` store beside it."""
    here = start.resolve()
    for folder in (here, *here.parents):
        if is_store(folder):
            return folder
        if is_store(folder / layout.DEFAULT_STORE_DIRNAME):
            return folder / layout.DEFAULT_STORE_DIRNAME
    return None


def check_no_lost_store(root: Path) -> None:
    """Refuse to create a store over one whose marker was deleted (or beside one)."""
    if is_store(root / layout.DEFAULT_STORE_DIRNAME):
        raise StoreError(
            f"{root} is not an mltrail store (no {layout.MARKER}), but holds one in "
            f"{layout.DEFAULT_STORE_DIRNAME}/; use {root / layout.DEFAULT_STORE_DIRNAME} "
            "as the store."
        )
    runs = root / layout.RUNS_DIR
    shards = os.listdir(runs) if runs.is_dir() else []
    if (root / layout.EXPERIMENTS_DIR).is_dir() or any(layout.is_shard(n) for n in shards):
        raise StoreError(
            f"{root} is not an mltrail store: it has no {layout.MARKER}, yet holds "
            f"{layout.EXPERIMENTS_DIR}/ or {layout.RUNS_DIR}/ of one. Restore the marker "
            f"(e.g. `git checkout -- {layout.MARKER}` there) rather than creating a new store "
            "over these records."
        )


def init_store(path: Path, *, now_ms: int | None = None) -> tuple[FileStore, bool]:
    """Create a store at ``path`` (git-initialising it when it is outside any repository).

    Returns the store and whether it was created (False: it existed already).
    """
    root = path.resolve()
    if is_store(root):
        return FileStore(root), False
    check_no_lost_store(root)
    root.mkdir(parents=True, exist_ok=True)
    if git.find_repo_root(root) is None:
        try:
            git.init_repo(root)
        except GitError as e:
            log.warning("%s; the store works without git, but nothing is versioned.", e)
    formats.write_yaml(root / layout.MARKER, StoreConfig().to_record())
    (root / ".gitignore").write_text("".join(line + "\n" for line in layout.GITIGNORE_LINES))
    ExperimentStore(root).create(
        layout.DEFAULT_EXPERIMENT_NAME, experiment_id=layout.DEFAULT_EXPERIMENT_ID, now_ms=now_ms
    )
    store = FileStore(root)
    if store.repo_root is not None and store.config.auto_commit:
        paths = [root / layout.MARKER, root / ".gitignore", root / layout.EXPERIMENTS_DIR]
        try:
            git.commit_paths(store.repo_root, paths, "Initialize mltrail store")
        except GitError as e:
            log.warning("%s; the files stay and `mltrail commit` will commit them.", e)
    return store, True
