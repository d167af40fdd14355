"""The Projects index (``projects/index.html``): the repository holding the store, then
every project whose runs are in it; only when there is one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import urls
from ..gather.projects import ProjectEntry
from ..output.files import PageWriter
from ..theme.render import render
from .base import Build, Job, PageContext, PageKind, doc, make_page
from .parts import ProjectLink, project_link


@dataclass(frozen=True)
class ProjectSummary:
    link: ProjectLink = doc("name and page")
    store_repo: bool = doc("True for the repository that holds the store itself")
    location: str = doc("the repository URL or folder its runs recorded (text)")
    commit: str | None = doc("the commit its files are shown at, or None")
    entry_points: tuple[str, ...] = doc("entry points its runs used")
    run_count: int = doc("how many runs it has")
    last_run: int | None = doc("start time of its latest run (ms), None without runs")
    note: str | None = doc("why its files are not shown, None when they are")


@dataclass(frozen=True)
class ProjectsPage(PageContext):
    projects: tuple[ProjectSummary, ...] = doc(
        "the store's repository first (when in git), then the projects by location"
    )


def summary(b: Build, entry: ProjectEntry) -> ProjectSummary:
    runs = b.site.runs
    return ProjectSummary(
        link=project_link(entry),
        store_repo=entry.store_repo,
        location=entry.location,
        commit=entry.commit,
        entry_points=tuple(name for name, _ in entry.entry_points),
        run_count=len(entry.runs),
        last_run=runs[entry.runs[0]].info.start_time if entry.runs else None,
        note=entry.note,
    )


def context(b: Build) -> ProjectsPage:
    return make_page(
        ProjectsPage,
        b.info,
        KIND.name,
        urls.PROJECTS,
        "Projects",
        projects=tuple(summary(b, e) for e in b.site.projects.entries),
    )


def plan(b: Build) -> Iterable[Job[None]]:
    """Cheap, so always rendered (then compared); none without projects."""
    return [Job("page:projects", "", None)] if b.site.projects.entries else []


def write(b: Build, job: Job[None], writer: PageWriter) -> None:
    writer.write(urls.PROJECTS, render(b.env, KIND.candidates(), context(b)))


KIND = PageKind(
    name="projects", context=ProjectsPage, template="projects.html", plan=plan, write=write
)
