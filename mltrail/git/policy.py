"""What a repository asks of mltrail's commits, and what mltrail tells its user once.

Signing: git's `commit-tree` ignores `commit.gpgsign`, so mltrail reads it and passes `-S`
itself; a commit that cannot be signed fails rather than landing unsigned. After a commit
lands, the user's index is brought up to date for the committed paths; a stale
`index.lock` makes that wait briefly and warn once, never fail the commit that landed.
A detached HEAD warns once per repository and process.
"""

from __future__ import annotations

import logging
import re
import subprocess
import threading
from collections.abc import Sequence
from pathlib import Path

from mltrail.errors import GitError
from mltrail.git.run import _FROM_STDIN, _Backoff, _failure, _nul, _run

log = logging.getLogger(__name__)

#: Seconds to retry refreshing the user's index while another git holds its lock.
INDEX_LOCK_WAIT = 2.0

_LOCKED_INDEX = re.compile(r"Unable to create '(.+?\.lock)': File exists")


class _Once:
    """Keys already warned about in this process (a log de-duplicator, nothing more)."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def first(self, kind: str, key: str) -> bool:
        """True the first time (`kind`, `key`) is asked about, False afterwards."""
        with self._lock:
            if (kind, key) in self._seen:
                return False
            self._seen.add((kind, key))
            return True

    def seen(self, kind: str, key: str) -> bool:
        """Whether (`kind`, `key`) was already warned about."""
        with self._lock:
            return (kind, key) in self._seen


_warned = _Once()


def signs_commits(repo: Path) -> bool:
    """Whether git config (every file git reads, includes too) sets `commit.gpgsign` true."""
    args = ["config", "--type=bool", "--get", "commit.gpgsign"]
    proc = _run(repo, args)
    if proc.returncode not in (0, 1):  # 1: not set
        raise _failure(repo, args, proc)
    return proc.stdout.strip() == "true"


def signing_failure(repo: Path, proc: subprocess.CompletedProcess[str]) -> GitError:
    """The error for a commit git could not sign: what git said and what to do."""
    said = next((ln for ln in proc.stderr.splitlines() if ln.strip()), f"exit {proc.returncode}")
    said = re.sub(r"^(error|fatal): ", "", said.strip())
    return GitError(
        f"cannot sign the commit in {repo}: its git config sets commit.gpgsign=true and git "
        f"said {said!r}; make the signing key usable (unlock it in gpg-agent or ssh-agent, "
        "check user.signingkey and gpg.format), or set `auto_commit: false` in "
        "mltrail-store.yaml and run `mltrail commit` once signing works"
    )


def warn_if_detached(repo: Path) -> None:
    """Warn (once per repository) when HEAD is detached: commits there are on no branch."""
    if _warned.seen("detached", str(repo)):
        return
    if _run(repo, ["symbolic-ref", "-q", "HEAD"]).returncode != 1:
        return  # on a branch (1 means detached; other codes are not ours to report)
    if _warned.first("detached", str(repo)):
        log.warning(
            "The git repository %s has a detached HEAD, so mltrail's commits go to no branch "
            "and a checkout can leave them behind: keep them on a branch with "
            "`git -C %s switch -c NAME`.",
            repo,
            repo,
        )


def refresh_index(repo: Path, rels: Sequence[str], sha: str | None) -> None:
    """Make the user's index hold HEAD's entries for `rels` (after commit `sha` landed).

    Never raises for the commit that landed: a held `index.lock` is retried for
    INDEX_LOCK_WAIT seconds (once per lock file and process), then warned about once;
    any other failure is warned about.
    """
    args = ["reset", "-q", "HEAD", *_FROM_STDIN]
    backoff = _Backoff(INDEX_LOCK_WAIT)
    landed = f"mltrail's commit {sha[:12]} landed" if sha else "The store files are committed"
    while True:
        proc = _run(repo, args, stdin=_nul(rels))
        if proc.returncode == 0:
            return
        stale = _LOCKED_INDEX.search(proc.stderr)
        if stale is None:
            log.warning(
                "%s, but updating git's index failed: %s", landed, _failure(repo, args, proc)
            )
            return
        if _warned.seen("index-lock", stale.group(1)) or not backoff.wait(proc.stderr):
            break
    lock = stale.group(1)
    if _warned.first("index-lock", lock):
        log.warning(
            "%s in %s, but git's index was not updated because %s exists. If no git command "
            "is running, a crashed git left it: remove it (`rm %s`) and run `mltrail commit` "
            "to update the index; until then `git status` shows the committed store files "
            "as deleted and untracked.",
            landed,
            repo,
            lock,
            lock,
        )
