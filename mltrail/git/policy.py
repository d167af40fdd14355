"""What a repository asks of mltrail's commits, and what mltrail tells its user once.

Signing: git's `commit-tree` ignores `commit.gpgsign`, so mltrail reads it and passes `-S`
itself; a commit that cannot be signed fails rather than landing unsigned. After a commit
lands, the user's index is brought up to date for the committed paths; a stale
`index.lock` makes that wait briefly and warn once, never fail the commit that landed.
A detached HEAD warns once per repository and process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import threading
import time
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
    """Whether git config (every file git reads, includes too) sets `commit.gpgsign` true.

    Asked of git once, then again whenever a file it read or would read changes (an
    included one, or a global config created since) or the environment that locates
    them does.
    """
    env = os.environ
    inputs = [(name, env[name]) for name in env if name.startswith(_CONFIG_PREFIX)]
    key = (str(repo), tuple(sorted(inputs)) + tuple(env.get(name) for name in _CONFIG_INPUTS))
    with _signing_lock:
        cached = _signing.get(key)
    if cached is not None and all(_stamp(path) == stamp for path, stamp in cached[0]):
        return cached[1]
    before = time.time_ns()
    stamps = {path: _stamp(path) for path in _config_files(repo)}  # before git reads them
    sign, read = _read_signing(repo)
    stamps.update((path, _stamp(path)) for path in read if path not in stamps)
    if all(stamp is None or stamp[0] < before - _RACY_NS for stamp in stamps.values()):
        with _signing_lock:  # else a change within the same clock tick could go unseen
            _signing[key] = (tuple(stamps.items()), sign)
    return sign


def _read_signing(repo: Path) -> tuple[bool, set[Path]]:
    """`commit.gpgsign` as git reads it, and the config files that took part."""
    args = ["config", "-z", "--show-origin", "--includes", "--list"]
    proc = _run(repo, args)
    if proc.returncode != 0:
        raise _failure(repo, args, proc)
    items = proc.stdout.split("\0")
    files: set[Path] = set()
    value: str | None = "false"
    for origin, item in zip(items[0::2], items[1::2], strict=False):
        name, has_value, text = item.partition("\n")
        where = Path(repo, origin[len("file:") :]) if origin.startswith("file:") else None
        files.update([where] if where else [])
        name = name.lower()
        if name == "commit.gpgsign":
            value = text if has_value else None  # a bare key is true
        elif name == "include.path" or (name.startswith("includeif.") and name.endswith(".path")):
            files.add(Path(where.parent if where else repo, os.path.expanduser(text)))
    sign = _git_bool(value)
    if sign is None:  # not a boolean: git's own message says so
        proc = _run(repo, ["config", "--type=bool", "--get", "commit.gpgsign"])
        if proc.returncode != 0:
            raise _failure(repo, ["config", "--type=bool", "--get", "commit.gpgsign"], proc)
        sign = proc.stdout.strip() == "true"
    return sign, files


def _git_bool(value: str | None) -> bool | None:
    """A config value as git reads a boolean; None when git would not call it one."""
    if value is None:
        return True
    text = value.lower()
    if text in ("true", "yes", "on"):
        return True
    if text in ("false", "no", "off", ""):
        return False
    number = re.fullmatch(r"([+-]?\d+)([kmg]?)", text)
    return bool(int(number.group(1))) if number else None


#: Environment variables that change which config files git reads, or add settings: every
#: GIT_CONFIG* one (GIT_CONFIG_GLOBAL, GIT_CONFIG_KEY_<n>, ...) and these.
_CONFIG_PREFIX = "GIT_CONFIG"
_CONFIG_INPUTS = ("HOME", "XDG_CONFIG_HOME", "GIT_DIR", "GIT_COMMON_DIR")
_RACY_NS = 100_000_000  # a file changed this recently may change again unseen
_Stamped = tuple[Path, "tuple[int, int, int, int] | None"]
_signing: dict[tuple[str, tuple[object, ...]], tuple[tuple[_Stamped, ...], bool]] = {}
_signing_lock = threading.Lock()


def _git_dir(repo: Path) -> Path:
    """`repo`'s git directory: .git, or where a worktree's .git file points."""
    git_dir = repo / ".git"
    with contextlib.suppress(OSError):
        if git_dir.is_file():  # "gitdir: <path>"
            git_dir = Path(repo, git_dir.read_text().partition("gitdir:")[2].strip())
    return git_dir


def _stamp(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def _config_files(repo: Path) -> list[Path]:
    """The config files git reads for `repo`, present or not (includes come from git)."""
    git_dir = _git_dir(repo)
    common = git_dir
    with contextlib.suppress(OSError):
        common = Path(git_dir, (git_dir / "commondir").read_text().strip())
    env = os.environ
    home = Path(env.get("HOME") or Path.home())
    xdg = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    files = [common / "config", git_dir / "config.worktree", xdg / "git" / "config"]
    files.append(Path(env.get("GIT_CONFIG_GLOBAL") or home / ".gitconfig"))
    files.append(Path(env.get("GIT_CONFIG_SYSTEM") or "/etc/gitconfig"))
    return files


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
    if _warned.seen("detached", str(repo)) or _on_branch(repo):
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


def _on_branch(repo: Path) -> bool:
    """True when the HEAD file names a branch; False when it may not (git then decides)."""
    try:
        head = (_git_dir(repo) / "HEAD").read_text(errors="replace")
    except OSError:
        return False
    # reftable repositories keep HEAD in the table and this stub in the file
    return head.startswith("ref: refs/") and head.strip() != "ref: refs/heads/.invalid"


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
