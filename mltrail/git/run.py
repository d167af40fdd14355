"""Running git: the process plumbing every git operation of mltrail goes through."""

from __future__ import annotations

import logging
import os
import random
import re
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from mltrail.errors import GitError

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 30.0  # seconds to keep retrying while another git process holds a lock

_LOCK_MARKERS = (".lock': File exists", "cannot lock ref", "Unable to create", "index.lock")
_NO_MATCH = re.compile(r"pathspec '(.*)' did not match any files")
_FROM_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    base = {"LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", "GIT_LITERAL_PATHSPECS": "1"}
    return {**os.environ, **base, **(extra or {})}


def _run(
    repo: Path, args: Sequence[str], env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run git once in `repo`; GitError if it cannot start (e.g. git is not installed)."""
    try:
        return subprocess.run(
            ["git", "-C", str(repo), *args],
            input=stdin,
            capture_output=True,
            encoding="utf-8",  # text mode
            errors="surrogateescape",
            env=env or _env(),
        )
    except OSError as e:
        raise GitError(f"cannot run git ({e}); install git and make sure it is on PATH") from e


def _failure(repo: Path, args: Sequence[str], proc: subprocess.CompletedProcess[str]) -> GitError:
    detail = proc.stderr.strip() or f"exit status {proc.returncode}"
    return GitError(f"`git {' '.join(args)}` failed in {repo}: {detail}")


class _Backoff:
    """Jittered exponential sleeps within a total deadline."""

    def __init__(self, timeout: float = LOCK_TIMEOUT, cap: float = 0.5) -> None:
        self.deadline, self.delay, self.cap = time.monotonic() + timeout, 0.005, cap

    def wait(self, stderr: str | None = None) -> bool:
        """Sleep if time is left (and `stderr`, if given, tells of a held lock); else False."""
        locked = stderr is None or any(marker in stderr for marker in _LOCK_MARKERS)
        if not locked or time.monotonic() >= self.deadline:
            return False
        time.sleep(random.uniform(self.delay / 2, self.delay))
        self.delay = min(self.delay * 2, self.cap)
        return True


def _git(
    repo: Path, args: Sequence[str], env: dict[str, str] | None = None, stdin: str = ""
) -> str:
    """Run git in `repo`, retrying while a lock is held; stdout, or GitError."""
    backoff = _Backoff()
    while True:
        proc = _run(repo, args, env, stdin)
        if proc.returncode == 0:
            return proc.stdout
        if not backoff.wait(proc.stderr):
            raise _failure(repo, args, proc)


def find_repo_root(path: Path) -> Path | None:
    """The work tree root at or above `path` (marked by a `.git` dir or file), or None."""
    here = Path(os.path.abspath(path))
    return next((d for d in (here, *here.parents) if (d / ".git").exists()), None)


def init_repo(path: Path) -> None:
    """`git init` at `path`; GitError if git is missing or fails."""
    path.mkdir(parents=True, exist_ok=True)
    _git(path, ["init", "-q"])


def _head(repo: Path) -> str | None:
    """The commit HEAD points at, or None on an unborn branch."""
    args = ["rev-parse", "-q", "--verify", "HEAD^{commit}"]
    proc = _run(repo, args)
    if proc.returncode in (0, 1):
        return proc.stdout.strip() or None
    raise _failure(repo, args, proc)


def _head_and_tree(repo: Path) -> tuple[str | None, str | None]:
    """HEAD's commit and tree in one git process; (None, None) on an unborn branch."""
    lines = _git(repo, ["cat-file", "--batch-check"], stdin="HEAD^{commit}\nHEAD^{tree}\n")
    found = [line.split()[0] for line in lines.splitlines() if not line.endswith(" missing")]
    return (found[0], found[1]) if len(found) == 2 else (None, None)


def _relative(repo: Path, paths: Sequence[Path]) -> list[str]:
    """`paths` (absolute, or relative to the cwd) as unique posix paths relative to `repo`."""
    base = Path(os.path.abspath(repo))
    rels: dict[str, None] = {}
    for path in paths:
        full = Path(os.path.abspath(path))
        if full.is_relative_to(base):  # the usual case: no link to resolve
            rels[full.relative_to(base).as_posix()] = None
            continue
        roots = (base, repo.resolve())
        options = (full, full.parent.resolve() / full.name)  # symlinked parents, e.g. /tmp
        found = [p.relative_to(r).as_posix() for p in options for r in roots if p.is_relative_to(r)]
        if not found:
            raise GitError(f"{path} is outside the git repository {repo}")
        rels[found[0]] = None
    return list(rels)


def _nul(items: Sequence[str]) -> str:
    return "".join(f"{item}\0" for item in items)
