"""The typed, documented context of each page type (STYLE.md §9).

A template sees the fields of its page's context as top-level names. Every field is
documented here (``doc=``); ``tests/generator/test_contexts.py`` renders every page of
the sample site and fails on a missing or undocumented key.

Conventions: every ``url`` is relative to the site root and already quoted; a template
writes ``{{ root }}{{ x.url }}``. Times are milliseconds since the Unix epoch (format
them with the ``datetime`` and ``duration`` filters); ``*_html`` fields are sanitized
Markup, safe to insert as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from markupsafe import Markup


def doc(text: str) -> Any:
    """A dataclass field with its documentation (required for every context field)."""
    return field(metadata={"doc": text})


@dataclass(frozen=True)
class NavItem:
    title: str = doc("link text")
    url: str = doc("http(s) URL, or a path relative to the site root")
    external: bool = doc("True for an http(s) URL (use as is, without root)")


@dataclass(frozen=True)
class SiteInfo:
    title: str = doc("site title (config `title`)")
    description: str = doc("site description (config `description`)")
    logo: str | None = doc("logo path relative to the root, or None")
    base_url: str | None = doc("absolute URL of the site root (config `base_url`), or None")
    nav: tuple[NavItem, ...] = doc("extra navigation links (config `nav`)")
    stylesheets: tuple[str, ...] = doc("stylesheet paths relative to the root, in order")
    scripts: tuple[str, ...] = doc("script paths relative to the root (mltrail.js first)")
    models_url: str | None = doc("the Models index page, None when the store has no models")


@dataclass(frozen=True)
class ExperimentLink:
    id: str = doc("experiment id")
    name: str = doc("experiment name")
    url: str = doc("its page")


@dataclass(frozen=True)
class RunLink:
    id: str = doc("run id")
    name: str = doc("run name")
    url: str = doc("its page")
    status: str = doc("RUNNING, SCHEDULED, FINISHED, FAILED or KILLED")


@dataclass(frozen=True)
class ExperimentSummary:
    link: ExperimentLink = doc("id, name and page of the experiment")
    run_count: int = doc("number of active runs")
    last_activity: int | None = doc("latest run start or end (ms), None without runs")
    primary_metric: str | None = doc("the metric that ranks runs, None without metrics")
    lower_is_better: bool = doc("whether a lower primary metric is better")
    best_value: float | None = doc("best latest value of the primary metric, or None")
    best_run: RunLink | None = doc("the run with that value, or None")


@dataclass(frozen=True)
class RunRow:
    link: RunLink = doc("id, name, page and status of the run")
    experiment: ExperimentLink = doc("its experiment")
    start: int = doc("start time (ms)")
    end: int | None = doc("end time (ms), None while running")
    duration: int | None = doc("end - start (ms), None while running")
    user: str = doc("who ran it")
    primary_value: float | None = doc("latest value of the experiment's primary metric")


@dataclass(frozen=True)
class ExperimentView:
    link: ExperimentLink = doc("id, name and page")
    description_html: Markup = doc("description, Markdown rendered and sanitized")
    tags: tuple[tuple[str, str], ...] = doc("experiment tags as (key, value), sorted")
    summary: ExperimentSummary = doc("run count, last activity, primary metric, best run")


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
    csv_url: str = doc("full history as CSV (step,timestamp,value)")


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


@dataclass(frozen=True)
class RunView:
    link: RunLink = doc("id, name, page and status")
    experiment: ExperimentLink = doc("its experiment")
    start: int = doc("start time (ms)")
    end: int | None = doc("end time (ms), None while running")
    duration: int | None = doc("end - start (ms), None while running")
    user: str = doc("who ran it")
    description_html: Markup = doc("description, Markdown rendered and sanitized")


# --- the model registry (models index, model and version pages, run and home sections) ---


@dataclass(frozen=True)
class ModelLink:
    name: str = doc("registered model name")
    url: str = doc("its page")


@dataclass(frozen=True)
class VersionLink:
    model: ModelLink = doc("the model")
    version: int = doc("version number")
    label: str = doc('"v3"; "v3 (<id>)" when merged clones both used the number')
    url: str = doc("the version's page")
    stage: str = doc("None, Staging, Production or Archived")
    aliases: tuple[str, ...] = doc("aliases pointing at this version, sorted")


@dataclass(frozen=True)
class ModelSummary:
    link: ModelLink = doc("name and page of the model")
    description_html: Markup = doc("description, Markdown rendered and sanitized")
    latest: tuple[VersionLink, ...] = doc(
        "newest version of each stage: Production, Staging, None, Archived"
    )
    aliases: tuple[tuple[str, VersionLink], ...] = doc("(alias, its version), by alias")
    tags: tuple[tuple[str, str], ...] = doc("model tags as (key, value), sorted")
    version_count: int = doc("number of live versions")
    created: int | None = doc("creation time (ms), or None")
    last_updated: int | None = doc("last change of the model or a version (ms), or None")


@dataclass(frozen=True)
class MetricValue:
    key: str = doc("metric key")
    value: float = doc("the run's latest value")
    primary: bool = doc("True for the experiment's primary metric")


@dataclass(frozen=True)
class SignatureField:
    name: str | None = doc("column, tensor or param name; None when unnamed")
    type: str = doc("its type as text: double, tensor float64 (-1, 4), array<string> ...")
    required: bool = doc("False for an optional column")
    default: str | None = doc("params: the default value as JSON; None for inputs/outputs")
    shape: str | None = doc("params: the shape, or None")


@dataclass(frozen=True)
class SignatureView:
    inputs: tuple[SignatureField, ...] = doc("input columns or tensors")
    outputs: tuple[SignatureField, ...] = doc("output columns or tensors")
    params: tuple[SignatureField, ...] = doc("inference params")
    summary: str = doc("one line: inputs -> outputs (and params)")


@dataclass(frozen=True)
class VersionRow:
    link: VersionLink = doc("number, page, stage and aliases")
    created: int = doc("registration time (ms)")
    last_updated: int = doc("last change (ms)")
    author: str | None = doc("who registered it (user id), or None")
    description_html: Markup = doc("version description, Markdown rendered and sanitized")
    source: str = doc("the model's source URI (runs:/<run_id>/<path>)")
    run: RunLink | None = doc("the source run when it is in this site, else None")
    run_id: str | None = doc("the source run's id, or None")
    experiment: ExperimentLink | None = doc("the source run's experiment, if in this site")
    metrics: tuple[MetricValue, ...] = doc("key metrics of the run: primary first, then others")
    signature: SignatureView | None = doc("the model's signature, None without one")
    problem: str | None = doc("why the run or the model files cannot be shown, else None")


@dataclass(frozen=True)
class HistoryEvent:
    commit: str = doc("the commit's full sha")
    author: str = doc("the commit author's name")
    email: str = doc("the commit author's email")
    time: int = doc("author time (ms)")
    action: str = doc("register, transition, alias, unalias, describe, tag, delete, rename ...")
    summary: str = doc("the commit title, e.g. 'model churn v3: Staging -> Production'")
    version: VersionLink | None = doc("the version it concerns, when it has a page")


@dataclass(frozen=True)
class Snippet:
    id: str = doc("id of the element holding the code (unique in the page)")
    title: str = doc("what it does")
    language: str = doc("python or shell")
    code: str = doc("the text to copy")


@dataclass(frozen=True)
class LoggedModelView:
    artifact_path: str = doc("the model's folder in the run's artifacts")
    flavors: tuple[str, ...] = doc("flavor names (python_function, sklearn ...)")
    created: str | None = doc("when it was logged (UTC text from the run tag), or None")
    mlmodel_url: str | None = doc("the copy of its MLmodel file in this site, or None")
    versions: tuple[VersionLink, ...] = doc("registered versions made from it")


@dataclass(frozen=True)
class ModelFilesView:
    folder: str | None = doc("the model folder, relative to the store root")
    flavors: tuple[str, ...] = doc("flavor names")
    python_version: str | None = doc("Python version it was saved with, or None")
    mlmodel_html: Markup | None = doc("the MLmodel file, highlighted YAML, or None")
    example_html: Markup | None = doc("the input example, pretty JSON highlighted, or None")
    example_truncated: bool = doc("True when only the start of the example is shown")
    requirements: tuple[str, ...] = doc("lines of requirements.txt")
    problem: str | None = doc("why the model files cannot be shown, else None")


@dataclass(frozen=True)
class LineageView:
    run: RunLink | None = doc("the source run, when it is in this site")
    run_id: str | None = doc("its id, or None")
    experiment: ExperimentLink | None = doc("its experiment, when in this site")
    artifact_path: str | None = doc("the model's path in the run's artifacts")
    params: tuple[tuple[str, str], ...] = doc("the run's params, sorted")
    metrics: tuple[MetricValue, ...] = doc("the run's latest metrics, primary first")
    problem: str | None = doc("why the run cannot be shown, else None")


@dataclass(frozen=True)
class PageContext:
    site: SiteInfo = doc("site-wide settings and assets")
    page_kind: str = doc("home, experiment, run, compare, 404, models, model, model-version")
    page_path: str = doc("this page's path relative to the root")
    root: str = doc('relative prefix back to the site root, e.g. "../../"')
    title: str = doc("the page's own title")

    def as_dict(self) -> dict[str, Any]:
        """The template's top-level names (shallow: nested records stay objects)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class HomePage(PageContext):
    experiments: tuple[ExperimentSummary, ...] = doc("every experiment, by name")
    recent_runs: tuple[RunRow, ...] = doc("the 10 newest runs of the site")
    run_count: int = doc("active runs in the site")
    search_script: str = doc("the site-wide search index (search.js)")
    models: tuple[ModelSummary, ...] = doc("registered models by name (empty: no section)")


@dataclass(frozen=True)
class ExperimentPage(PageContext):
    experiment: ExperimentView = doc("the experiment")
    runs: tuple[RunRow, ...] = doc("the newest runs (at most 100) for the noscript table")
    data_script: str = doc("runs.js: every run, for the client-side table and charts")
    chart_scripts: tuple[str, ...] = doc("vega, vega-lite, vega-embed and chart specs")


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
    data_script: str = doc("data.js: the run's downsampled series")
    chart_scripts: tuple[str, ...] = doc("vega, vega-lite, vega-embed and chart specs")
    highlight_css: str = doc("stylesheet of the syntax highlighting")
    logged_models: tuple[LoggedModelView, ...] = doc("models logged in the run, in order")
    model_versions: tuple[VersionLink, ...] = doc("registered versions whose source is the run")


@dataclass(frozen=True)
class ComparePage(PageContext):
    experiments: tuple[ExperimentLink, ...] = doc("experiments, whose pages select runs")
    chart_scripts: tuple[str, ...] = doc("vega, vega-lite, vega-embed and chart specs")


@dataclass(frozen=True)
class NotFoundPage(PageContext):
    pass


@dataclass(frozen=True)
class ModelsPage(PageContext):
    models: tuple[ModelSummary, ...] = doc("every registered model, by name")


@dataclass(frozen=True)
class ModelPage(PageContext):
    model: ModelSummary = doc("the model")
    versions: tuple[VersionRow, ...] = doc("live versions, newest first")
    history: tuple[HistoryEvent, ...] | None = doc("git history, newest first; None: no git")
    snippets: tuple[Snippet, ...] = doc("copyable code that loads and serves the model")
    serve_note: str = doc("why the serve snippet runs MLflow")
    duplicates: tuple[int, ...] = doc("version numbers two merged clones both used")
    resolve_command: str = doc("the command that renumbers duplicates")


@dataclass(frozen=True)
class ModelVersionPage(PageContext):
    version: VersionRow = doc("the version")
    files: ModelFilesView = doc("MLmodel, input example and requirements of its folder")
    lineage: LineageView = doc("the source run, its experiment, params and metrics")
    snippets: tuple[Snippet, ...] = doc("copyable code that loads and serves this version")
    serve_note: str = doc("why the serve snippet runs MLflow")
    highlight_css: str = doc("stylesheet of the syntax highlighting")


PAGE_TYPES: dict[str, type[PageContext]] = {
    "home": HomePage,
    "experiment": ExperimentPage,
    "run": RunPage,
    "compare": ComparePage,
    "404": NotFoundPage,
    "models": ModelsPage,
    "model": ModelPage,
    "model-version": ModelVersionPage,
}
