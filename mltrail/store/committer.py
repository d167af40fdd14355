"""Background commits of a store: changes queued while one commit runs share the next one.

Only :mod:`mltrail.git` runs git; this module decides when (a policy of the store).
"""

from __future__ import annotations

import atexit
import functools
import logging
import os
import subprocess
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path

from mltrail import git
from mltrail.errors import GitError

log = logging.getLogger(__name__)

PACE = 1.0
"""Seconds between the starts of two background commits while changes keep coming."""


def _call_alive(ref: weakref.ref[Committer], method: Callable[[Committer], object]) -> None:
    committer = ref()
    if committer is not None:
        method(committer)


class FirstFailure:
    """Warns about the first failure of a background job; later ones are debug messages."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.warned = False

    def report(self, error: BaseException, message: str, *args: object) -> None:
        """Log `message % args` as a warning the first time, `error` at debug level after."""
        if self.warned:
            log.debug("%s failed again: %s", self.job, error)
            return
        self.warned = True
        log.warning(message, *args)


class Committer:
    """Commits on one background thread, folding submissions queued meanwhile into one commit.

    Never raises: the first failure is logged as a warning; the files stay for `mltrail commit`.
    """

    def __init__(self, repo_root: Path) -> None:
        self.repo_root = repo_root
        self._identity: dict[str, str] | None = None
        self._failures = FirstFailure("git commit of the store")
        self._reset()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=functools.partial(_call_alive, ref, Committer._reset))
        atexit.register(_call_alive, ref, lambda c: c.flush(git.LOCK_TIMEOUT * 2))

    def _reset(self) -> None:
        """Start with an empty queue and no worker (also in a forked child)."""
        self._cond = threading.Condition()
        self._paths: list[Path] = []
        self._messages: list[str] = []
        self._submitted = self._done = 0
        self._waiters = 0  # threads in flush(): they want the next commit now
        self._last_start = -PACE
        self._closing = False
        self._thread: threading.Thread | None = None

    def submit(self, paths: Sequence[Path], message: str) -> None:
        """Queue `paths` for commit and return at once."""
        with self._cond:
            self._paths.extend(paths)
            self._messages.append(message)
            self._submitted += 1
            self._closing = False
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._work, name="mltrail-git", daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until all submitted so far is committed (or failed); False on timeout."""
        with self._cond:
            target = self._submitted
            self._waiters += 1
            self._cond.notify_all()
            try:
                return self._cond.wait_for(lambda: self._done >= target, timeout)
            finally:
                self._waiters -= 1

    def close(self, timeout: float | None = None) -> None:
        """Flush, then stop the worker (a later `submit` starts a new one)."""
        self.flush(timeout)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._messages or self._closing)
                if not self._messages:
                    self._thread = None  # so that a later submit starts a new worker
                    return
                # While changes stream in, start at most one commit per PACE seconds so
                # they share commits; a flush (or exit) does not wait.
                wait = self._last_start + PACE - time.monotonic()
                self._cond.wait_for(lambda: self._waiters or self._closing, max(0.0, wait))
                self._last_start = time.monotonic()
                paths, messages, upto = self._paths, self._messages, self._submitted
                self._paths, self._messages = [], []
            more = len(messages) - 1
            title = f"{messages[0]} and {more} more change{'s' if more > 1 else ''}"
            summary = f"{title}\n\n" + "\n".join(messages)
            try:
                self._commit(paths, messages[0] if len(messages) == 1 else summary)
            finally:
                with self._cond:
                    self._done = max(self._done, upto)
                    self._cond.notify_all()

    def _commit(self, paths: Sequence[Path], message: str) -> None:
        try:
            self._identity = self._identity or git.identity_env(self.repo_root)
            git.commit_paths(self.repo_root, paths, message, self._identity)
        except (GitError, OSError, subprocess.SubprocessError) as e:
            self._failures.report(
                e,
                "Could not commit the mltrail store to git: %s. The files stay on disk; "
                "`mltrail commit` will commit them later.",
                e,
            )
