"""Sharing a repository through one remote: fetch, integrate by merge, push.

The user's branch is integrated with a **merge commit**, never a rebase: a rebase would
rewrite the user's unpushed commits (their ids change, signatures are lost, other
branches built on them diverge). The merge is computed without the work tree
(`git merge-tree --write-tree`) and checked (`git read-tree -n`), pushed, and only then
applied: HEAD moves by compare-and-swap and the user's index and work tree with a
two-tree `git read-tree -m -u`, which changes only the paths the merge brought and
refuses, before changing anything, when one of those paths has uncommitted changes.
Staged and unstaged changes elsewhere stay as they are. Pushing before applying keeps
the time between fetch and push short, so that a machine far behind (many files to
write) is not beaten, round after round, by machines that push often.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mltrail.errors import GitError
from mltrail.git.commit import _commit_lock, _commit_tree, identity_env, pending_paths
from mltrail.git.run import _env, _failure, _git, _head, _run

#: Files in the git directory that mean an operation of the user's is half done.
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or `git am`",
    "BISECT_LOG": "a bisect",
}
#: What `git push` says (porcelain status or the remote's error) when the remote's branch
#: moved meanwhile: another machine pushed first, or is pushing right now.
_MOVED = re.compile(r"fetch first|non-fast-forward|stale info|failed to lock|cannot lock ref")
_NO_REMOTE_REF = re.compile(r"couldn't find remote ref", re.IGNORECASE)
#: Conflicting paths named in an error before "and N more".
_SHOWN = 5


@dataclass(frozen=True)
class SyncTarget:
    """Where a sync goes: the local branch, the remote, and the remote's branch."""

    branch: str
    remote: str
    remote_branch: str
    #: No prompt may wait for a person (a background sync): ssh runs in batch mode.
    batch: bool = False

    @property
    def tracking_ref(self) -> str:
        """The remote-tracking ref a fetch updates (`refs/remotes/<remote>/<branch>`)."""
        return f"refs/remotes/{self.remote}/{self.remote_branch}"

    def describe(self) -> str:
        """`main` with `origin/main`, as people write them."""
        return f"{self.branch} with {self.remote}/{self.remote_branch}"


@dataclass(frozen=True)
class Integration:
    """How the remote's branch comes in: `kind` is `up to date`, `fast-forward` or
    `merge`; HEAD moves from `old` to `new` (equal when up to date)."""

    kind: str
    old: str | None
    new: str | None


def _config(repo: Path, key: str) -> str | None:
    proc = _run(repo, ["config", "--get", key])
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def current_branch(repo: Path) -> str | None:
    """The branch HEAD names, or None when HEAD is detached."""
    proc = _run(repo, ["symbolic-ref", "-q", "--short", "HEAD"])
    return proc.stdout.strip() or None if proc.returncode == 0 else None


def remote_url(repo: Path, remote: str = "origin") -> str | None:
    """The URL of `remote` as configured, or None when there is no such remote."""
    return _config(repo, f"remote.{remote}.url")


def sync_target(repo: Path, remote: str | None = None, batch: bool = False) -> SyncTarget:
    """The branch to sync and its remote: `remote`, else the branch's upstream remote,
    else `origin`. GitError naming what to do on a detached HEAD or an unknown remote."""
    branch = current_branch(repo)
    if branch is None:
        raise GitError(
            f"{repo} has a detached HEAD, so there is no branch to sync; switch to a branch "
            "(`git switch NAME`, or `git switch -c NAME` to keep these commits) and run "
            "`mltrail sync` again."
        )
    upstream = _config(repo, f"branch.{branch}.remote")
    name = remote or upstream or "origin"
    remotes = _git(repo, ["remote"]).split()
    if name not in remotes:
        known = ", ".join(remotes) or "none"
        raise GitError(
            f"{repo} has no git remote named {name!r} (remotes: {known}); add one with "
            f"`git remote add {name} URL`, or name another with `mltrail sync --remote NAME`."
        )
    merge = _config(repo, f"branch.{branch}.merge") if name == upstream else None
    remote_branch = merge.removeprefix("refs/heads/") if merge else branch
    return SyncTarget(branch=branch, remote=name, remote_branch=remote_branch, batch=batch)


#: ssh for a sync nobody watches: fail rather than ask for a passphrase or a host key.
_BATCH_SSH = "ssh -o BatchMode=yes -o ConnectTimeout=20"


def _network_env(repo: Path, target: SyncTarget) -> dict[str, str] | None:
    """The environment of a fetch or push: ssh in batch mode for a batch target, unless
    the user chose the ssh command (GIT_SSH_COMMAND, GIT_SSH or core.sshCommand)."""
    if not target.batch or any(v in os.environ for v in ("GIT_SSH_COMMAND", "GIT_SSH")):
        return None
    return None if _config(repo, "core.sshCommand") else _env({"GIT_SSH_COMMAND": _BATCH_SSH})


__all__ = [
    "Integration",
    "SyncTarget",
    "apply",
    "changed_paths",
    "check_work_tree",
    "current_branch",
    "fetch",
    "head_commit",
    "pending_paths",
    "prepare",
    "push",
    "remote_url",
    "sync_target",
]


def head_commit(repo: Path) -> str | None:
    """The commit HEAD points at, or None on an unborn branch."""
    return _head(repo)


def _git_dir(repo: Path) -> Path:
    return Path(repo, _git(repo, ["rev-parse", "--git-dir"]).strip())


def check_work_tree(repo: Path) -> None:
    """GitError (and nothing changed) when the user is in the middle of something sync
    must not disturb: a merge, rebase, cherry-pick, revert or bisect, or unmerged paths."""
    git_dir = _git_dir(repo)
    for name, what in _IN_PROGRESS.items():
        if (git_dir / name).exists():
            raise GitError(
                f"{repo} is in the middle of {what} ({git_dir / name} exists); finish or abort "
                "it with git first, then run `mltrail sync` again. Nothing was changed."
            )
    unmerged = sorted(
        {line.split("\t", 1)[-1] for line in _git(repo, ["ls-files", "-u"]).split("\n") if line}
    )
    if unmerged:
        raise GitError(
            f"{repo} has unmerged paths ({_list(unmerged)}); resolve them with git and commit, "
            "then run `mltrail sync` again. Nothing was changed."
        )


def _list(paths: list[str]) -> str:
    more = len(paths) - _SHOWN
    return ", ".join(paths[:_SHOWN]) + (f" and {more} more" if more > 0 else "")


def fetch(repo: Path, target: SyncTarget) -> str | None:
    """Fetch the remote's branch into its remote-tracking ref; its commit, or None when
    the remote has no such branch yet (a new, empty remote)."""
    spec = f"+refs/heads/{target.remote_branch}:{target.tracking_ref}"
    args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", target.remote, spec]
    proc = _run(repo, args, _network_env(repo, target))
    if proc.returncode != 0:
        if _NO_REMOTE_REF.search(proc.stderr):
            return None
        raise _failure(repo, args, proc)
    return _git(repo, ["rev-parse", "--verify", "-q", target.tracking_ref + "^{commit}"]).strip()


def _merge_base(repo: Path, ours: str, theirs: str) -> str | None:
    """The best common ancestor of two commits, or None when they share no history."""
    args = ["merge-base", ours, theirs]
    proc = _run(repo, args)
    if proc.returncode not in (0, 1):
        raise _failure(repo, args, proc)
    return proc.stdout.strip() or None


def prepare(repo: Path, target: SyncTarget, theirs: str) -> Integration:
    """How the fetched commit `theirs` comes into the current branch, made but not applied:
    nothing when the branch has it, a fast-forward when the branch has nothing of its own,
    else a merge commit (on no branch yet). GitError, with nothing changed, on a conflict
    or when a path it changes has uncommitted changes of the user's.

    The merge is pushed before it is applied (:func:`apply`), so that the time between
    the fetch and the push, when another machine's push makes this one start over, holds
    no work-tree update."""
    old = _head(repo)
    base = _merge_base(repo, old, theirs) if old is not None else None
    if base == theirs:
        return Integration("up to date", old, old)
    if old is not None and base is None:
        raise GitError(
            f"{target.describe()} share no history (the remote holds another project?), so "
            "`mltrail sync` changed nothing; check the remote with `git remote -v`."
        )
    if old is None or base == old:
        kind, new = "fast-forward", theirs
    else:
        kind, new = "merge", _merge_commit(repo, target, old, theirs)
    _run(repo, ["update-index", "-q", "--refresh"])  # stat data only: file times to trust
    proc = _run(repo, _read_tree(old, new, "-n"))
    if proc.returncode != 0:
        raise _refused(repo, proc.stderr)
    return Integration(kind, old, new)


def apply(repo: Path, done: Integration) -> bool:
    """Move HEAD, the index and the work tree from `done.old` to `done.new`; False (and
    nothing changed) when HEAD moved since :func:`prepare` (a commit landed meanwhile)."""
    if done.new is None or done.new == done.old:
        return True
    with _commit_lock(repo):  # mltrail's own committers on this machine wait meanwhile
        return _move_head(repo, done.old, done.new)


def _read_tree(old: str | None, new: str, *flags: str) -> list[str]:
    """A two-tree `git read-tree` from `old` to `new` (one tree on an unborn branch)."""
    return ["read-tree", "-m", "-u", *flags, *([old] if old else []), new]


def _merge_commit(repo: Path, target: SyncTarget, ours: str, theirs: str) -> str:
    """The merge commit of `ours` and `theirs` (not yet on any branch); GitError on conflicts."""
    args = ["merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs]
    proc = _run(repo, args)
    if proc.returncode == 1:
        paths = [p for p in proc.stdout.split("\n")[1:] if p]
        raise GitError(
            f"{target.describe()} conflict in {_list(paths)}, so `mltrail sync` changed "
            f"nothing; merge them yourself (`git merge {target.remote}/{target.remote_branch}`), "
            "then run `mltrail sync` again."
        )
    if proc.returncode != 0:
        raise _failure(repo, args, proc)
    tree = proc.stdout.split("\n", 1)[0].strip()
    message = f"Merge {target.remote}/{target.remote_branch} into {target.branch} (mltrail sync)"
    return _commit_tree(repo, tree, ours, message, _env(identity_env(repo)), [theirs])


def _move_head(repo: Path, old: str | None, new: str) -> bool:
    """Move HEAD from `old` to `new` with the index and work tree; False if HEAD moved."""
    ref = ["update-ref", "-m", "mltrail sync", "HEAD", new, old or "0" * len(new)]
    if _run(repo, ref).returncode != 0:
        return False  # HEAD moved meanwhile (a commit of the user's): start again
    proc = _run(repo, _read_tree(old, new))
    if proc.returncode != 0:  # changed since the check: put HEAD back, touch nothing
        undo = (
            ["update-ref", "-m", "mltrail sync: undo", "HEAD", old]
            if old
            else ["update-ref", "-d", "HEAD"]
        )
        with contextlib.suppress(GitError):
            _run(repo, [*undo, new])
        raise _refused(repo, proc.stderr)
    return True


def _refused(repo: Path, stderr: str) -> GitError:
    # "Entry 'x' not uptodate", "Untracked working tree file 'x' would be overwritten"
    paths = re.findall(r"^error: [^'\n]*'(.+?)'", stderr, re.MULTILINE)
    paths += [line.strip() for line in stderr.splitlines() if line.startswith("\t")]
    what = _list(paths) if paths else stderr.strip().splitlines()[0] if stderr.strip() else "?"
    return GitError(
        f"`mltrail sync` would overwrite uncommitted changes in {repo} ({what}); commit or "
        "stash them, then run it again. Nothing was changed."
    )


def push(repo: Path, target: SyncTarget, commit: str) -> bool:
    """Push `commit` to the remote's branch; False when the remote moved meanwhile (fetch
    and integrate again), GitError on any other failure (unreachable, refused by a hook)."""
    dest = f"{commit}:refs/heads/{target.remote_branch}"
    args = ["push", "--porcelain", "--quiet", target.remote, dest]
    proc = _run(repo, args, _network_env(repo, target))
    if proc.returncode == 0:
        with contextlib.suppress(GitError):  # what we know the remote now holds
            _git(repo, ["update-ref", target.tracking_ref, commit])
        return True
    if _MOVED.search(proc.stdout) or _MOVED.search(proc.stderr):
        return False
    raise _failure(repo, args, proc)


def changed_paths(repo: Path, old: str | None, new: str, under: str) -> list[str]:
    """Paths below `under` (relative to the repository) added between `old` and `new`."""
    if old is None:
        args = ["ls-tree", "-r", "--name-only", "-z", new, "--", under]
    else:
        args = [
            "diff",
            "--name-only",
            "--no-renames",
            "--diff-filter=A",
            "-z",
            old,
            new,
            "--",
            under,
        ]
    return [p for p in _git(repo, args).split("\0") if p]
