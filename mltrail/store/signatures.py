"""Signatures of store folders: cheap digests that change whenever a record changes.

A reader that keeps something derived from a run or a model (a site page, a cache)
compares signatures to know whether to derive it again. The rule of what counts lives
here, beside the writers it depends on, so readers never re-implement it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence

from mltrail.store import layout
from mltrail.store.index import RunIndex
from mltrail.store.indexfile import RECORD_FILES
from mltrail.store.inputs import INPUTS_FILE


def folder_signature(
    path: str,
    ended: bool = False,
    records: Sequence[int] | None = None,
    files: list[str] | None = None,
) -> str:
    """A digest of the relative name, size and modification time of every file under ``path``.

    Cheap (stats only, no reads). For an ``ended`` run, its histories folder counts by its
    own stat only: mltrail appends to an ended run's history only through
    ``FileStore.after_write``, which rewrites ``run.yaml`` too, so the files need not be
    stat-ed one by one (a store of 10,000 runs holds 50,000 of them). ``records``: the
    stats of the run's record files that the run index has just taken, reused.
    ``files``, when given, receives the names of the files directly in ``path`` (links
    followed, as ``os.path.isfile``) other than those records: seen on the way.
    """
    entries: list[str] = [] if records is None else ["\0".join(map(str, records))]
    skip = frozenset(RECORD_FILES if records is not None else ())
    stack = [path]
    base = len(path) + 1
    histories = os.path.join(path, layout.METRICS_DIR)
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    if entry.is_dir(follow_symlinks=False) and not (
                        ended and entry.path == histories
                    ):
                        stack.append(entry.path)
                    elif folder is path and entry.name in skip:
                        continue
                    else:
                        if files is not None and folder is path and entry.is_file():
                            files.append(entry.name)
                        st = entry.stat(follow_symlinks=False)
                        entries.append(f"{entry.path[base:]}\0{st.st_size}\0{st.st_mtime_ns}")
        except FileNotFoundError:
            continue
    entries.sort()
    return hashlib.sha256("\n".join(entries).encode("utf-8", "surrogateescape")).hexdigest()


def run_signatures(
    folders: Mapping[str, str],
    index: RunIndex,
    runs: Iterable[tuple[str, bool]],
    inputs: set[str] | None = None,
) -> dict[str, str]:
    """Run id → signature of its folder, for the (run id, ended) ``runs`` just read
    through ``index``; ``folders``: run id → folder (``layout.iter_run_folders``).
    ``inputs``, when given, receives the ids of the runs whose folder holds an inputs
    record (seen while listing the folder: no stat more per run)."""
    signatures = {}
    files: list[str] | None = None if inputs is None else []
    for run_id, ended in runs:
        signatures[run_id] = folder_signature(
            folders[run_id], ended=ended, records=index.record_signature(run_id), files=files
        )
        if files:
            if INPUTS_FILE in files:
                assert inputs is not None
                inputs.add(run_id)
            files.clear()
    return signatures
