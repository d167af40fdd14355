"""The folder signatures of a site's runs, taken by forked workers too for a big store.

A signature lists every file of a run's folder (``FileStore.run_signatures``): at
100,000 runs that is ~2 s of Python, the largest part of a rebuild. Like the run pages
(``pages/run.py``), the work is shared with forked processes on Linux: they inherit
the store and its run index as they are, and send back only the digests.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

from mltrail.store import FileStore, recordstats

#: From this many runs on, the signatures are shared with forked workers.
PARALLEL_FROM = 20_000

#: What forked workers read (set only while a pool runs; inherited, never pickled).
_forked: tuple[FileStore, Mapping[str, str]] | None = None


def run_signatures(
    store: FileStore, runs: list[tuple[str, bool]], folders: Mapping[str, str], inputs: set[str]
) -> dict[str, str]:
    """``store.run_signatures(runs, folders, inputs)``, in the same order, its work shared
    with forked workers when there are many runs and cores."""
    processes = _processes(len(runs))
    if processes < 2:
        return store.run_signatures(runs, folders, inputs)
    global _forked
    _forked = (store, folders)
    cuts = [len(runs) * k // processes for k in range(processes + 1)]
    parts = [runs[cuts[k] : cuts[k + 1]] for k in range(processes)]
    try:
        with ProcessPoolExecutor(processes - 1, multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_signatures, part) for part in parts[1:]]
            signatures, found = _signatures(parts[0])
            for future in futures:
                theirs, their_inputs = future.result()
                signatures.update(theirs)
                found |= their_inputs
    finally:
        _forked = None
    inputs |= found
    return signatures


def _signatures(runs: list[tuple[str, bool]]) -> tuple[dict[str, str], set[str]]:
    assert _forked is not None, "set before the pool forks"
    store, folders = _forked
    inputs: set[str] = set()
    return store.run_signatures(runs, folders, inputs), inputs


def _processes(runs: int) -> int:
    """One per core (``recordstats.cores``) for a big store on Linux (fork), else 1."""
    if runs < PARALLEL_FROM or not sys.platform.startswith("linux"):
        return 1
    return recordstats.cores()
