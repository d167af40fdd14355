"""A model version's page: its record, its model folder (MLmodel, input example,
requirements), the run it came from, and copyable snippets.

Rendered again only when its inputs' digest changes: its record and aliases, and what
it shows of its source run (whose folder holds the model folder).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup

from .. import urls
from ..gather.modelfiles import ModelFiles
from ..gather.registry import ModelEntry, VersionEntry
from ..gather.site import SiteData
from ..output.files import PageWriter
from ..theme.filters import highlight
from ..theme.render import render
from .base import HIGHLIGHT_CSS, Build, Job, PageContext, PageKind, digest, doc, make_page
from .modelparts import (
    MetricValue,
    VersionRow,
    key_metrics,
    primary_metric,
    run_problem,
    version_inputs,
    version_row,
)
from .parts import ExperimentLink, RunLink, experiment_link, run_link
from .snippets import SERVE_NOTE, Snippet, version_snippets


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
class ModelVersionPage(PageContext):
    version: VersionRow = doc("the version")
    files: ModelFilesView = doc("MLmodel, input example and requirements of its folder")
    lineage: LineageView = doc("the source run, its experiment, params and metrics")
    snippets: tuple[Snippet, ...] = doc("copyable code that loads and serves this version")
    serve_note: str = doc("where and how to run the serve and predict snippets")
    highlight_css: str = doc("stylesheet of the syntax highlighting")


def context(b: Build, model: ModelEntry, entry: VersionEntry) -> ModelVersionPage:
    v = entry.version
    files = b.model_files.get(entry, detail=True)
    return make_page(
        ModelVersionPage,
        b.info,
        KIND.name,
        urls.version_page(model.slug, entry.page),
        f"{model.model.name} v{v.version}",
        version=version_row(model, entry, b.site, files),
        files=_files_view(entry, files),
        lineage=_lineage_view(entry, b.site),
        snippets=version_snippets(
            model.model.name, v.version, tuple(v.aliases), entry.folder, files
        ),
        serve_note=SERVE_NOTE,
        highlight_css=urls.href(HIGHLIGHT_CSS),
    )


def _files_view(entry: VersionEntry, files: ModelFiles) -> ModelFilesView:
    return ModelFilesView(
        folder=entry.folder,
        flavors=files.flavors,
        python_version=files.python_version,
        mlmodel_html=highlight(files.mlmodel, "yaml") if files.mlmodel is not None else None,
        example_html=highlight(files.example, "json") if files.example is not None else None,
        example_truncated=files.example_truncated,
        requirements=files.requirements,
        problem=files.problem,
    )


def _lineage_view(entry: VersionEntry, site: SiteData) -> LineageView:
    lin = entry.lineage
    run = site.runs.get(lin.run_id or "")
    record = site.experiment(run.info.experiment_id) if run else None
    return LineageView(
        run=run_link(run) if run else None,
        run_id=lin.run_id,
        experiment=experiment_link(record.experiment) if record else None,
        artifact_path=lin.artifact_path,
        params=tuple(sorted(lin.params.items())),
        metrics=key_metrics(lin.metrics, primary_metric(site, entry)),
        problem=run_problem(site, entry),
    )


def plan(b: Build) -> Iterable[Job[tuple[ModelEntry, VersionEntry]]]:
    for model in b.site.registry.models:
        for entry in model.versions:
            key = f"page:model:{model.slug}:{entry.page}"
            inputs = digest(b.digest, model.model.name, model.slug, version_inputs(b, entry))
            yield Job(key, inputs, (model, entry))


def write(b: Build, job: Job[tuple[ModelEntry, VersionEntry]], writer: PageWriter) -> None:
    model, entry = job.subject
    html = render(b.env, KIND.candidates(model.slug), context(b, model, entry))
    writer.write(urls.version_page(model.slug, entry.page), html)


KIND = PageKind(
    name="model-version",
    context=ModelVersionPage,
    template="model_version.html",
    plan=plan,
    write=write,
)
