"""Build the contexts of the registry's pages: the Models index, a model, a version."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from mltrail.registry import ModelVersionStage
from mltrail.registry.state import resolve_command

from . import urls
from .contexts import (
    HistoryEvent,
    LineageView,
    MetricValue,
    ModelFilesView,
    ModelPage,
    ModelsPage,
    ModelVersionPage,
    PageContext,
    SignatureField,
    SignatureView,
    SiteInfo,
    Snippet,
    VersionRow,
)
from .filters import highlight
from .gather import SiteData
from .markdown import render_markdown
from .modelfiles import ModelFiles, Signature, SpecField, signature_summary
from .models import ModelEntry, RegistryData, VersionEntry
from .modelviews import model_summaries, model_summary, version_link
from .pages import HIGHLIGHT_CSS, experiment_link, run_link
from .snippets import SERVE_NOTE, version_snippets

P = TypeVar("P", bound=PageContext)
#: Metrics a versions table shows per version: the primary metric and a few others.
KEY_METRICS = 3
FilesOf = Callable[[VersionEntry], ModelFiles]


def _page(cls: type[P], info: SiteInfo, kind: str, path: str, title: str, **fields: Any) -> P:
    return cls(
        site=info, page_kind=kind, page_path=path, root=urls.root_of(path), title=title, **fields
    )


def models_page(registry: RegistryData, info: SiteInfo) -> ModelsPage:
    return _page(
        ModelsPage, info, "models", urls.MODELS, "Models", models=model_summaries(registry)
    )


def key_metrics(
    metrics: Mapping[str, float], primary: str | None, limit: int | None = None
) -> tuple[MetricValue, ...]:
    """The primary metric first (when the run has it), then the others by key."""
    keys = sorted(metrics)
    if primary is not None and primary in metrics:
        keys = [primary, *(k for k in keys if k != primary)]
    return tuple(MetricValue(k, metrics[k], k == primary) for k in keys[:limit])


def _fields(fields: tuple[SpecField, ...]) -> tuple[SignatureField, ...]:
    return tuple(SignatureField(f.name, f.type, f.required, f.default, f.shape) for f in fields)


def signature_view(sig: Signature | None) -> SignatureView | None:
    if sig is None:
        return None
    return SignatureView(
        _fields(sig.inputs), _fields(sig.outputs), _fields(sig.params), signature_summary(sig)
    )


def _primary(site: SiteData, entry: VersionEntry) -> str | None:
    run = site.runs.get(entry.lineage.run_id or "")
    return site.experiment(run.info.experiment_id).primary_metric if run else None


def _run_problem(site: SiteData, entry: VersionEntry) -> str | None:
    lin = entry.lineage
    if lin.problem:
        return lin.problem
    if lin.run_id and lin.run_id not in site.runs:
        return f"the source run {lin.run_id} is deleted (or its experiment is): not in this site"
    return None


def version_row(
    model: ModelEntry, entry: VersionEntry, site: SiteData, files: ModelFiles
) -> VersionRow:
    v, lin = entry.version, entry.lineage
    run = site.runs.get(lin.run_id or "")
    record = site.experiment(run.info.experiment_id) if run else None
    return VersionRow(
        link=version_link(model, entry),
        created=v.creation_timestamp,
        last_updated=v.last_updated_timestamp,
        author=v.user_id,
        description_html=render_markdown(v.description or "", top_heading=4),
        source=v.source,
        run=run_link(run) if run else None,
        run_id=lin.run_id,
        experiment=experiment_link(record.experiment) if record else None,
        metrics=key_metrics(lin.metrics, _primary(site, entry), KEY_METRICS),
        signature=signature_view(files.signature),
        problem=_run_problem(site, entry) or files.problem,
    )


def history_events(model: ModelEntry, registry: RegistryData) -> tuple[HistoryEvent, ...] | None:
    if not registry.in_git:
        return None
    events = []
    for e in model.history:
        entry = model.by_number(e.version) if e.version is not None else None
        events.append(
            HistoryEvent(
                commit=e.commit,
                author=e.author_name,
                email=e.author_email,
                time=e.timestamp,
                action=e.action,
                summary=e.summary,
                version=version_link(model, entry) if entry else None,
            )
        )
    return tuple(events)


def _served(model: ModelEntry) -> VersionEntry | None:
    """The version the model page's snippets use: the newest in Production, else the newest."""
    production = [
        e for e in model.versions if e.version.current_stage == ModelVersionStage.PRODUCTION
    ]
    found = production or list(model.versions)
    return found[-1] if found else None


def model_page(
    model: ModelEntry, registry: RegistryData, site: SiteData, info: SiteInfo, files_of: FilesOf
) -> ModelPage:
    served = _served(model)
    snippets: tuple[Snippet, ...] = ()
    if served is not None:
        aliases = tuple(sorted(model.model.aliases))
        snippets = version_snippets(
            model.model.name, served.version.version, aliases, served.folder
        )
    return _page(
        ModelPage,
        info,
        "model",
        urls.model_page(model.slug),
        model.model.name,
        model=model_summary(model, top_heading=2),
        versions=tuple(version_row(model, e, site, files_of(e)) for e in reversed(model.versions)),
        history=history_events(model, registry),
        snippets=snippets,
        serve_note=SERVE_NOTE,
        duplicates=model.duplicates,
        resolve_command=resolve_command(model.model.name),
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
        metrics=key_metrics(lin.metrics, _primary(site, entry)),
        problem=_run_problem(site, entry),
    )


def version_page(
    model: ModelEntry, entry: VersionEntry, site: SiteData, info: SiteInfo, files: ModelFiles
) -> ModelVersionPage:
    v = entry.version
    return _page(
        ModelVersionPage,
        info,
        "model-version",
        urls.version_page(model.slug, entry.page),
        f"{model.model.name} v{v.version}",
        version=version_row(model, entry, site, files),
        files=_files_view(entry, files),
        lineage=_lineage_view(entry, site),
        snippets=version_snippets(model.model.name, v.version, tuple(v.aliases), entry.folder),
        serve_note=SERVE_NOTE,
        highlight_css=urls.href(HIGHLIGHT_CSS),
    )
