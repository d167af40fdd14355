"""The run page: params, metrics (charts from ``data.js``), tags, source, artifacts with
previews, models logged in the run and versions registered from it.

A run page is rendered again only when its run's folder signature (or what it shows of
other runs and of the registry) changed. Many stale run pages are spread over a process
pool (each worker builds its own Jinja environment and store object once); a few are
rendered in this process. A failure in any page fails the build.
"""

from __future__ import annotations

import hashlib
import itertools
import multiprocessing
import operator
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup

from mltrail.entities import Run
from mltrail.errors import MltrailError
from mltrail.search_syntax import ATTRIBUTE, TAG
from mltrail.store import FileStore
from mltrail.store.logged_models import LinkedPoint

from .. import urls
from ..errors import SiteBuildError
from ..gather.inputs import LoggedRecord, dataset_slug
from ..gather.projects import ENTRY_POINT
from ..gather.registry import RegistryData, logged_models
from ..gather.run import ArtifactNode, MetricHistory, RunDetail, find_node, gather_run
from ..gather.site import PARENT_TAG, SiteData, user_tags
from ..output import datafiles
from ..output.files import PageResult, PageWriter
from ..theme.filters import commit_url, highlight
from ..theme.loader import Theme
from ..theme.markdown import render_markdown
from ..theme.render import environment, render
from .base import (
    HIGHLIGHT_CSS,
    Build,
    Job,
    Jobs,
    PageContext,
    PageKind,
    Progress,
    SiteInfo,
    doc,
    make_page,
)
from .dataset import DatasetView, run_datasets
from .evaluation import EvaluationView, evaluations
from .modelparts import VersionLink, version_link
from .parts import (
    ExperimentLink,
    ProjectLink,
    RunLink,
    experiment_link,
    project_link,
    run_link,
)

#: Below this many stale run pages, a pool costs more than it saves.
POOL_THRESHOLD = 150
MAX_WORKERS = 8


@dataclass(frozen=True)
class RunView:
    link: RunLink = doc("id, name, page and status")
    experiment: ExperimentLink = doc("its experiment")
    start: int = doc("start time (ms)")
    end: int | None = doc("end time (ms), None while running")
    duration: int | None = doc("end - start (ms), None while running")
    user: str = doc("who ran it")
    description_html: Markup = doc("description, Markdown rendered and sanitized")


@dataclass(frozen=True)
class SourceView:
    script: str | None = doc("the script that ran (relative to its repository)")
    type: str | None = doc("source type (LOCAL, PROJECT ...)")
    host: str | None = doc("machine name")
    python: str | None = doc("Python version")
    platform: str | None = doc("OS platform string")
    commit: str | None = doc("git commit of the code, or None")
    commit_url: str | None = doc("web page of that commit on a known host, or None")
    branch: str | None = doc("git branch, or None")
    repo_url: str | None = doc("the code repository's remote URL, or None")
    dirty: bool | None = doc("whether tracked files had uncommitted changes")
    diff_html: Markup | None = doc("the uncommitted diff, highlighted, or None")


@dataclass(frozen=True)
class MetricRow:
    key: str = doc("metric key")
    latest: float = doc("value at the highest step")
    min: float = doc("smallest value (NaN ignored)")
    max: float = doc("largest value (NaN ignored)")
    count: int = doc("number of points")
    step: int = doc("the latest step")
    csv_url: str | None = doc(
        "full history as CSV (step,timestamp,value) when data.js holds only part of it; "
        "else None: the page makes the CSV from data.js"
    )


@dataclass(frozen=True)
class ArtifactView:
    name: str = doc("file or folder name")
    path: str = doc("path inside the run's artifacts")
    is_dir: bool = doc("True for a folder")
    size: int | None = doc("bytes (None for a folder)")
    url: str | None = doc("the copy in this site, None when its blob is not available")
    download_name: str = doc("file name for the download attribute")
    preview: str | None = doc("inline preview kind: image, markdown, text, csv, or None")
    preview_html: Markup | None = doc("rendered preview for markdown and text, or None")
    rows: tuple[tuple[str, ...], ...] = doc("csv preview: header and first rows")
    truncated: bool = doc("True when the preview shows only the start of the file")
    children: tuple[ArtifactView, ...] = doc("contents of a folder")
    remote_uri: str | None = doc(
        "the URL of its bytes in a remote artifact store when this site holds no copy, or None"
    )


@dataclass(frozen=True)
class LinkedMetricView:
    key: str = doc("metric key")
    value: float = doc("its latest value linked to the model (by step, then time)")
    step: int = doc("the step of that value")
    dataset: str | None = doc("the dataset it was measured on (name), or None")
    dataset_url: str | None = doc("that dataset's page, or None")
    run: RunLink | None = doc("the run that logged it, None for this run")


@dataclass(frozen=True)
class LoggedModelView:
    artifact_path: str = doc("the model's folder in the run's artifacts")
    flavors: tuple[str, ...] = doc("flavor names (python_function, sklearn ...)")
    created: str | None = doc("when it was logged (UTC text), or None")
    mlmodel_url: str | None = doc("the copy of its MLmodel file in this site, or None")
    versions: tuple[VersionLink, ...] = doc("registered versions made from it")
    model_id: str | None = doc("MLflow 3's logged model id (m-...), None for an older record")
    name: str | None = doc("the logged model's name, or None")
    model_type: str | None = doc("its model type as logged, or None")
    status: str | None = doc("READY, PENDING or FAILED; None for an older record")
    metrics: tuple[LinkedMetricView, ...] = doc("metrics linked to it, by key, run, dataset")


@dataclass(frozen=True)
class RunProjectView:
    link: ProjectLink = doc("the project's name and page")
    entry_point: str = doc("the entry point the run ran")
    entry_point_url: str = doc("its section on the project page")


@dataclass(frozen=True)
class RunPage(PageContext):
    run: RunView = doc("the run")
    source: SourceView = doc("where the run came from")
    params: tuple[tuple[str, str], ...] = doc("params as (key, value), sorted")
    metrics: tuple[MetricRow, ...] = doc("one row per metric, sorted by key")
    tags: tuple[tuple[str, str], ...] = doc("user tags as (key, value), sorted")
    parent: RunLink | None = doc("the parent run, or None")
    children: tuple[RunLink, ...] = doc("child runs, oldest first")
    artifacts: tuple[ArtifactView, ...] = doc("the artifact tree")
    data_script: str = doc("data.js: the run's downsampled series, relative to the page")
    scripts_bundle: str = doc(
        "one file holding the site's scripts a run page uses (not those only the experiment"
        " and compare pages need; mltrail.js first), then vega, vega-lite, vega-embed and"
        " the chart specs"
    )
    highlight_css: str | None = doc(
        "stylesheet of the syntax highlighting, None when the page highlights nothing"
    )
    logged_models: tuple[LoggedModelView, ...] = doc("models logged in the run, in order")
    model_versions: tuple[VersionLink, ...] = doc("registered versions whose source is the run")
    project: RunProjectView | None = doc("the project whose entry point it ran, or None")
    datasets: tuple[DatasetView, ...] = doc("datasets the run used, in logged order")
    used_models: tuple[str, ...] = doc("ids of logged models the run used, sorted")
    evaluations: tuple[EvaluationView, ...] = doc("what evaluate logged, one per metric prefix")


# -- the context ---------------------------------------------------------------------


def context(detail: RunDetail, site: SiteData, info: SiteInfo) -> RunPage:
    run = detail.run
    rid = run.info.run_id
    record = site.experiment(run.info.experiment_id)
    parent_id = run.data.tags.get("mlflow.parentRunId")
    return make_page(
        RunPage,
        info,
        KIND.name,
        urls.run_page(rid),
        run.info.run_name or rid,
        run=RunView(
            link=run_link(run),
            experiment=experiment_link(record.experiment),
            start=run.info.start_time,
            end=run.info.end_time,
            duration=None if run.info.end_time is None else run.info.end_time - run.info.start_time,
            user=run.info.user_id,
            description_html=render_markdown(detail.description, top_heading=3),
        ),
        source=_source_view(detail),
        params=tuple(sorted(run.data.params.items())),
        metrics=_metric_rows(run, detail),
        tags=tuple(sorted(user_tags(run).items())),
        parent=run_link(site.runs[parent_id]) if parent_id and parent_id in site.runs else None,
        children=tuple(run_link(site.runs[c]) for c in site.children.get(rid, ())),
        artifacts=tuple(_artifact_view(rid, n) for n in detail.artifacts),
        data_script=urls.href(urls.run_data(rid)).rpartition("/")[2],
        scripts_bundle=urls.href(urls.RUN_SCRIPTS),
        highlight_css=urls.href(HIGHLIGHT_CSS) if _highlights(detail) else None,
        logged_models=_logged_models(detail, site),
        model_versions=tuple(version_link(m, e) for m, e in site.registry.by_run(rid)),
        project=_project_view(run, site),
        datasets=run_datasets(detail.inputs.datasets),
        used_models=detail.inputs.models,
        evaluations=evaluations(run, detail.artifacts),
    )


def _highlights(detail: RunDetail) -> bool:
    """Whether the page shows highlighted text: the diff, or a text artifact's preview."""
    nodes = _files(detail.artifacts)
    return detail.diff is not None or any(n.preview and n.preview.kind == "text" for n in nodes)


def _project_view(run: Run, site: SiteData) -> RunProjectView | None:
    entry = site.projects.of_run(run.info.run_id)
    if entry is None:
        return None
    name = run.data.tags.get(ENTRY_POINT) or "main"
    page = urls.project_page(entry.slug)
    return RunProjectView(
        link=project_link(entry),
        entry_point=name,
        entry_point_url=urls.href(page) + "#" + urls.entry_point_anchor(name),
    )


def _source_view(detail: RunDetail) -> SourceView:
    src = detail.source
    return SourceView(
        script=src.name,
        type=src.type,
        host=src.host,
        python=src.python,
        platform=src.platform,
        commit=src.git_commit,
        commit_url=commit_url(src.git_repo_url, src.git_commit),
        branch=src.git_branch,
        repo_url=src.git_repo_url,
        dirty=src.git_dirty,
        diff_html=highlight(detail.diff, "diff") if detail.diff is not None else None,
    )


def _metric_rows(run: Run, detail: RunDetail) -> tuple[MetricRow, ...]:
    rid = run.info.run_id
    files = {h.key for h in detail.histories if _csv_file(h)}
    return tuple(
        MetricRow(
            key,
            s.latest,
            s.min,
            s.max,
            s.count,
            s.step,
            urls.href(urls.metric_csv(rid, key)) if key in files else None,
        )
        for key, s in sorted(run.data.metric_summaries.items())
    )


def _csv_file(history: MetricHistory) -> bool:
    """Whether a history gets a CSV file: only when ``data.js`` could not hold all of it
    (the page makes the others' CSV from ``data.js``: 100,000 runs x 5 metrics of 100
    points were half of a 4.6 GB site)."""
    return history.series.downsampled


def _artifact_view(run_id: str, node: ArtifactNode) -> ArtifactView:
    preview = node.preview
    html = None
    if preview is not None and preview.kind == "markdown":
        folder = node.path.rpartition("/")[0]
        base = urls.href(urls.artifact(run_id, folder + "/" if folder else ""))
        link_base = base.removeprefix(urls.run_dir(run_id) + "/")
        html = render_markdown(preview.text, link_base=link_base, top_heading=4)
    elif preview is not None and preview.kind == "text":
        html = highlight(preview.text, preview.lexer)
    available = node.is_dir or node.source is not None
    return ArtifactView(
        name=node.name,
        path=node.path,
        is_dir=node.is_dir,
        size=node.size,
        url=urls.href(urls.artifact(run_id, node.path)) if available else None,
        download_name=node.name,
        preview=preview.kind if preview else None,
        preview_html=html,
        rows=preview.rows if preview else (),
        truncated=preview.truncated if preview else False,
        children=tuple(_artifact_view(run_id, c) for c in node.children),
        remote_uri=node.remote_uri,
    )


def _logged_models(detail: RunDetail, site: SiteData) -> tuple[LoggedModelView, ...]:
    """The run's logged models: MLflow 3's records (by creation), merged by artifact path
    with the models its ``mlflow.log-model.history`` tag lists (older records, after)."""
    run = detail.run
    rid = run.info.run_id
    tagged = {m.artifact_path.strip("/"): m for m in logged_models(run.data.tags)}
    versions = site.registry.by_run(rid)

    def made_from(path: str, model_id: str | None = None) -> tuple[VersionLink, ...]:
        """Registered versions made from the model at ``path`` (or with ``model_id``)."""
        return tuple(
            version_link(m, e)
            for m, e in versions
            if (model_id is not None and e.version.model_id == model_id)
            or (e.lineage.artifact_path or "").strip("/") == path
        )

    found = []
    for logged in detail.logged_models:
        rec = logged.record
        path = str(rec["artifact_path"]).strip("/")
        older = tagged.pop(path, None)
        found.append(
            _model_view(
                detail,
                path,
                older.flavors if older else (),
                _utc_text(rec["creation_timestamp"]),
                made_from(path, rec["model_id"]),
                model_id=rec["model_id"],
                name=rec["name"],
                model_type=rec.get("model_type"),
                status=rec["status"],
                metrics=_linked_metrics(logged, site),
            )
        )
    for path, older in tagged.items():
        found.append(_model_view(detail, path, older.flavors, older.created, made_from(path)))
    return tuple(found)


def _model_view(
    detail: RunDetail,
    path: str,
    flavors: tuple[str, ...],
    created: str | None,
    versions: tuple[VersionLink, ...],
    **record: Any,
) -> LoggedModelView:
    rid = detail.run.info.run_id
    mlmodel = f"{path}/MLmodel" if path else "MLmodel"
    node = find_node(detail.artifacts, mlmodel)
    return LoggedModelView(
        artifact_path=path,
        flavors=flavors or _flavors_of(node),
        created=created,
        mlmodel_url=urls.href(urls.artifact(rid, mlmodel))
        if node is not None and node.source is not None
        else None,
        versions=versions,
        **{f: record.get(f) for f in ("model_id", "name", "model_type", "status")},
        metrics=record.get("metrics", ()),
    )


def _flavors_of(node: ArtifactNode | None) -> tuple[str, ...]:
    """Flavor names from the MLmodel preview (the tree keeps a preview of it), if any."""
    if node is None or node.preview is None:
        return ()
    try:
        data = yaml.safe_load(node.preview.text)
    except yaml.YAMLError:
        return ()
    flavors = data.get("flavors") if isinstance(data, dict) else None
    return tuple(sorted(map(str, flavors))) if isinstance(flavors, dict) else ()


def _utc_text(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")


def _linked_metrics(logged: LoggedRecord, site: SiteData) -> tuple[LinkedMetricView, ...]:
    """The latest linked value of each (key, run, dataset), sorted."""
    own = logged.record["source_run_id"]
    latest: dict[tuple[str, str, str, str], LinkedPoint] = {}
    for p in logged.links:
        slot = (p.key, p.run_id, p.dataset_name or "", p.dataset_digest or "")
        best = latest.get(slot)
        if best is None or (p.step, p.timestamp) >= (best.step, best.timestamp):
            latest[slot] = p
    views = []
    for (key, run_id, name, digest_), p in sorted(latest.items()):
        other = site.runs.get(run_id) if run_id != own else None
        views.append(
            LinkedMetricView(
                key=key,
                value=p.value,
                step=p.step,
                dataset=name or None,
                dataset_url=urls.href(urls.dataset_page(dataset_slug(digest_)))
                if digest_
                else None,
                run=run_link(other) if other is not None else None,
            )
        )
    return tuple(views)


# -- the plan: which run pages are stale -----------------------------------------------


def page_digests(b: Build, by_id: Sequence[tuple[str, int]]) -> list[str]:
    """The digests of the run pages' inputs, for the (run id, row) ``by_id``: plain
    joined text, from the run index's columns (the runs are not built).

    This runs for every run at every build, so it is made of calls on whole columns
    (``map`` over C functions): a Python call per run cost 0.2 s of a 100,000-run rebuild.
    """
    site = b.site
    runs = site.runs
    name_of = runs.getter(ATTRIBUTE, "run_name")
    status_of = runs.getter(ATTRIBUTE, "status")
    names = {r.experiment.experiment_id: r.experiment.name for r in site.experiments}
    children, registry = site.children, site.registry

    def link(rid: str) -> str:
        row = runs.row(rid)
        return f"{rid}\1{name_of(row)}\1{status_of(row)}"

    ids = [rid for rid, _ in by_id]
    rows = [row for _, row in by_id]
    # the experiment's name (runs of a merged experiment show the one they joined)
    experiments = map(names.__getitem__, map(runs.experiment_id, rows))
    # what a page shows of other runs and of the registry: made for the few that have any
    parent_of = runs.getter(TAG, PARENT_TAG)
    parents = {}
    for row in runs.rows.rows_with(TAG, PARENT_TAG):
        parent = parent_of(row)
        if parent and parent in runs:
            parents[row] = link(parent)
    shown = {rid: [link(c) for c in kids] for rid, kids in children.items()}
    for rid in registry.source_runs():
        shown.setdefault(rid, []).extend(_registry_inputs(registry, rid))
    for rid, project in site.projects.run_projects.items():
        shown.setdefault(rid, []).append(project)
    others = {rid: "\0".join(parts) for rid, parts in shown.items()}
    texts = map(
        "\0".join,
        zip(
            itertools.repeat(b.digest),
            ids,
            map(site.signatures.__getitem__, ids),
            experiments,
            map(parents.get, rows, itertools.repeat("")),
            map(others.get, ids, itertools.repeat("")),  # its children, versions, project
        ),
    )
    utf8, surrogates = itertools.repeat("utf-8"), itertools.repeat("surrogateescape")
    hashed = map(hashlib.sha256, map(str.encode, texts, utf8, surrogates))
    return list(map(operator.methodcaller("hexdigest"), hashed))


def _registry_inputs(registry: RegistryData, run_id: str) -> list[str]:
    """What a run page shows of the registry."""
    return [
        f"{m.slug}\1{e.page}\1{e.version.current_stage}\1{','.join(sorted(e.version.aliases))}"
        f"\1{e.lineage.artifact_path}"
        for m, e in registry.by_run(run_id)
    ]


def page_key(run_id: str) -> str:
    return f"page:run:{run_id}"


def plan(b: Build) -> Jobs[str]:
    by_id = list(b.site.runs.rows_by_id())
    ids = [rid for rid, _ in by_id]
    return Jobs(list(map(page_key, ids)), page_digests(b, by_id), ids)


# -- the writing: in this process, or in a pool --------------------------------------


def write(b: Build, job: Job[str], writer: PageWriter) -> None:
    _Renderer.of(b).write(job, writer)


@dataclass(frozen=True)
class RenderSetup:
    """Everything a (worker) process needs to render run pages; picklable."""

    store_root: Path
    artifact_store: Path
    #: The largest remote artifact copied into the site (None: none, no network).
    remote_copy_limit: int | None
    out: Path
    theme: Theme
    info: SiteInfo
    site: SiteData


def _setup(b: Build, out: Path) -> RenderSetup:
    limit = b.config.remote_artifacts.copy_limit
    return RenderSetup(b.store.root, b.artifact_store, limit, out, b.theme, b.info, b.site)


class _Renderer:
    def __init__(self, setup: RenderSetup, env: jinja2.Environment, store: FileStore) -> None:
        self.setup = setup
        self.env = env
        self.store = store

    @staticmethod
    def of(b: Build, out: Path = Path()) -> _Renderer:
        """The renderer of this process, using the build's environment and store."""
        setup = _setup(b, out)
        return _Renderer(setup, b.env, b.store)

    def render(self, job: Job[str]) -> PageResult:
        writer = PageWriter(self.setup.out, job.key, job.digest)
        self.write(job, writer)
        return writer.result()

    def write(self, job: Job[str], writer: PageWriter) -> None:
        try:
            self._write(job.subject, writer)
        except MltrailError:
            raise
        except OSError as e:
            raise SiteBuildError(f"Cannot build the page of run {job.subject}: {e}") from e

    def _write(self, rid: str, writer: PageWriter) -> None:
        setup = self.setup
        detail = gather_run(
            self.store, setup.site.runs[rid], setup.artifact_store, setup.remote_copy_limit
        )
        ctx = context(detail, setup.site, setup.info)
        writer.write(urls.run_page(rid), render(self.env, KIND.candidates(rid), ctx))
        writer.write(
            urls.run_data(rid), datafiles.data_script("runData", datafiles.run_payload(detail))
        )
        for history in detail.histories:
            if _csv_file(history):
                writer.write(urls.metric_csv(rid, history.key), datafiles.history_csv(history))
        for node in _files(detail.artifacts):
            if node.source is not None:
                writer.copy(urls.artifact(rid, node.path), node.source)


def _files(nodes: Sequence[ArtifactNode]) -> Iterator[ArtifactNode]:
    for node in nodes:
        if node.is_dir:
            yield from _files(node.children)
        else:
            yield node


def write_all(
    b: Build, jobs: Sequence[Job[str]], out: Path, progress: Progress | None
) -> list[PageResult]:
    """Render the stale run pages; in a process pool when there are many."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(jobs) < POOL_THRESHOLD or workers < 2:
        renderer = _Renderer.of(b, out)
        results = []
        for i, job in enumerate(jobs, 1):
            results.append(renderer.render(job))
            if progress:
                progress(i, len(jobs))
        return results
    setup = _setup(b, out)
    return _render_in_pool(setup, list(jobs), workers, progress)


_worker: _Renderer | None = None


def _init_worker(setup: RenderSetup) -> None:
    global _worker
    store = FileStore.open_read_only(setup.store_root, keep_cache=False)
    _worker = _Renderer(setup, environment(setup.theme), store)


def _render_chunk(jobs: list[Job[str]]) -> list[PageResult]:
    assert _worker is not None, "the pool initializer did not run"
    return [_worker.render(job) for job in jobs]


def _render_in_pool(
    setup: RenderSetup, jobs: list[Job[str]], workers: int, progress: Progress | None
) -> list[PageResult]:
    size = max(10, min(200, len(jobs) // (workers * 8) or 1))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    # fork on Linux: workers inherit the gathered site for free, and a caller's script
    # is not imported again (forkserver and spawn would need an `if __name__` guard).
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    mp_context = multiprocessing.get_context(method)
    results: list[PageResult] = []
    with ProcessPoolExecutor(
        workers, mp_context, initializer=_init_worker, initargs=(setup,)
    ) as pool:
        pending: set[Future[list[PageResult]]] = {pool.submit(_render_chunk, c) for c in chunks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    pool.shutdown(cancel_futures=True)
                    raise error
                results.extend(future.result())
            if progress:
                progress(len(results), len(jobs))
    return results


KIND = PageKind(
    name="run", context=RunPage, template="run.html", plan=plan, write=write, write_all=write_all
)
