"""Read one project's files from git, only for a project page about to be rendered.

Everything comes from the objects of the repository that holds the store, at the
project's commit, inside its folder: the README, the ``*.md`` files of the docs
folders (``projects.docs`` in the site config), the MLproject and the environment file
it names. A store is hostile (docs/SECURITY.md): folders are read one tree at a time
(no ``..``, no path a run recorded is opened on disk), links are never followed, a file
over :data:`MAX_FILE_BYTES` is shown as too large and costs only itself, at most
:data:`MAX_DOCS` docs are read, and a bad MLproject is an error of its own page.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from pathlib import Path

from mltrail import git
from mltrail.projects.spec import (
    DEFAULT_ENV_FILES,
    DOCKER_ENV,
    MAX_FILE_BYTES,
    MLPROJECT,
    ProjectError,
    ProjectSpec,
    parse_mlproject,
)

from ..confine import join_folder, relative_folder

MAX_DOCS = 50
#: README names, in the order they are preferred (letter case does not matter).
README_NAMES = ("readme.md", "readme.markdown", "readme.txt", "readme.rst", "readme")
MARKDOWN_SUFFIXES = (".md", ".markdown")


@dataclass(frozen=True)
class ProjectFile:
    #: Its path relative to the project's folder (POSIX).
    path: str
    #: Its text (UTF-8, bad bytes replaced); None when larger than MAX_FILE_BYTES.
    text: str | None
    size: int | None

    @property
    def markdown(self) -> bool:
        return self.path.lower().endswith(MARKDOWN_SUFFIXES)


@dataclass(frozen=True)
class ProjectFiles:
    readme: ProjectFile | None
    docs: tuple[ProjectFile, ...]
    #: The MLproject as parsed; None without one (or when it is bad: see ``error``).
    spec: ProjectSpec | None
    error: str | None
    env_file: ProjectFile | None
    #: What was left out, and why (links, files over the cap, more docs than MAX_DOCS).
    notes: tuple[str, ...]


class _Reader:
    """Reads the files of one folder of ``repo`` at ``commit``, collecting notes."""

    def __init__(self, repo: Path, commit: str, folder: str) -> None:
        self.repo, self.commit, self.folder = repo, commit, folder
        self.notes: list[str] = []

    def entries(self, relative: str) -> list[git.TreeEntry]:
        found = git.tree_entries(self.repo, self.commit, join_folder(self.folder, relative))
        return found or []

    def file(self, relative: str, entry: git.TreeEntry) -> ProjectFile | None:
        """The file ``entry`` of folder ``relative``; None (with a note) if it is not a
        regular file."""
        path = join_folder(relative, entry.name)
        if not entry.is_file:
            what = "a symbolic link (links are not followed)" if entry.is_link else "not a file"
            self.notes.append(f"{path} is {what}: not shown.")
            return None
        data = git.read_blob(self.repo, entry.oid, MAX_FILE_BYTES)
        if data is None:
            self.notes.append(f"{path} is larger than {MAX_FILE_BYTES} bytes: not shown.")
            return ProjectFile(path, None, entry.size)
        return ProjectFile(path, data.decode("utf-8", "replace"), len(data))

    def lookup(self, relative: str) -> ProjectFile | None:
        """The file at ``relative`` (a path the MLproject names), None if it is not one."""
        path = relative_folder(relative)
        if path is None or path == ".":
            self.notes.append(f"{relative!r} is not a path inside the project: not shown.")
            return None
        parent, name = posixpath.split(path)
        entry = next((e for e in self.entries(parent or ".") if e.name == name), None)
        if entry is None:
            self.notes.append(f"{path} is not in the project at this commit.")
            return None
        return self.file(parent or ".", entry)


def read_project_files(
    repo: Path, commit: str, folder: str, docs_folders: tuple[str, ...]
) -> ProjectFiles:
    """The files of the project in ``folder`` of ``repo`` at ``commit`` (both checked by
    ``gather.projects``), its docs from ``docs_folders`` (relative to ``folder``)."""
    reader = _Reader(repo, commit, folder)
    top = reader.entries(".")
    readme_entry = _readme(top)
    readme = reader.file(".", readme_entry) if readme_entry is not None else None
    docs = _docs(reader, docs_folders, skip=readme.path if readme else None)
    spec, error = _mlproject(reader, top)
    return ProjectFiles(
        readme=readme,
        docs=docs,
        spec=spec,
        error=error,
        env_file=_env_file(reader, top, spec),
        notes=tuple(reader.notes),
    )


def _readme(entries: list[git.TreeEntry]) -> git.TreeEntry | None:
    by_name = {e.name.lower(): e for e in entries}
    return next((by_name[n] for n in README_NAMES if n in by_name), None)


def _docs(reader: _Reader, folders: tuple[str, ...], skip: str | None) -> tuple[ProjectFile, ...]:
    found: list[ProjectFile] = []
    left_out = 0
    for relative in folders:
        for entry in reader.entries(relative):
            if not entry.name.lower().endswith(".md"):
                continue
            if join_folder(relative, entry.name) == skip:
                continue
            if len(found) >= MAX_DOCS:
                left_out += 1
                continue
            doc = reader.file(relative, entry)
            if doc is not None:
                found.append(doc)
    if left_out:
        reader.notes.append(f"{left_out} more docs files: only the first {MAX_DOCS} are shown.")
    return tuple(found)


def _mlproject(
    reader: _Reader, entries: list[git.TreeEntry]
) -> tuple[ProjectSpec | None, str | None]:
    """The MLproject parsed, or (None, the error that page shows)."""
    entry = next((e for e in entries if e.name.lower() == MLPROJECT.lower()), None)
    if entry is None:
        return None, None
    if not entry.is_file:
        return None, f"{entry.name} is not a regular file (links are not followed)."
    data = git.read_blob(reader.repo, entry.oid, MAX_FILE_BYTES)
    if data is None:
        return None, f"{entry.name} is larger than {MAX_FILE_BYTES} bytes; is it the right file?"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, f"{entry.name} is not UTF-8 text ({e.reason} at byte {e.start})."
    try:
        return parse_mlproject(text, entry.name, aliases=False), None
    except ProjectError as e:
        return None, str(e)


def _env_file(
    reader: _Reader, entries: list[git.TreeEntry], spec: ProjectSpec | None
) -> ProjectFile | None:
    """The environment file the MLproject names, else a default one beside it."""
    if spec is not None and spec.env_key == DOCKER_ENV:
        return None
    if spec is not None and spec.env_file is not None:
        return reader.lookup(spec.env_file)
    names = {e.name: e for e in entries}
    for default in DEFAULT_ENV_FILES.values():
        if default in names:
            return reader.file(".", names[default])
    return None
