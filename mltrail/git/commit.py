"""Store commits: they hold only the store paths given, and the user's staged changes stay
staged. HEAD moves by compare-and-swap. No commit hook runs for them; `commit_with_hooks`
(`mltrail commit --hooks`) is `git commit` itself.

Files and deletions (every registry change) are committed in-process by `native`; what it
cannot commit exactly as git would (a folder on disk, a filtered path, a signed commit's
signature, ...) is committed with plumbing, in an index of mltrail's own."""

from __future__ import annotations

import contextlib
import functools
import getpass
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from mltrail.errors import GitError
from mltrail.git import maintenance, native, policy
from mltrail.git.run import (
    _FROM_STDIN,
    _NO_MATCH,
    LOCK_TIMEOUT,
    _Backoff,
    _env,
    _failure,
    _git,
    _head,
    _head_and_tree,
    _nul,
    _relative,
    _run,
    find_repo_root,
)

log = logging.getLogger(__name__)

#: In .git: the index mltrail builds its commits in, reused while it matches HEAD.
_OWN_INDEX = "mltrail-index"
#: Dates `git commit-tree` takes from the environment: such commits are made by git.
_DATE_VARIABLES = ("GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE")
_IDENTITY_INPUTS = (
    "MLTRAIL_USER",
    "HOME",
    "XDG_CONFIG_HOME",
    "GIT_CONFIG_GLOBAL",
    "GIT_AUTHOR_NAME",
    "GIT_AUTHOR_EMAIL",
    "GIT_COMMITTER_NAME",
    "GIT_COMMITTER_EMAIL",
)


def identity_env(repo: Path) -> dict[str, str]:
    """GIT_AUTHOR_*/GIT_COMMITTER_*: git config, else $MLTRAIL_USER, else the OS user."""
    configs = (repo / ".git" / "config", Path.home() / ".gitconfig")
    stamps = tuple(_mtime(path) for path in configs)
    inputs = tuple(os.environ.get(name) for name in _IDENTITY_INPUTS)
    return dict(_identity(repo, stamps, inputs))  # a copy: callers may extend it


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


@functools.lru_cache(maxsize=16)
def _identity(
    repo: Path, stamps: tuple[int | None, ...], inputs: tuple[str | None, ...]
) -> dict[str, str]:
    """`identity_env`, asked of git once while its config files and the environment stay."""
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


def _write_tree(
    repo: Path, old: str | None, rels: Sequence[str], env: dict[str, str], reuse: bool
) -> str:
    """The tree of `old` with `rels` as in the work tree, built in an index of our own.

    `reuse` (only while holding the commit lock): keep that index in .git between commits;
    when it still matches `old` (our last commit), it need not be read from the tree again.
    """
    if not reuse:
        with tempfile.TemporaryDirectory(prefix="mltrail-index-") as tmp:
            return _fill_index(repo, old, rels, env, os.path.join(tmp, "index"), fresh=True)
    index = repo / ".git" / _OWN_INDEX
    marker = index.with_name(_OWN_INDEX + ".commit")
    try:
        fresh = marker.read_text() != (old or "")
        marker.unlink()  # until this commit lands, the index matches nothing known
    except FileNotFoundError:
        fresh = True
    return _fill_index(repo, old, rels, env, str(index), fresh=fresh)


def _fill_index(
    repo: Path, old: str | None, rels: Sequence[str], env: dict[str, str], index: str, fresh: bool
) -> str:
    tmp_env = {**env, "GIT_INDEX_FILE": index}
    if fresh:
        _git(repo, ["read-tree", old or "--empty"], tmp_env)
    _stage(repo, rels, tmp_env)
    return _git(repo, ["write-tree"], tmp_env).strip()


def _remember_index(repo: Path, commit: str | None) -> None:
    """Record that our own index now holds the tree of `commit`."""
    (repo / ".git" / (_OWN_INDEX + ".commit")).write_text(commit or "")


def _commit(
    repo: Path, rels: Sequence[str], message: str, env: dict[str, str], reuse: bool = False
) -> str | None:
    """Commit `rels` on HEAD by compare-and-swap, starting over whenever HEAD moved."""
    backoff = _Backoff()
    while True:
        old, base = _head_and_tree(repo)
        tree = _write_tree(repo, old, rels, env, reuse)
        if tree == (base or _git(repo, ["mktree"]).strip()):  # (no input: the empty tree)
            if reuse:
                _remember_index(repo, old)
            return None
        new = _commit_tree(repo, tree, old, message, env)
        args = ["update-ref", "-m", "mltrail: " + message.partition("\n")[0], "HEAD", new]
        proc = _run(repo, [*args, old or "0" * len(new)], env)
        if proc.returncode == 0:
            if reuse:
                _remember_index(repo, new)
            return new
        if not backoff.wait(proc.stderr):  # "cannot lock ref": busy, or HEAD moved
            raise _failure(repo, args, proc)


def _commit_tree(
    repo: Path,
    tree: str,
    parent: str | None,
    message: str,
    env: dict[str, str],
    merged: Sequence[str] = (),
) -> str:
    """The commit object of `tree` (a merge of `merged` too), signed (`-S`) when the
    repository's config asks."""
    sign = policy.signs_commits(repo)
    parents = [p for commit in (parent, *merged) if commit for p in ("-p", commit)]
    args = ["commit-tree", tree, *parents, "-F", "-"]
    proc = _run(repo, [*args, "-S"] if sign else args, env, message)
    if proc.returncode != 0:
        raise policy.signing_failure(repo, proc) if sign else _failure(repo, args, proc)
    return proc.stdout.strip()


def _commit_in_process(
    repo: Path, rels: Sequence[str], message: str, who: dict[str, str]
) -> tuple[str | None, str] | None:
    """`native.commit`, or None when it cannot make this commit (git will)."""
    by_git = policy.signs_commits(repo) or any(v in os.environ for v in _DATE_VARIABLES)

    def write_commit(tree: str, parent: str | None, text: str) -> str:
        return _commit_tree(repo, tree, parent, text, _env(who))

    try:
        return native.commit(repo, rels, message, who, write_commit if by_git else None)
    except native.Unsupported as e:
        log.debug("committing with git: %s", e)
        return None


@contextlib.contextmanager
def _commit_lock(repo: Path) -> Iterator[bool]:
    """Queue mltrail committers of one repository on this machine (best effort)."""
    try:
        import fcntl

        handle = open(repo / ".git" / "mltrail.lock", "a")  # noqa: SIM115
    except (ImportError, OSError):  # Windows, or .git is a file: the ref CAS alone suffices
        yield False
        return
    with handle:
        backoff = _Backoff(LOCK_TIMEOUT / 3, cap=0.02)
        locked = False
        while not locked:
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
            if not locked and not backoff.wait():
                break  # go on unlocked: the ref compare-and-swap keeps commits correct
        yield locked  # closing the handle releases the lock


def commit_paths(
    repo_root: Path, paths: Sequence[Path], message: str, identity: dict[str, str] | None = None
) -> str | None:
    """Commit exactly `paths` (absolute or cwd-relative files or dirs, deletions included).

    Returns the new commit, or None if nothing changed. `identity`: from `identity_env`.
    """
    rels = _relative(repo_root, paths)
    if not rels:
        return None
    who = identity or identity_env(repo_root)
    try:
        with _commit_lock(repo_root) as locked:
            done = _commit_in_process(repo_root, rels, message, who)
            if done is None:  # git commits what its library cannot
                sha = _commit(repo_root, rels, message, _env(who), reuse=locked)
                if sha or _head(repo_root):  # the real index: HEAD's entries for `rels` only
                    policy.refresh_index(repo_root, rels, sha)
            else:
                sha, tree = done
                if tree and not native.update_index(repo_root, rels, tree):
                    policy.refresh_index(repo_root, rels, sha)
        if sha:
            policy.warn_if_detached(repo_root)
            maintenance.after_commit(repo_root)  # git's housekeeping, in the background
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


def commit_with_hooks(folder: Path, message: str | None = None) -> str | None:
    """Commit what is pending under `folder` with `git commit`: hooks run, signing as configured.

    Only `folder` is committed (`git commit --only`); other staged changes stay staged.
    Returns the new commit, or None when nothing is pending. GitError with git's (and the
    hooks') output when the commit is refused; the folder's changes are then left staged.
    """
    root = find_repo_root(folder)
    if root is None:
        raise GitError(f"{folder} is not inside a git repository; run `git init` there.")
    pending = pending_paths(root, folder)
    if not pending:
        return None
    rels = _relative(root, [folder])
    env = _env(identity_env(root))
    _git(root, ["add", "-A", "--", *rels], env)
    text = message or f"mltrail: commit {len(pending)} pending store files"
    proc = _run(root, ["commit", "-q", "--only", "-F", "-", "--", *rels], env, text)
    if proc.returncode != 0:
        said = "\n".join(part.strip() for part in (proc.stdout, proc.stderr) if part.strip())
        raise GitError(
            f"`git commit` of {rels[0]} was refused in {root} "
            f"({said or f'exit status {proc.returncode}'}). Nothing was committed and the "
            "store's changes are staged: fix what git or the hook reports, then run "
            "`mltrail commit --hooks` again."
        )
    return _head(root)
