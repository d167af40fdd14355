"""Reading git objects: a commit's folders and files, straight from the object database.

For the site's project pages, which show files of the repository that holds a store as
of a commit a run recorded. The work tree is never looked at; a commit is checked to be
one (full hex id), a folder is read one tree at a time, and a file by its blob id with a
size cap, so a recorded path can never reach outside the repository's objects. Lazy
fetches of a partial clone are refused (``GIT_NO_LAZY_FETCH``, git 2.44 and later).
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mltrail.errors import GitError
from mltrail.git.run import _env, _run

#: A full commit or object id: SHA-1 (40 hex digits) or SHA-256 (64).
_OBJECT_ID = re.compile(r"[0-9a-f]{40}([0-9a-f]{24})?")
_NO_FETCH = {"GIT_NO_LAZY_FETCH": "1"}
#: Modes of a tree entry: a file, an executable file, a link, a folder, a submodule.
FILE_MODES = ("100644", "100755")
LINK_MODE = "120000"


@dataclass(frozen=True)
class TreeEntry:
    """One entry of a folder at a commit (``git ls-tree --long``)."""

    name: str
    mode: str
    kind: str  # "blob", "tree" or "commit" (a submodule)
    oid: str
    size: int | None  # bytes of a blob, None otherwise

    @property
    def is_file(self) -> bool:
        """A regular file (not a link, folder or submodule)."""
        return self.kind == "blob" and self.mode in FILE_MODES

    @property
    def is_link(self) -> bool:
        return self.mode == LINK_MODE


def is_object_id(text: str) -> bool:
    """Whether ``text`` is a full lower-case object id (SHA-1 or SHA-256).

    Example:
        >>> is_object_id("a" * 40), is_object_id("HEAD"), is_object_id("a" * 39)
        (True, False, False)
    """
    return bool(_OBJECT_ID.fullmatch(text))


def has_commit(repo: Path, commit: str) -> bool:
    """Whether ``commit`` (a full object id, else False) is a commit of ``repo``."""
    if not is_object_id(commit):
        return False
    proc = _run(repo, ["cat-file", "-e", f"{commit}^{{commit}}"], env=_env(_NO_FETCH))
    return proc.returncode == 0


def resolve_commit(repo: Path, rev: str) -> str | None:
    """The commit ``rev`` names in ``repo`` (full id), None when it names none."""
    if rev.startswith("-"):
        return None
    args = ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"]
    sha = _run(repo, args, env=_env(_NO_FETCH)).stdout.strip()
    return sha if is_object_id(sha) else None


def tree_entries(repo: Path, commit: str, folder: str) -> list[TreeEntry] | None:
    """The entries of ``folder`` (POSIX, relative to the root; ``"."`` for the root) at
    ``commit`` (a full id), sorted by name; None when it is not a folder there.

    Entry names that could not be one path segment (empty, ``.``, ``..``, holding ``/``)
    are left out. GitError if git fails otherwise.
    """
    if not is_object_id(commit):
        return None
    spec = f"{commit}^{{tree}}" if folder == "." else f"{commit}:{folder}"
    if _run(repo, ["cat-file", "-t", spec], env=_env(_NO_FETCH)).stdout.strip() != "tree":
        return None
    proc = _run(repo, ["ls-tree", "-z", "--long", spec], env=_env(_NO_FETCH))
    if proc.returncode != 0:
        raise GitError(f"`git ls-tree {spec}` failed in {repo}: {proc.stderr.strip()}")
    entries = []
    for record in proc.stdout.split("\0"):
        info, tab, name = record.partition("\t")
        fields = info.split()
        if not tab or len(fields) != 4 or name in ("", ".", "..") or "/" in name:
            continue
        mode, kind, oid, size = fields
        entries.append(TreeEntry(name, mode, kind, oid, int(size) if size.isdigit() else None))
    return sorted(entries, key=lambda e: e.name)


def read_blob(repo: Path, oid: str, max_bytes: int) -> bytes | None:
    """The bytes of blob ``oid``, or None when it holds more than ``max_bytes``."""
    if not is_object_id(oid):
        raise GitError(f"{oid!r} is not an object id")
    args = ["git", "-C", str(repo), "cat-file", "blob", oid]
    quiet = subprocess.DEVNULL
    try:
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=quiet,
                                env=_env(_NO_FETCH))  # fmt: skip
    except OSError as e:
        raise GitError(f"cannot run git ({e}); install git and make sure it is on PATH") from e
    with proc:
        assert proc.stdout is not None and proc.stderr is not None
        data = proc.stdout.read(max_bytes + 1)
        if len(data) > max_bytes:
            proc.kill()
            return None
        err = proc.stderr.read().decode("utf-8", "replace").strip()
    if proc.wait() != 0:
        raise GitError(f"`git cat-file blob {oid}` failed in {repo}: {err or proc.returncode}")
    return data
