"""The folder signatures of a site's runs, taken by forked workers for a big store.

A signature lists every file of a run's folder (``FileStore.run_signatures``): at
100,000 runs that is a stat-bound pass over 100,000 folders, the largest part of a
rebuild. Like the run pages (``pages/run.py``), the work goes to forked processes on
Linux, one per core: they inherit the store, its run index and the runs to sign as they
are, and send back only the digests. Meanwhile the caller goes on with what does not
need them (``signing``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor

from mltrail.store import FileStore, recordstats
from mltrail.store.signatures import FolderListings, Listing

#: From this many runs on, the signatures are taken by forked workers.
PARALLEL_FROM = 20_000

Signed = tuple[dict[str, str], set[str]]
#: Run id → the listing of its folder to keep (None: none), where it changed.
Changes = dict[str, Listing | None]

#: What forked workers read (set only while a pool runs; inherited, never pickled).
_forked: (
    tuple[FileStore, list[tuple[str, bool]], Mapping[str, str], Mapping[str, Listing]] | None
) = None


class Signing:
    """Signatures being taken; :meth:`result` waits for them."""

    def __init__(
        self,
        listings: FolderListings,
        present: list[str],
        futures: list[Future[tuple[dict[str, str], set[str], Changes]]] | None = None,
        done: tuple[dict[str, str], set[str], Changes] | None = None,
    ) -> None:
        self._listings = listings
        self._present = present
        self._futures = futures or []
        self._parts = [] if done is None else [done]
        self._done: Signed | None = None

    def result(self) -> Signed:
        """Run id → signature, in the order of the runs given; and the ids of those whose
        folder holds an inputs record."""
        if self._done is None:
            signatures: dict[str, str] = {}
            inputs: set[str] = set()
            changes: Changes = {}
            parts = self._parts + [f.result() for f in self._futures]  # in the runs' order
            for theirs, their_inputs, their_changes in parts:
                signatures.update(theirs)
                inputs |= their_inputs
                changes.update(their_changes)
            self._listings.update(changes, self._present)  # kept for the next pass
            self._done = signatures, inputs
        return self._done


@contextlib.contextmanager
def signing(
    store: FileStore, runs: list[tuple[str, bool]], folders: Mapping[str, str]
) -> Iterator[Signing]:
    """The signatures of the (run id, ended) ``runs`` being taken while the ``with`` block
    runs; ``folders``: run id → folder. A small store is signed before the block starts."""
    processes = _processes(len(runs))
    listings = store.folder_listings()
    present = [run_id for run_id, _ in runs]
    if processes < 2:
        inputs: set[str] = set()
        changes: Changes = {}
        signed = store.run_signatures(runs, folders, inputs, listings.known, changes)
        yield Signing(listings, present, done=(signed, inputs, changes))
        return
    global _forked
    _forked = (store, runs, folders, listings.known)
    cuts = [len(runs) * k // processes for k in range(processes + 1)]
    try:
        with ProcessPoolExecutor(processes, multiprocessing.get_context("fork")) as pool:
            futures = [pool.submit(_signatures, cuts[k], cuts[k + 1]) for k in range(processes)]
            try:
                yield Signing(listings, present, futures)
            finally:
                for future in futures:
                    future.cancel()
    finally:
        _forked = None


def run_signatures(
    store: FileStore, runs: list[tuple[str, bool]], folders: Mapping[str, str], inputs: set[str]
) -> dict[str, str]:
    """``store.run_signatures(runs, folders, inputs)``, in the same order, its work shared
    with forked workers when there are many runs and cores."""
    with signing(store, runs, folders) as pending:
        signatures, found = pending.result()
    inputs |= found
    return signatures


def _signatures(start: int, end: int) -> tuple[dict[str, str], set[str], Changes]:
    assert _forked is not None, "set before the pool forks"
    store, runs, folders, listings = _forked
    inputs: set[str] = set()
    changes: Changes = {}
    signed = store.run_signatures(runs[start:end], folders, inputs, listings, changes)
    return signed, inputs, changes


def _processes(runs: int) -> int:
    """One per core (``recordstats.cores``) for a big store on Linux (fork), else 1."""
    if runs < PARALLEL_FROM or not sys.platform.startswith("linux"):
        return 1
    return recordstats.cores()
