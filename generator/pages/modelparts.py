"""Records of the registry that several pages show (links to models and versions, model
summaries, version rows, signatures) with their builders, and the digest inputs of a
version that the model and version pages share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from mltrail.models.summary import FieldSummary, SignatureSummary
from mltrail.registry import ModelVersionStage

from .. import urls
from ..gather.modelfiles import ModelFiles
from ..gather.registry import ModelEntry, RegistryData, VersionEntry
from ..gather.site import SiteData
from ..theme.markdown import render_markdown
from .base import Build, doc
from .parts import ExperimentLink, RunLink, experiment_link, run_link

#: The order latest versions are shown in: the one serving first.
SHOWN_STAGES = (
    ModelVersionStage.PRODUCTION,
    ModelVersionStage.STAGING,
    ModelVersionStage.NONE,
    ModelVersionStage.ARCHIVED,
)
#: Metrics a versions table shows per version: the primary metric and a few others.
KEY_METRICS = 3


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


def model_link(model: ModelEntry) -> ModelLink:
    return ModelLink(model.model.name, urls.href(urls.model_page(model.slug)))


def version_link(model: ModelEntry, entry: VersionEntry) -> VersionLink:
    v = entry.version
    label = f"v{v.version} ({v.version_id[:12]})" if entry.duplicate else f"v{v.version}"
    return VersionLink(
        model=model_link(model),
        version=v.version,
        label=label,
        url=urls.href(urls.version_page(model.slug, entry.page)),
        stage=v.current_stage,
        aliases=tuple(sorted(v.aliases)),
    )


def _entry_of(model: ModelEntry, version_id: str) -> VersionEntry | None:
    return next((e for e in model.versions if e.version.version_id == version_id), None)


def model_summary(model: ModelEntry, top_heading: int = 3) -> ModelSummary:
    m = model.model
    latest = [_entry_of(model, v.version_id) for v in m.latest_versions]
    order = {stage: i for i, stage in enumerate(SHOWN_STAGES)}
    shown = sorted(
        (e for e in latest if e is not None), key=lambda e: order.get(e.version.current_stage, 9)
    )
    aliases = []
    for alias, number in sorted(m.aliases.items()):
        entry = next((e for e in model.versions if alias in e.version.aliases), None)
        if entry is None:
            entry = model.by_number(int(number))
        if entry is not None:
            aliases.append((alias, version_link(model, entry)))
    return ModelSummary(
        link=model_link(model),
        description_html=render_markdown(m.description or "", top_heading=top_heading),
        latest=tuple(version_link(model, e) for e in shown),
        aliases=tuple(aliases),
        tags=tuple(sorted(m.tags.items())),
        version_count=len(model.versions),
        created=m.creation_timestamp,
        last_updated=m.last_updated_timestamp,
    )


def model_summaries(registry: RegistryData) -> tuple[ModelSummary, ...]:
    return tuple(model_summary(m) for m in registry.models)


def key_metrics(
    metrics: Mapping[str, float], primary: str | None, limit: int | None = None
) -> tuple[MetricValue, ...]:
    """The primary metric first (when the run has it), then the others by key."""
    keys = sorted(metrics)
    if primary is not None and primary in metrics:
        keys = [primary, *(k for k in keys if k != primary)]
    return tuple(MetricValue(k, metrics[k], k == primary) for k in keys[:limit])


def _fields(specs: tuple[FieldSummary, ...]) -> tuple[SignatureField, ...]:
    return tuple(SignatureField(f.name, f.type, f.required, f.default, f.shape) for f in specs)


def signature_view(sig: SignatureSummary | None) -> SignatureView | None:
    if sig is None:
        return None
    return SignatureView(
        _fields(sig.inputs), _fields(sig.outputs), _fields(sig.params), sig.one_line()
    )


def primary_metric(site: SiteData, entry: VersionEntry) -> str | None:
    """The primary metric of the experiment of the version's source run, if in the site."""
    run = site.runs.get(entry.lineage.run_id or "")
    return site.experiment(run.info.experiment_id).primary_metric if run else None


def run_problem(site: SiteData, entry: VersionEntry) -> str | None:
    """Why the version's source run cannot be shown, else None."""
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
        metrics=key_metrics(lin.metrics, primary_metric(site, entry), KEY_METRICS),
        signature=signature_view(files.signature),
        problem=run_problem(site, entry) or files.problem,
    )


def version_inputs(b: Build, entry: VersionEntry) -> list[Any]:
    """What a model or version page shows of a version, as digest input: its record and
    what it shows of the source run (the run's folder signature covers the model folder)."""
    return [entry.version.to_dictionary(), entry.page, entry.folder, _run_inputs(b, entry)]


def _run_inputs(b: Build, entry: VersionEntry) -> list[Any]:
    site, rid = b.site, entry.lineage.run_id
    if rid is None:
        return [None, entry.lineage.problem]
    run = site.runs.get(rid)
    if run is None:
        return [rid, b.store.run_signature(rid), entry.lineage.problem]
    record = site.experiment(run.info.experiment_id)
    exp = record.experiment
    return [
        rid,
        site.signatures[rid],
        run.info.run_name,
        run.info.status,
        [exp.experiment_id, exp.name, record.primary_metric],
    ]
