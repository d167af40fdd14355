"""Git versioning of the store: the only module that runs git (the executable: it starts in
milliseconds, while importing GitPython costs ~60 ms). Store commits are built in a throwaway
index, so they hold only the store paths given and the user's staged changes stay staged."""

from __future__ import annotations

import contextlib
import getpass
import logging
import os
import random
import re
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from mltrail.errors import GitError

log = logging.getLogger(__name__)

LOCK_TIMEOUT = 30.0  # seconds to keep retrying while another git process holds a lock
DIFF_CAP = 1_000_000  # bytes of `git diff HEAD` kept in SourceInfo.diff

_LOCK_MARKERS = (".lock': File exists", "cannot lock ref", "Unable to create", "index.lock")
_NO_MATCH = re.compile(r"pathspec '(.*)' did not match any files")
_FROM_STDIN = ("--pathspec-from-file=-", "--pathspec-file-nul")


@dataclass(frozen=True)
class SourceInfo:
    """The state of the code repository a run was started from."""

    commit: str
    branch: str | None
    remote_url: str | None
    dirty: bool
    diff: str


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


def _relative(repo: Path, paths: Sequence[Path]) -> list[str]:
    """`paths` (absolute, or relative to the cwd) as unique posix paths relative to `repo`."""
    roots = (Path(os.path.abspath(repo)), repo.resolve())
    rels: dict[str, None] = {}
    for path in paths:
        full = Path(os.path.abspath(path))
        options = (full, full.parent.resolve() / full.name)  # symlinked parents, e.g. /tmp
        found = [p.relative_to(r).as_posix() for p in options for r in roots if p.is_relative_to(r)]
        if not found:
            raise GitError(f"{path} is outside the git repository {repo}")
        rels[found[0]] = None
    return list(rels)


def _nul(items: Sequence[str]) -> str:
    return "".join(f"{item}\0" for item in items)


def identity_env(repo: Path) -> dict[str, str]:
    """GIT_AUTHOR_*/GIT_COMMITTER_*: git config, else $MLTRAIL_USER, else the OS user."""
    proc = _run(repo, ["config", "-z", "--get-regexp", r"^user\.(name|email)$"])
    config = dict(item.split("\n", 1) for item in proc.stdout.split("\0") if "\n" in item)
    try:
        login = os.environ.get("MLTRAIL_USER") or getpass.getuser()
    except (OSError, KeyError):  # no passwd entry, e.g. in some containers
        login = "mltrail"
    name = config.get("user.name") or login
    email = config.get("user.email") or re.sub(r"\s+", ".", login) + "@localhost"
    env: dict[str, str] = {}
    for role, value in (("NAME", name), ("EMAIL", email)):
        for who in ("AUTHOR", "COMMITTER"):
            env[f"GIT_{who}_{role}"] = os.environ.get(f"GIT_{who}_{role}") or value
    return env


def _stage(repo: Path, rels: Sequence[str], env: dict[str, str]) -> None:
    """Make the (temporary) index match the work tree under `rels`, deletions included."""
    missing = [rel for rel in rels if not os.path.lexists(repo / rel)]
    present = [rel for rel in rels if rel not in missing]
    while present:
        args = ["add", "-A", *_FROM_STDIN]
        proc = _run(repo, args, env, _nul(present))
        gone = _NO_MATCH.search(proc.stderr)
        if gone and gone.group(1) in present:  # deleted since we looked
            present.remove(gone.group(1))
            missing.append(gone.group(1))
            continue
        ignored = proc.returncode == 1 and "ignored by one of your .gitignore" in proc.stderr
        if proc.returncode != 0 and not ignored:  # an explicitly named ignored path is skipped
            raise _failure(repo, args, proc)
        break
    if missing:
        rm = ["rm", "-r", "-q", "--cached", "--ignore-unmatch", *_FROM_STDIN]
        _git(repo, rm, env, _nul(missing))


def _write_tree(repo: Path, old: str | None, rels: Sequence[str], env: dict[str, str]) -> str:
    """The tree of `old` with `rels` as in the work tree, built in a throwaway index."""
    with tempfile.TemporaryDirectory(prefix="mltrail-index-") as tmp:
        tmp_env = {**env, "GIT_INDEX_FILE": os.path.join(tmp, "index")}
        _git(repo, ["read-tree", old or "--empty"], tmp_env)
        _stage(repo, rels, tmp_env)
        return _git(repo, ["write-tree"], tmp_env).strip()


def _commit(repo: Path, rels: Sequence[str], message: str, env: dict[str, str]) -> str | None:
    """Commit `rels` on HEAD by compare-and-swap, starting over whenever HEAD moved."""
    backoff = _Backoff()
    while True:
        old = _head(repo)
        tree = _write_tree(repo, old, rels, env)
        base = _git(repo, ["rev-parse", f"{old}^{{tree}}"] if old else ["mktree"]).strip()
        if tree == base:  # (`mktree` with no input writes the empty tree)
            return None
        parent = ["-p", old] if old else []
        new = _git(repo, ["commit-tree", tree, *parent, "-F", "-"], env, message).strip()
        args = ["update-ref", "-m", "mltrail: " + message.partition("\n")[0], "HEAD", new]
        proc = _run(repo, [*args, old or "0" * len(new)], env)
        if proc.returncode == 0:
            return new
        if not backoff.wait(proc.stderr):  # "cannot lock ref": busy, or HEAD moved
            raise _failure(repo, args, proc)


@contextlib.contextmanager
def _commit_lock(repo: Path) -> Iterator[None]:
    """Queue mltrail committers of one repository on this machine (best effort)."""
    try:
        import fcntl

        handle = open(repo / ".git" / "mltrail.lock", "a")  # noqa: SIM115
    except (ImportError, OSError):  # Windows, or .git is a file: the ref CAS alone suffices
        yield
        return
    with handle:
        backoff = _Backoff(LOCK_TIMEOUT / 3, cap=0.02)
        while True:
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            if not backoff.wait():
                break  # go on unlocked: the ref compare-and-swap keeps commits correct
        yield  # closing the handle releases the lock


def commit_paths(
    repo_root: Path, paths: Sequence[Path], message: str, identity: dict[str, str] | None = None
) -> str | None:
    """Commit exactly `paths` (absolute or cwd-relative files or dirs, deletions included).

    Returns the new commit, or None if nothing changed. `identity`: from `identity_env`.
    """
    rels = _relative(repo_root, paths)
    if not rels:
        return None
    env = _env(identity or identity_env(repo_root))
    try:
        with _commit_lock(repo_root):
            sha = _commit(repo_root, rels, message, env)
            if sha or _head(repo_root):  # the real index: HEAD's entries for `rels` only
                _git(repo_root, ["reset", "-q", "HEAD", *_FROM_STDIN], stdin=_nul(rels))
    except OSError as e:  # e.g. no room for the temporary index
        raise GitError(f"cannot commit to the git repository {repo_root}: {e}") from e
    return sha


def pending_paths(repo_root: Path, under: Path) -> list[Path]:
    """Paths below `under` that differ from HEAD: modified, untracked (not ignored), deleted."""
    rel = _relative(repo_root, [under])[0]
    args = ["--no-optional-locks", "status", "--porcelain=v1", "-z", "--untracked-files=all"]
    entries = iter(_git(repo_root, [*args, "--", rel]).split("\0"))
    found: list[str] = []
    for entry in entries:
        if len(entry) > 3:
            found.append(entry[3:])
            if entry[0] in "RC":  # a rename's source comes next
                found.append(next(entries))
    prefix = "" if rel == "." else rel + "/"
    return [repo_root / p for p in found if (p + "/").startswith(prefix)]


def _remote_url(repo: Path) -> str | None:
    """The URL of `origin` (else the first remote), without credentials."""
    proc = _run(repo, ["config", "-z", "--get-regexp", r"^remote\..*\.url$"])
    urls = dict(item.split("\n", 1) for item in proc.stdout.split("\0") if "\n" in item)
    url = urls.get("remote.origin.url") or next(iter(urls.values()), None)
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def _capped_diff(repo: Path, exclude: Path | None) -> str:
    """`git diff HEAD` of tracked files outside `exclude`, cut at DIFF_CAP bytes."""
    args = ["git", "-C", str(repo), "diff", "HEAD", "--no-color", "--no-ext-diff", "--"]
    with contextlib.suppress(GitError):
        args += [f":(exclude,literal){_relative(repo, [exclude])[0]}"] if exclude else []
    env = _env({"GIT_LITERAL_PATHSPECS": "0"})
    quiet = subprocess.DEVNULL
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=quiet, stdin=quiet, env=env) as p:
        assert p.stdout is not None
        data = p.stdout.read(DIFF_CAP + 1)
        p.kill()
    text = data[:DIFF_CAP].decode("utf-8", errors="replace")
    return text + "\n[mltrail: diff truncated at 1 MB]\n" if len(data) > DIFF_CAP else text


def source_info(path: Path, exclude: Path | None = None) -> SourceInfo | None:
    """Commit, branch, remote and diff (without `exclude`, e.g. the store) of `path`'s repo.

    None when `path` is not in a git repository, HEAD has no commit, or git is missing."""
    root = find_repo_root(path)
    if root is None:
        return None
    try:
        proc = _run(root, ["rev-parse", "HEAD", "--symbolic-full-name", "HEAD"])
        if proc.returncode != 0:
            return None
        commit, _, ref = proc.stdout.strip().partition("\n")
        diff = _capped_diff(root, exclude)
        branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
        return SourceInfo(commit, branch, _remote_url(root), dirty=bool(diff), diff=diff)
    except (GitError, OSError):
        return None


def export_tree(path: Path, ref: str, dest: Path) -> Path:
    """Extract folder `path` of its repository as of `ref` under `dest`; return its copy."""
    import tarfile

    root = find_repo_root(path)
    if root is None:
        raise GitError(f"{path} is not inside a git repository, so it has no commits to build.")
    sha = _run(root, ["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"]).stdout.strip()
    if not sha:
        raise GitError(f"No commit, branch or tag {ref!r} in {root}; see `git log` for revisions.")
    rel = _relative(root, [path])[0]
    args = ["git", "-C", str(root), "archive", "--format=tar", sha, "--", rel]
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env()) as p:
        assert p.stdout is not None and p.stderr is not None
        try:
            with tarfile.open(fileobj=p.stdout, mode="r|") as tar:
                tar.extractall(dest, filter="data")
        except tarfile.ReadError:
            pass  # no archive at all: git's exit status and message say why
        err = p.stderr.read().decode("utf-8", "replace").strip()
    if p.returncode != 0 and not _NO_MATCH.search(err):
        raise GitError(f"`git archive {ref}` failed in {root}: {err or p.returncode}")
    return dest / rel  # missing when the folder did not exist at `ref`


@dataclass(frozen=True)
class LogEntry:
    """One commit of `git log`: who (author), when (author time, epoch seconds), what."""

    commit: str
    author_name: str
    author_email: str
    time: int
    message: str


def log_paths(
    repo_root: Path, paths: Sequence[Path], rev: str = "HEAD", max_count: int | None = None
) -> list[LogEntry]:
    """The non-merge commits reachable from `rev` that touched `paths`, newest first.

    Empty when the repository has no commit yet; GitError for an unknown `rev`."""
    if rev.startswith("-"):
        raise GitError(f"Invalid revision {rev!r}: give a commit, branch or tag.")
    rels = _relative(repo_root, paths)
    if not rels or (rev == "HEAD" and _head(repo_root) is None):
        return []
    fmt = "--format=%x1e%H%x1f%an%x1f%ae%x1f%at%x1f%B"
    limit = [f"--max-count={max_count}"] if max_count is not None else []
    out = _git(repo_root, ["log", "--no-merges", fmt, *limit, rev, "--", *rels])
    entries = []
    for chunk in out.split("\x1e")[1:]:
        commit, name, email, when, body = chunk.split("\x1f", 4)
        entries.append(LogEntry(commit, name, email, int(when), body.strip("\n")))
    return entries
