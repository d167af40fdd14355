"""Gather the projects of the site: those whose runs are in the store, and the
repository that holds the store. Nothing here renders.

Light, like the rest of gathering: project runs are grouped by the source they recorded
(repository URL or folder, and the project's folder inside it), and each project's
latest commit is looked for in the repository that holds the store (a store is hostile,
so nothing else is ever read: docs/SECURITY.md). The files themselves are read by
``gather.projectfiles`` only for a page about to be rendered.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mltrail import git
from mltrail.entities import Run
from mltrail.projects.runner import SUBDIR_TAG
from mltrail.projects.sweep import SWEEP_TAG
from mltrail.search_syntax import TAG

from ..confine import relative_folder
from .runtable import SiteRuns

SOURCE_TYPE = "mlflow.source.type"
SOURCE_NAME = "mlflow.source.name"
COMMIT = "mlflow.source.git.commit"
REPO_URL = "mlflow.source.git.repoURL"
BRANCH = "mlflow.source.git.branch"
ENTRY_POINT = "mlflow.project.entryPoint"
ENV_MANAGER = "mlflow.project.env"
PARENT = "mlflow.parentRunId"
#: The slug of the entry of the repository holding the store (project slugs end in
#: ``-<12 hex digits>``, so none can be this one).
STORE_REPO_SLUG = "repository"
_SLUG_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ProjectEntry:
    """A project of the site (or the repository holding the store, ``store_repo``)."""

    #: Its folder in the site (``projects/<slug>/``): a function of location and subdir.
    slug: str
    title: str
    #: The repository URL the runs recorded, else the folder (as text: never opened).
    location: str
    #: The project's folder inside its repository as recorded (``.``: the root).
    subdir: str
    repo_url: str | None
    #: Its runs (sweep parents too), newest first.
    runs: tuple[str, ...]
    #: Entry point name → its runs, newest first; names in order of first use.
    entry_points: tuple[tuple[str, tuple[str, ...]], ...]
    #: The commit its latest run recorded (for the store's repository: the one built).
    commit: str | None
    branch: str | None
    #: The folder to read at ``commit`` in the store's repository; None: not reachable.
    folder: str | None
    #: Why the files are not shown (None when ``folder`` is set).
    note: str | None
    store_repo: bool = False


@dataclass(frozen=True)
class ProjectsData:
    entries: tuple[ProjectEntry, ...] = ()
    #: The work tree root of the repository holding the store, None outside git.
    repo: Path | None = None
    #: Run id → the slug of its project.
    run_projects: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def _by_slug(self) -> dict[str, ProjectEntry]:
        return {e.slug: e for e in self.entries}

    def of_run(self, run_id: str) -> ProjectEntry | None:
        """The project run ``run_id`` belongs to, if any."""
        slug = self.run_projects.get(run_id)
        return self._by_slug[slug] if slug is not None else None


def is_project_run(run: Run) -> bool:
    """A run of a project's entry point (a sweep's parent is not one: it ran no code)."""
    tags = run.data.tags
    return (
        tags.get(SOURCE_TYPE) == "PROJECT" and bool(tags.get(SOURCE_NAME)) and SWEEP_TAG not in tags
    )


def _newest_first(run: Run) -> tuple[int, str]:
    return -run.info.start_time, run.info.run_id


def project_key(tags: Mapping[str, str]) -> tuple[str, str]:
    """(location, subdir) of a project run: the repository URL, else the folder or
    repository path the source name gives, and the project's folder inside it as
    recorded (``.`` for the root; any text: it is checked before use).

    Example:
        >>> project_key({SOURCE_NAME: "/src/repo/sub", SUBDIR_TAG: "sub"})
        ('/src/repo', 'sub')
        >>> project_key({SOURCE_NAME: "https://h/r#sub", REPO_URL: "https://h/r"})
        ('https://h/r', 'sub')
    """
    name = tags.get(SOURCE_NAME, "")
    base, hashed, fragment = name.partition("#")
    subdir = tags.get(SUBDIR_TAG) or (fragment.strip("/") if hashed else "") or "."
    url = tags.get(REPO_URL)
    if url:
        return url, subdir
    if hashed:
        return base, subdir
    # a folder run in place records the project's own folder: its repository is above it
    if subdir != "." and name.rstrip("/").endswith("/" + subdir.strip("/")):
        return name.rstrip("/")[: -len(subdir.strip("/")) - 1] or "/", subdir
    return name, subdir


def project_slug(title: str, location: str, subdir: str) -> str:
    """``<title as letters, digits and ->-<12 hex digits of location and subdir>``."""
    words = _SLUG_WORD.sub("-", title.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(f"{location}\0{subdir}".encode("utf-8", "surrogatepass"))
    return f"{words or 'project'}-{digest.hexdigest()[:12]}"


def _title(location: str, subdir: str) -> str:
    """The last name of the location (``repo.git`` → ``repo``), then the subdir; a folder
    run in place, whose location ends with its subdir already, is its subdir."""
    plain = location.replace("\\", "/").rstrip("/")
    if subdir != "." and (plain == subdir or plain.endswith("/" + subdir)):
        location = plain[: -len(subdir)].rstrip("/")  # the repository's own folder
        if not location:
            return subdir
    tail = re.split(r"[/:\\]", location.rstrip("/\\"))[-1].removesuffix(".git") or location
    return tail if subdir == "." else f"{tail}/{subdir}"


def gather_projects(runs: SiteRuns, history_root: Path, rev: str) -> ProjectsData:
    """The projects of ``runs`` and the entry of the repository holding ``history_root``
    (at ``rev``); each project's files reachable or not in that repository."""
    root = git.find_repo_root(history_root)
    groups: dict[tuple[str, str], list[Run]] = {}
    sourced = (runs[rid] for rid in runs.where(TAG, SOURCE_TYPE, "PROJECT"))
    for run in sorted(filter(is_project_run, sourced), key=_newest_first):
        groups.setdefault(project_key(run.data.tags), []).append(run)
    entries = [_entry(key, group, runs, root) for key, group in sorted(groups.items())]
    store_repo = _store_repo(root, rev)
    if store_repo is not None:
        entries.insert(0, store_repo)
    owners = {rid: e.slug for e in entries for rid in e.runs}
    return ProjectsData(tuple(entries), root, owners)


def _entry(
    key: tuple[str, str], group: list[Run], runs: Mapping[str, Run], repo: Path | None
) -> ProjectEntry:
    location, subdir = key
    title = _title(location, subdir)
    members = {r.info.run_id: r for r in group}
    for run in group:  # the sweep a run belongs to belongs to its project too
        parent = runs.get(run.data.tags.get(PARENT, ""))
        if parent is not None and SWEEP_TAG in parent.data.tags:
            members.setdefault(parent.info.run_id, parent)
    ordered = sorted(members.values(), key=_newest_first)
    by_entry: dict[str, list[str]] = {}
    for run in ordered:
        by_entry.setdefault(run.data.tags.get(ENTRY_POINT) or "main", []).append(run.info.run_id)
    latest = group[0].data.tags  # newest first; sweep parents record no source
    commit = (latest.get(COMMIT) or "").strip().lower() or None
    folder, note = _reachable(repo, commit, subdir)
    return ProjectEntry(
        slug=project_slug(title, location, subdir),
        title=title,
        location=location,
        subdir=subdir,
        repo_url=latest.get(REPO_URL),
        runs=tuple(r.info.run_id for r in ordered),
        entry_points=tuple((name, tuple(ids)) for name, ids in by_entry.items()),
        commit=commit,
        branch=latest.get(BRANCH),
        folder=folder,
        note=note,
    )


def _reachable(repo: Path | None, commit: str | None, subdir: str) -> tuple[str | None, str | None]:
    """(the folder to read, None) when ``commit`` has the project's folder in ``repo``;
    else (None, why not)."""
    if repo is None:
        return None, "The store is not in a git repository, so the project's files are not shown."
    if not commit:
        return None, "Its latest run recorded no git commit, so the project's files are not shown."
    folder = relative_folder(subdir)
    if folder is None:
        return None, (
            f"Its runs recorded a project folder ({subdir!r}) that is not a folder inside "
            "a repository, so the project's files are not shown."
        )
    if not git.has_commit(repo, commit):
        return None, (
            f"Commit {commit[:12]} is not in the repository that holds this store, so the "
            "project's files are not shown."
        )
    if git.tree_entries(repo, commit, folder) is None:
        return None, f"The folder {folder!r} does not exist at commit {commit[:12]}."
    return folder, None


def _store_repo(root: Path | None, rev: str) -> ProjectEntry | None:
    """The repository holding the store, at the commit built; None outside git or
    before its first commit."""
    commit = git.resolve_commit(root, rev) if root is not None else None
    if root is None or commit is None:
        return None
    return ProjectEntry(
        slug=STORE_REPO_SLUG,
        title=root.name or "repository",
        location=str(root),
        subdir=".",
        repo_url=None,
        runs=(),
        entry_points=(),
        commit=commit,
        branch=None,
        folder=".",
        note=None,
        store_repo=True,
    )
