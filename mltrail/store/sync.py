"""`mltrail sync`: share a store's commits through one git remote, and `sync: auto`.

One sync is: wait for this process's store commits, refuse if the user is in the middle
of a git operation, then fetch, integrate (a merge commit, see :mod:`mltrail.git.sync`),
upload pending artifacts (:mod:`mltrail.store.uploads`) and push, starting over from the
fetch when another machine pushed first. :class:`AutoSync` runs syncs on a background
thread after runs end (`sync: auto` in `mltrail-store.yaml`): the run's end never waits
for the network; a failure is warned about once and the next sync pushes what is left.
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

from mltrail.errors import GitError, MltrailError, StoreError
from mltrail.git import sync as gitsync
from mltrail.store import layout
from mltrail.store.committer import FirstFailure
from mltrail.store.config import StoreConfig
from mltrail.store.uploads import UploadingStore, upload_pending_artifacts

log = logging.getLogger(__name__)

#: Fetch-integrate-push rounds before a sync gives up on a remote that keeps moving.
ATTEMPTS = 60
#: Longest wait, in seconds, between two rounds.
BACKOFF_CAP = 0.25
#: Seconds the process waits at exit for a background sync under way (then leaves it).
EXIT_WAIT = 15.0


#: How the summary line says what integrating did.
_DONE = {"up to date": "already up to date", "fast-forward": "fast-forwarded", "merge": "merged"}


class SyncableStore(UploadingStore, Protocol):
    """What a sync needs of a store (a :class:`~mltrail.store.FileStore`)."""

    root: Path
    repo_root: Path | None
    config: StoreConfig

    def flush(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class SyncResult:
    """What one sync did."""

    target: gitsync.SyncTarget
    integration: str
    received_runs: int
    #: Registry files (models, versions, aliases) the merge added.
    received_registry_files: int
    uploaded: int
    pushed: str | None
    attempts: int
    uncommitted: int

    def describe(self) -> str:
        """One line for people: what came in, what went out."""
        parts = [
            f"Synced {self.target.describe()}: {_DONE.get(self.integration, self.integration)}"
        ]
        if self.received_runs:
            parts.append(f"{self.received_runs} new run{'s' if self.received_runs > 1 else ''}")
        if self.uploaded:
            parts.append(f"{self.uploaded} artifact files uploaded")
        parts.append(f"pushed {self.pushed[:12]}" if self.pushed else "nothing to push")
        if self.attempts > 1:
            parts.append(f"{self.attempts} attempts (others pushed first)")
        line = ", ".join(parts) + "."
        if self.uncommitted:
            line += (
                f" {self.uncommitted} store files are not committed, so they were not shared: "
                "`mltrail commit` commits them."
            )
        return line


def sync_store(
    store: SyncableStore,
    remote: str | None = None,
    *,
    attempts: int = ATTEMPTS,
    batch: bool = False,
    progress: Callable[[str], None] | None = None,
) -> SyncResult:
    """Fetch, integrate, upload pending artifacts and push the store's git repository.

    GitError (nothing of the user's changed) when the repository is mid-merge, rebase,
    cherry-pick or has unmerged paths, when the merge conflicts, or when the remote
    cannot be reached; StoreError when the store is not in git. `batch`: nobody can
    answer a prompt (ssh runs with BatchMode). `progress` is told of each new round.
    """
    repo = store.repo_root
    if repo is None:
        raise StoreError(
            f"The store {store.root} is not in a git repository, so there is nothing to "
            "sync; run `git init` there and add a remote (`git remote add origin URL`)."
        )
    store.flush()
    target = gitsync.sync_target(repo, remote, batch)
    gitsync.check_work_tree(repo)
    moves: list[gitsync.Integration] = []
    for attempt in range(1, attempts + 1):
        began = time.monotonic()
        done = _round(store, repo, target)
        log.debug(
            "sync round %d: %.3f s, pushed=%s", attempt, time.monotonic() - began, done.pushed
        )
        if done.integration is not None and done.integration.new != done.integration.old:
            moves.append(done.integration)
        if not done.beaten:
            break
        if progress is not None:
            progress(f"{target.remote} moved meanwhile: fetching again (round {attempt + 1}).")
        # Another machine pushed first: wait a little (longer each time, at random, so
        # that machines retrying together spread out), then fetch and merge again.
        time.sleep(random.uniform(0, min(BACKOFF_CAP, 0.02 * 2**attempt)))
    else:
        raise GitError(
            f"{target.remote} kept moving: another machine pushed first {attempts} times in a "
            "row; nothing of yours was changed: run `mltrail sync` again."
        )
    runs, registry = _added(
        repo, moves, store.root / layout.RUNS_DIR, store.root / layout.MODELS_DIR
    )
    received = sum(p.endswith("/" + layout.RUN_FILE) for p in runs)
    kind = moves[-1].kind if moves else "up to date"
    pending = len(gitsync.pending_paths(repo, store.root))
    return SyncResult(
        target, kind, received, len(registry), done.uploaded, done.pushed, attempt, pending
    )


def _added(repo: Path, moves: list[gitsync.Integration], *folders: Path) -> list[list[str]]:
    """For each folder, the paths below it that `moves` added."""
    return [
        [
            path
            for m in moves
            if m.new
            for path in gitsync.changed_paths(repo, m.old, m.new, os.path.relpath(folder, repo))
        ]
        for folder in folders
    ]


class _Round(NamedTuple):
    """One fetch-integrate-upload-push: `pushed` is None when there was nothing to push;
    `beaten` when another machine pushed first."""

    integration: gitsync.Integration | None
    uploaded: int
    pushed: str | None
    beaten: bool


def _round(store: SyncableStore, repo: Path, target: gitsync.SyncTarget) -> _Round:
    theirs = gitsync.fetch(repo, target)
    plan = gitsync.prepare(repo, target, theirs) if theirs is not None else None
    new = plan.new if plan is not None else gitsync.head_commit(repo)
    uploaded = 0
    if new is not None and new != theirs:  # what this push adds must be readable by all
        added = gitsync.changed_paths(repo, theirs, new, os.path.relpath(store.root, repo))
        uploaded = upload_pending_artifacts(store, (repo / p for p in added))
    if new is not None and new != theirs and not gitsync.push(repo, target, new):
        return _Round(None, uploaded, None, beaten=True)
    if plan is not None and not gitsync.apply(repo, plan):
        return _Round(None, uploaded, None, beaten=True)  # a commit landed: merge it too
    pushed = new if new is not None and new != theirs else None
    return _Round(plan, uploaded, pushed, beaten=False)


def _call_alive(ref: weakref.ref[AutoSync], method: Callable[[AutoSync], object]) -> None:
    auto = ref()
    if auto is not None:
        method(auto)


class AutoSync:
    """Syncs of one store on a background thread; requests made meanwhile share one sync.

    Never raises: the first failure is a warning, later ones are debug messages; what was
    not pushed is pushed by the next sync (the next run's end, or `mltrail sync`).
    """

    def __init__(self, store: SyncableStore) -> None:
        self.store = store
        self._failures = FirstFailure("background sync")
        self._reset()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=functools.partial(_call_alive, ref, AutoSync._reset))
        atexit.register(_call_alive, ref, lambda a: a.wait(EXIT_WAIT))

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._requested = self._done = 0
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """Ask for a sync and return at once."""
        with self._cond:
            self._requested += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="mltrail-sync", daemon=True)
                self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every sync requested so far has run; False on timeout."""
        with self._cond:
            target = self._requested
            return self._cond.wait_for(lambda: self._done >= target, timeout)

    def _work(self) -> None:
        while True:
            with self._cond:
                if self._done >= self._requested:
                    self._thread = None
                    return
                upto = self._requested
            try:
                self._sync()
            finally:
                with self._cond:
                    self._done = max(self._done, upto)
                    self._cond.notify_all()

    def _sync(self) -> None:
        try:
            result = sync_store(self.store, batch=True)  # no prompt: nobody is watching
        except (MltrailError, OSError) as e:
            self._failures.report(
                e,
                "Could not sync the mltrail store %s (sync: auto): %s. The runs are committed "
                "locally; the next sync (`mltrail sync`, or the next run's end) pushes them.",
                self.store.root,
                e,
            )
            return
        log.debug("%s", result.describe())
