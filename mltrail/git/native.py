"""Store commits built in-process with libgit2 (pygit2): no git process per commit.

`commit` writes HEAD's tree with the given paths as in the work tree (blobs, trees, the
commit) into the repository and moves HEAD's ref by compare-and-swap, as the plumbing in
:mod:`mltrail.git.commit` does; `update_index` then gives the user's index the committed
entries of those paths, as `git reset -q HEAD -- <paths>` does. What this module cannot
do exactly as git would (a folder on disk, a `filter` or `working-tree-encoding`
attribute, a hook git would run, an index libgit2 cannot write) raises
:class:`Unsupported` or returns False, and the caller runs git instead.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import stat
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrail.git.run import _Backoff

if TYPE_CHECKING:
    import pygit2

_TREE, _BLOB, _EXEC, _LINK, _GITLINK = 0o040000, 0o100644, 0o100755, 0o120000, 0o160000
_FILE_KINDS = (stat.S_IFREG, stat.S_IFLNK)
#: Attributes that make `git add` transform a file in ways libgit2 does not (or not alike).
_GIT_ONLY_ATTRIBUTES = ("filter", "working-tree-encoding")

#: libgit2's words for a ref another writer holds or just moved.
_BUSY = re.compile(r"failed to lock|does not match|already exists|locked", re.IGNORECASE)
#: What a path becomes in the commit: (blob id, mode), or None to remove it.
Change = tuple[Any, int] | None
#: Writes the commit object of (tree, parent, message) and returns its id (hex).
CommitWriter = Callable[[str, str | None, str], str]


class Unsupported(Exception):
    """This commit needs the git executable (the reason is the message)."""


_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def _repository(root: Path) -> tuple[pygit2.Repository, threading.Lock]:
    import pygit2

    try:
        return pygit2.Repository(str(root)), threading.Lock()
    except pygit2.GitError as e:
        raise Unsupported(f"libgit2 cannot open {root}: {e}") from e


def _reset_after_fork() -> None:
    _repository.cache_clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def commit(
    root: Path,
    rels: Sequence[str],
    message: str,
    identity: dict[str, str],
    write_commit: CommitWriter | None,
) -> tuple[str | None, str]:
    """Commit `rels` on HEAD; the new commit (None if nothing changed) and HEAD's tree.

    `write_commit`: writes the commit object instead of libgit2 (e.g. `git commit-tree -S`
    for a signed commit); None to write it here with the identity from the environment.
    """
    found = _lstat_all(root, rels)  # a folder is left to git before pygit2 is even imported
    try:
        import pygit2
    except ImportError as e:
        raise Unsupported(f"pygit2 is not installed ({e})") from e
    with _lock:
        repo, repo_lock = _repository(root)
    with repo_lock:
        try:
            return _commit(repo, found, message, identity, write_commit)
        except (pygit2.GitError, OSError) as e:  # git will say what is wrong, if anything
            raise Unsupported(f"libgit2: {e}") from e


def _lstat_all(root: Path, rels: Sequence[str]) -> dict[str, os.stat_result | None]:
    """Each path's `lstat` (None when gone); Unsupported for a folder or a special file."""
    found: dict[str, os.stat_result | None] = {}
    for rel in rels:
        try:
            found[rel] = os.lstat(os.path.join(root, rel))
        except (FileNotFoundError, NotADirectoryError):
            found[rel] = None
        except OSError as e:
            raise Unsupported(f"cannot read {rel}: {e}") from e
    if any(st and stat.S_IFMT(st.st_mode) not in _FILE_KINDS for st in found.values()):
        raise Unsupported("a folder (or a special file) takes `git add`")
    return found


def _commit(
    repo: pygit2.Repository,
    found: dict[str, os.stat_result | None],
    message: str,
    identity: dict[str, str],
    write_commit: CommitWriter | None,
) -> tuple[str | None, str]:
    """`commit` with the paths' `lstat` taken, holding the repository object."""
    import pygit2

    if _hook(repo, "reference-transaction"):
        raise Unsupported("a reference-transaction hook: `git update-ref` runs it")
    changes, ignored = _work_tree_changes(repo, found)
    backoff = _Backoff()
    title = "mltrail: " + message.partition("\n")[0]
    while True:
        ref_name, ref, old = _head(repo)
        base = repo[old].peel(pygit2.Tree) if old is not None else None
        wanted = {
            rel: change
            for rel, change in changes.items()
            if rel not in ignored or (base is not None and _lookup(base, rel) is not None)
        }  # `git add` skips an ignored file, unless it is tracked
        tree = _rebuild(repo, base, wanted)
        if base is None and tree is None:
            return None, ""  # an unborn branch stays unborn: no index to sync
        if tree is None:
            tree = repo.TreeBuilder().write()  # every path is gone: the empty tree
        if base is not None and tree == base.id:
            return None, str(tree)
        if write_commit is not None:
            parent = str(old) if old is not None else None
            new = pygit2.Oid(hex=write_commit(str(tree), parent, message))
        else:
            author, committer = _signatures(identity)
            new = repo.create_commit(None, author, committer, message, tree, [old] if old else [])
        try:
            if ref is None:  # an unborn branch: create it, unless someone just did
                repo.create_reference_direct(ref_name, new, False, message=title)
            else:
                ref.set_target(new, title)  # fails if the ref moved since it was read
            return str(new), str(tree)
        except (pygit2.GitError, OSError, ValueError) as e:
            # the ref is locked by another writer, or it moved: read HEAD again
            if not _BUSY.search(str(e)) or not backoff.wait():
                raise Unsupported(f"cannot update {ref_name}: {e}") from e


def _signatures(identity: dict[str, str]) -> tuple[pygit2.Signature, pygit2.Signature]:
    import pygit2

    return (
        pygit2.Signature(identity["GIT_AUTHOR_NAME"], identity["GIT_AUTHOR_EMAIL"]),
        pygit2.Signature(identity["GIT_COMMITTER_NAME"], identity["GIT_COMMITTER_EMAIL"]),
    )


def _head(repo: pygit2.Repository) -> tuple[str, Any, Any]:
    """(the ref HEAD stands for, that ref or None when unborn, its commit or None)."""
    import pygit2

    head = repo.lookup_reference("HEAD")
    if head.type == pygit2.enums.ReferenceType.SYMBOLIC:
        name = str(head.target)
        try:
            ref = repo.lookup_reference(name)
        except KeyError:
            return name, None, None
        return name, ref, ref.target
    return "HEAD", head, head.target  # detached


def _hook(repo: pygit2.Repository, name: str) -> bool:
    """Whether the repository has an executable hook `name` (git would run it)."""
    try:
        hooks = Path(repo.workdir or repo.path, str(repo.config["core.hooksPath"]))
    except KeyError:
        hooks = _common_dir(repo.path) / "hooks"
    return os.access(hooks.expanduser() / name, os.X_OK)


@functools.lru_cache(maxsize=8)
def _common_dir(git_dir: str) -> Path:
    """The folder of a repository's hooks and config: a worktree's `commondir`, if any."""
    try:
        return Path(git_dir, Path(git_dir, "commondir").read_text().strip())
    except OSError:
        return Path(git_dir)


def _lookup(tree: pygit2.Tree, rel: str) -> Any:
    try:
        return tree[rel]
    except KeyError:
        return None


def _work_tree_changes(
    repo: pygit2.Repository, found: dict[str, os.stat_result | None]
) -> tuple[dict[str, Change], set[str]]:
    """Each path (with its `lstat`) as `git add -A` would stage it: a blob and mode, or None
    when gone; and which of them git ignores."""
    root = repo.workdir
    config = repo.config
    if not _flag(config, "core.filemode") or not _flag(config, "core.symlinks"):
        raise Unsupported("core.filemode or core.symlinks is false")
    changes: dict[str, Change] = {}
    ignored: set[str] = set()
    for rel, st in found.items():
        if st is None:
            changes[rel] = None
            continue
        if stat.S_ISLNK(st.st_mode):
            target = os.readlink(os.path.join(root, rel))
            changes[rel] = (repo.create_blob(os.fsencode(target)), _LINK)
        elif any(repo.get_attr(rel, name) is not None for name in _GIT_ONLY_ATTRIBUTES):
            raise Unsupported(f"{rel} has an attribute only git applies")
        else:
            mode = _EXEC if st.st_mode & stat.S_IXUSR else _BLOB
            changes[rel] = (repo.create_blob_fromworkdir(rel), mode)
        if repo.path_is_ignored(rel):
            ignored.add(rel)
    return changes, ignored


def _flag(config: pygit2.Config, key: str) -> bool:
    try:
        return bool(config.get_bool(key))
    except KeyError:
        return True


def _rebuild(repo: pygit2.Repository, tree: pygit2.Tree | None, changes: dict[str, Change]) -> Any:
    """The id of `tree` with `changes` (paths relative to it) applied; None if empty."""
    import pygit2

    builder = repo.TreeBuilder(tree) if tree is not None else repo.TreeBuilder()
    below: dict[str, dict[str, Change]] = {}
    for rel, change in changes.items():
        name, slash, rest = rel.partition("/")
        if slash:
            below.setdefault(name, {})[rest] = change
        elif change is None:
            if builder.get(name) is not None:
                builder.remove(name)
        else:
            builder.insert(name, change[0], change[1])
    for name, inner in below.items():
        entry = builder.get(name)
        if entry is not None and entry.filemode == _GITLINK:
            raise Unsupported(f"{name} is a submodule: git refuses paths inside it")
        sub = repo[entry.id] if entry is not None and entry.filemode == _TREE else None
        new = _rebuild(repo, sub.peel(pygit2.Tree) if sub is not None else None, inner)
        if new is not None:
            builder.insert(name, new, _TREE)
        elif sub is not None:
            builder.remove(name)
    return builder.write() if len(builder) else None


def update_index(root: Path, rels: Sequence[str], tree: str) -> bool:
    """Make the user's index hold `tree`'s entries for `rels` (as `git reset -q HEAD --`
    does, with the entries' file stat left for git to fill); False if git must do it.

    Holds git's `index.lock` throughout, so no git command changes the index meanwhile; an
    index only git can write (e.g. a split index), or one already locked, is left to git.
    """
    import pygit2

    if os.environ.get("GIT_INDEX_FILE"):
        return False
    with _lock:
        repo, repo_lock = _repository(root)
    if _hook(repo, "post-index-change"):  # `git reset` runs it
        return False
    index = Path(repo.path, "index")
    lock = index.with_name("index.lock")
    try:  # git's lock: the file that becomes the new index, created only if absent
        held = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
    except OSError:  # held by git (which waits for it and warns), or not writable
        return False
    try:
        with open(held, "wb") as into, open(index, "rb") as source:
            shutil.copyfileobj(source, into)
        with repo_lock:  # libgit2 rewrites the lock file (through index.lock.lock)
            _reset_entries(pygit2.Index(str(lock)), repo[tree].peel(pygit2.Tree), rels)
        os.replace(lock, index)
        return True
    except (OSError, pygit2.GitError, ValueError):  # e.g. no index yet, or a split index
        with contextlib.suppress(OSError):
            lock.unlink()
        return False


def _reset_entries(index: pygit2.Index, tree: pygit2.Tree, rels: Sequence[str]) -> None:
    import pygit2

    for rel in rels:
        entry = _lookup(tree, rel)
        for remove in (index.remove, index.remove_directory):
            with contextlib.suppress(OSError, pygit2.GitError, KeyError):
                remove(rel)
        if entry is not None and entry.filemode != _TREE:
            index.add(pygit2.IndexEntry(rel, entry.id, entry.filemode))
        elif entry is not None:
            raise ValueError(f"{rel} is a folder in the commit")  # git resets folders
    index.write()
