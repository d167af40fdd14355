"""Reading git: the source of a training script, a store as of a commit, path history."""

from __future__ import annotations

import contextlib
import logging
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mltrail.errors import GitError
from mltrail.git.run import (
    _NO_MATCH,
    _env,
    _git,
    _head,
    _relative,
    _run,
    find_repo_root,
)

log = logging.getLogger(__name__)

DIFF_CAP = 1_000_000  # bytes of `git diff HEAD` kept in SourceInfo.diff


@dataclass(frozen=True)
class SourceInfo:
    """The state of the code repository a run was started from."""

    commit: str
    branch: str | None
    remote_url: str | None
    dirty: bool
    diff: str


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
                tar.extractall(dest, filter=_no_links)
        except tarfile.ReadError:
            pass  # no archive at all: git's exit status and message say why
        err = p.stderr.read().decode("utf-8", "replace").strip()
    if p.returncode != 0 and not _NO_MATCH.search(err):
        raise GitError(f"`git archive {ref}` failed in {root}: {err or p.returncode}")
    return dest / rel  # missing when the folder did not exist at `ref`


def _no_links(member: Any, dest: str) -> Any:
    """tarfile's "data" filter, except that links are left out with a warning naming them.

    A store never follows a link (docs/SECURITY.md); "data" alone would abort the whole
    export at the first link that points out of the folder.
    """
    import tarfile

    if member.issym() or member.islnk():
        log.warning(
            "skipping %s: a link committed in the store (links are never followed)", member.name
        )
        return None
    return tarfile.data_filter(member, dest)


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
