"""Where a project's code comes from: a local folder, or a git repository at a version.

``fetch(uri, version)`` gives the folder to run in and what the run records of it. A
local folder without ``version`` runs in place, as ``mlflow run`` does. A git URI
(``https://``, ``ssh://``, ``git://``, ``git@host:path``, a ``file://`` repository) or a
local repository with ``version`` is cloned into a temporary folder, never into the
user's work tree, and checked out at the commit, tag or branch. ``#subdir`` names a
project inside the repository; it may not leave it.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from mltrail.projects.spec import ProjectError

_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")
_GIT_SCHEMES = ("http", "https", "ssh", "git", "git+ssh", "git+https")


@dataclass
class Checkout:
    """A project's folder and what a run records of its source."""

    directory: Path
    source_name: str
    commit: str | None
    branch: str | None
    repo_url: str | None
    dirty: bool
    diff: str
    temporary: Path | None = None
    #: The project's folder relative to its repository's root ("." for the root), when in git.
    subdir: str | None = None

    def cleanup(self) -> None:
        """Remove the temporary clone, if any."""
        if self.temporary is not None:
            shutil.rmtree(self.temporary, ignore_errors=True)
            self.temporary = None


def split_uri(uri: str) -> tuple[str, str]:
    """(repository or folder, sub-folder) of ``uri#subdir``."""
    base, _, subdir = uri.partition("#")
    return base, subdir.strip("/")


def is_git_uri(uri: str) -> bool:
    """A URI naming a remote repository (local folders and ``file://`` are checked on disk)."""
    return bool(_SCP_LIKE.match(uri)) or urlsplit(uri).scheme in _GIT_SCHEMES


def fetch(uri: str, version: str | None = None, cwd: Path | None = None) -> Checkout:
    """The project at ``uri`` (``#subdir`` allowed) checked out at ``version``."""
    base, subdir = split_uri(uri)
    if not base:
        raise ProjectError(f"Project URI {uri!r} names no folder or repository.")
    if is_git_uri(base):
        return _clone(base, subdir, version, source=base)
    parts = urlsplit(base)
    local = Path(parts.path) if parts.scheme == "file" else Path(base).expanduser()
    local = local if local.is_absolute() else (cwd or Path.cwd()) / local
    if not local.is_dir():
        raise ProjectError(f"No project at {base!r}: {local} is not a folder or git URI.")
    local = local.resolve()
    if version is not None:
        return _clone(str(local), subdir, version, source=str(local))
    return _in_place(local, subdir)


def _in_place(folder: Path, subdir: str) -> Checkout:
    from mltrail import git

    directory = _subdir(folder, subdir)
    info = git.source_info(directory)
    source = str(directory)
    root = git.find_repo_root(directory) if info is not None else None
    rel = directory.resolve().relative_to(root.resolve()).as_posix() if root is not None else None
    if info is not None and info.remote_url:
        source = info.remote_url + (f"#{rel}" if rel and rel != "." else "")
    return Checkout(
        directory,
        source,
        info.commit if info else None,
        info.branch if info else None,
        info.remote_url if info else None,
        info.dirty if info else False,
        info.diff if info and info.dirty else "",
        subdir=rel,
    )


def _subdir(root: Path, subdir: str) -> Path:
    if not subdir:
        return root
    directory = (root / subdir).resolve()
    if not directory.is_relative_to(root.resolve()):
        raise ProjectError(f"#{subdir} is outside the repository.")
    if not directory.is_dir():
        raise ProjectError(f"#{subdir}: there is no such folder in {root}.")
    return directory


def _clone(repo: str, subdir: str, version: str | None, source: str) -> Checkout:
    if version is not None and (version.startswith("-") or not version.strip()):
        raise ProjectError(f"--version {version!r} is not a commit, tag or branch name.")
    temporary = Path(tempfile.mkdtemp(prefix="mltrail-project-"))
    work = temporary / "checkout"
    try:
        _git(["clone", "--quiet", "--", repo, str(work)], None, f"could not clone {repo}")
        branch = None
        if version is not None:
            remote_branch = f"refs/remotes/origin/{version}"
            if _git(["rev-parse", "--verify", "--quiet", remote_branch], work, None, check=False):
                branch = version
            _git(
                ["-c", "advice.detachedHead=false", "checkout", "--quiet", version, "--"],
                work,
                f"{repo} has no commit, branch or tag {version!r}",
            )
        commit = _git(["rev-parse", "HEAD"], work, "the clone has no commit").strip()
        directory = _subdir(work, subdir)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    name = source + (f"#{subdir}" if subdir else "")
    url = repo if is_git_uri(repo) else None
    return Checkout(directory, name, commit, branch, url, False, "", temporary, subdir or ".")


def _git(args: list[str], repo: Path | None, failure: str | None, check: bool = True) -> str:
    command = ["git", *(["-C", str(repo)] if repo is not None else []), *args]
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    try:
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    except FileNotFoundError:
        raise ProjectError("git is not installed; it is needed to fetch a project.") from None
    except subprocess.TimeoutExpired:
        raise ProjectError(f"{failure or 'git'}: git took more than 10 minutes.") from None
    if proc.returncode != 0:
        if not check:
            return ""
        detail = (proc.stderr.strip().splitlines() or [""])[-1]
        raise ProjectError(f"{failure}: {detail}" if detail else str(failure))
    return proc.stdout


@contextlib.contextmanager
def checked_out(
    uri: str, version: str | None = None, cwd: Path | None = None
) -> Iterator[Checkout]:
    """``fetch`` as a context manager that removes a temporary clone afterwards."""
    checkout = fetch(uri, version, cwd)
    try:
        yield checkout
    finally:
        checkout.cleanup()
