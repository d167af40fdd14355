"""A project's page (``projects/<slug>/index.html``): its README and docs, its entry points
(parameters, command), its environment file and the runs of each entry point.

Its files are read from git (``gather.projectfiles``) at the commit of its latest run,
only when the page is about to be rendered: the inputs' digest holds that commit, the
docs folders of the config and the signature of each run, so a page is rendered again
only when one of them changed. A project whose files cannot be read shows what its
runs recorded, with a note saying why.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from markupsafe import Markup

from mltrail.entities import Run
from mltrail.projects.spec import DEFAULT_ENV_FILES, DOCKER_ENV, Parameter, ProjectSpec
from mltrail.projects.sweep import SWEEP_TAG

from .. import urls
from ..gather.projectfiles import ProjectFile, ProjectFiles, read_project_files
from ..gather.projects import ENV_MANAGER, PARENT, ProjectEntry
from ..output.files import PageWriter
from ..theme.filters import commit_url, highlight
from ..theme.markdown import render_markdown
from ..theme.render import render
from .base import HIGHLIGHT_CSS, Build, Job, PageContext, PageKind, digest, doc, make_page
from .parts import ProjectLink, RunLink, project_link, run_link

#: Runs listed per entry point (newest first); the page gives the count of the others.
MAX_LISTED_RUNS = 20
#: Distinct values shown per parameter of the runs.
MAX_GIVEN_VALUES = 5


@dataclass(frozen=True)
class DocView:
    path: str = doc("the file's path in the project's folder")
    anchor: str = doc("id of its section on the page")
    html: Markup | None = doc(
        "its content: Markdown rendered and sanitized, else escaped text; None when too large"
    )
    size: int | None = doc("bytes")


@dataclass(frozen=True)
class ParameterView:
    name: str = doc("parameter name")
    type: str | None = doc(
        "string, float, int, path or uri; None when the MLproject does not declare it"
    )
    default: str | None = doc("default value, None when required or not declared")
    declared: bool = doc("whether the MLproject declares it")
    given: tuple[str, ...] = doc(
        "distinct values the listed runs were given, newest first (at most 5)"
    )
    more_given: int = doc("how many other distinct values were given")


@dataclass(frozen=True)
class ProjectRunRow:
    link: RunLink = doc("the run")
    start: int = doc("start time (ms)")
    commit: str | None = doc("the commit it recorded (full), or None")
    sweep_size: str | None = doc("for a sweep's parent: its number of runs, else None")
    parent: RunLink | None = doc("the sweep (or other run) it ran in, or None")
    params: tuple[tuple[str, str], ...] = doc("its params as (key, value), sorted")


@dataclass(frozen=True)
class EntryPointView:
    name: str = doc("entry point name")
    anchor: str = doc("id of its section (run pages link to it)")
    declared: bool = doc("whether the MLproject declares it (else: what the runs recorded)")
    command: str | None = doc("its command template, None when not declared")
    parameters: tuple[ParameterView, ...] = doc(
        "declared parameters, then others the runs were given"
    )
    env_managers: tuple[str, ...] = doc("environment managers its runs used")
    runs: tuple[ProjectRunRow, ...] = doc("its newest runs (at most 20)")
    run_count: int = doc("how many runs it has")


@dataclass(frozen=True)
class ProjectView:
    link: ProjectLink = doc("name and page")
    store_repo: bool = doc("True for the repository that holds the store itself")
    location: str = doc("the repository URL or folder the runs recorded (text, never a link)")
    subdir: str = doc("the project's folder inside its repository (. for the root)")
    commit: str | None = doc("the commit its files are shown at (its latest run's), or None")
    commit_url: str | None = doc("that commit on GitHub, GitLab or Bitbucket, or None")
    branch: str | None = doc("the branch its latest run recorded, or None")
    note: str | None = doc("why its files are not shown, None when they are")
    name: str | None = doc("the name its MLproject gives, or None")
    environment: str | None = doc(
        "its environment: python_env, conda_env or docker_env (image), or None"
    )
    env_file: DocView | None = doc("its environment file, highlighted, or None")
    readme: DocView | None = doc("its README, or None")
    docs: tuple[DocView, ...] = doc("the Markdown files of its docs folders, by path")
    error: str | None = doc("why its MLproject could not be read, or None")
    notes: tuple[str, ...] = doc("files left out and why (links, too large, too many)")
    entry_points: tuple[EntryPointView, ...] = doc(
        "declared entry points, then others its runs used"
    )


@dataclass(frozen=True)
class ProjectPage(PageContext):
    project: ProjectView = doc("the project")
    highlight_css: str = doc("stylesheet of the syntax highlighting")


def context(b: Build, entry: ProjectEntry, files: ProjectFiles | None) -> ProjectPage:
    spec = files.spec if files else None
    docs = [f for f in ((files.readme,) if files else ()) if f is not None]
    docs += list(files.docs) if files else []
    anchors = {d.path: f"doc-{i}" for i, d in enumerate(docs)}
    if files and files.readme:
        anchors[files.readme.path] = "readme"
    views = [_doc_view(d, anchors) for d in docs]
    readme = views.pop(0) if files and files.readme else None
    view = ProjectView(
        link=project_link(entry),
        store_repo=entry.store_repo,
        location=entry.location,
        subdir=entry.subdir,
        commit=entry.commit,
        commit_url=commit_url(entry.repo_url, entry.commit),
        branch=entry.branch,
        note=entry.note,
        name=spec.name if spec else None,
        environment=_environment(spec, files),
        env_file=_env_view(files.env_file) if files and files.env_file else None,
        readme=readme,
        docs=tuple(views),
        error=files.error if files else None,
        notes=files.notes if files else (),
        entry_points=_entry_points(b, entry, spec),
    )
    page = urls.project_page(entry.slug)
    return make_page(
        ProjectPage,
        b.info,
        KIND.name,
        page,
        entry.title,
        project=view,
        highlight_css=urls.href(HIGHLIGHT_CSS),
    )


def _doc_view(file: ProjectFile, anchors: dict[str, str]) -> DocView:
    html = None
    if file.text is not None and file.markdown:
        html = render_markdown(file.text, top_heading=3, links=_doc_links(file.path, anchors))
    elif file.text is not None:
        html = highlight(file.text, "text")
    return DocView(file.path, anchors[file.path], html, file.size)


def _doc_links(path: str, anchors: dict[str, str]) -> Callable[[str], str | None]:
    """Relative links of the doc at ``path``: to another doc shown here, its section;
    anything else is dropped (inert), since only these files are in the site."""
    folder = posixpath.dirname(path)

    def resolve(url: str) -> str | None:
        target = unquote(urlsplit(url).path)
        if not target:
            return None
        joined = posixpath.normpath(posixpath.join(folder, target))
        anchor = anchors.get(joined)
        return f"#{anchor}" if anchor else None

    return resolve


def _env_view(file: ProjectFile) -> DocView:
    html = highlight(file.text, "yaml") if file.text is not None else None
    return DocView(file.path, "environment", html, file.size)


def _environment(spec: ProjectSpec | None, files: ProjectFiles | None) -> str | None:
    if spec is not None and spec.env_key == DOCKER_ENV and spec.docker_env is not None:
        return f"docker_env (image {spec.docker_env.get('image')})"
    if spec is not None and spec.env_key is not None:
        return spec.env_key
    env = files.env_file if files else None
    defaults = {name: key for key, name in DEFAULT_ENV_FILES.items()}
    return defaults.get(env.path) if env is not None else None


def _entry_points(
    b: Build, entry: ProjectEntry, spec: ProjectSpec | None
) -> tuple[EntryPointView, ...]:
    seen = dict(entry.entry_points)
    declared = spec.entry_points if spec else {}
    names = [*declared, *(n for n in seen if n not in declared)]
    views = []
    for name in names:
        ids = seen.get(name, ())
        ep_runs = [b.site.runs[r] for r in ids]
        ep = declared.get(name)
        views.append(
            EntryPointView(
                name=name,
                anchor=urls.entry_point_anchor(name),
                declared=ep is not None,
                command=ep.command if ep else None,
                parameters=_parameters(ep.parameters if ep else {}, ep_runs),
                env_managers=_env_managers(ep_runs),
                runs=tuple(_run_row(b, r) for r in ep_runs[:MAX_LISTED_RUNS]),
                run_count=len(ep_runs),
            )
        )
    return tuple(views)


def _env_managers(runs: list[Run]) -> tuple[str, ...]:
    return tuple(sorted({r.data.tags[ENV_MANAGER] for r in runs if r.data.tags.get(ENV_MANAGER)}))


def _parameters(declared: dict[str, Parameter], runs: list[Run]) -> tuple[ParameterView, ...]:
    given: dict[str, list[str]] = {}
    for run in runs:
        for key, value in sorted(run.data.params.items()):
            values = given.setdefault(key, [])
            if value not in values:
                values.append(value)
    views = []
    for name in [*declared, *(k for k in sorted(given) if k not in declared)]:
        p = declared.get(name)
        values = given.get(name, [])
        views.append(
            ParameterView(
                name=name,
                type=p.type if p else None,
                default=p.default if p else None,
                declared=p is not None,
                given=tuple(values[:MAX_GIVEN_VALUES]),
                more_given=max(0, len(values) - MAX_GIVEN_VALUES),
            )
        )
    return tuple(views)


def _run_row(b: Build, run: Run) -> ProjectRunRow:
    tags = run.data.tags
    parent = b.site.runs.get(tags.get(PARENT, ""))
    return ProjectRunRow(
        link=run_link(run),
        start=run.info.start_time,
        commit=tags.get("mlflow.source.git.commit"),
        sweep_size=tags.get(SWEEP_TAG),
        parent=run_link(parent) if parent is not None else None,
        params=tuple(sorted(run.data.params.items())),
    )


def inputs_digest(b: Build, entry: ProjectEntry) -> str:
    """The entry (location, commit, reachability), the docs folders of the config (in
    ``b.digest``), and each run's signature with its parent's."""
    site = b.site
    parents = {site.runs[r].data.tags.get(PARENT, "") for r in entry.runs}
    return digest(
        b.digest,
        [entry.slug, entry.title, entry.location, entry.subdir, entry.repo_url],
        [entry.commit, entry.branch, entry.folder, entry.note, entry.store_repo],
        [[r, site.signatures[r]] for r in entry.runs],
        sorted([p, site.signatures[p]] for p in parents if p in site.runs),
    )


def plan(b: Build) -> Iterable[Job[ProjectEntry]]:
    for entry in b.site.projects.entries:
        yield Job(f"page:project:{entry.slug}", inputs_digest(b, entry), entry)


def write(b: Build, job: Job[ProjectEntry], writer: PageWriter) -> None:
    entry = job.subject
    repo = b.site.projects.repo
    files = None
    if repo is not None and entry.folder is not None and entry.commit is not None:
        files = read_project_files(repo, entry.commit, entry.folder, b.config.projects.docs)
    page = render(b.env, KIND.candidates(entry.slug), context(b, entry, files))
    writer.write(urls.project_page(entry.slug), page)


KIND = PageKind(
    name="project", context=ProjectPage, template="project.html", plan=plan, write=write
)
