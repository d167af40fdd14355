"""View records of the registry that other pages show too: links to models and versions,
model summaries (home, models index), a run's models (run page), search entries."""

from __future__ import annotations

from collections.abc import Sequence

from mltrail.entities import Run
from mltrail.registry import ModelVersionStage

from . import urls
from .contexts import LoggedModelView, ModelLink, ModelSummary, VersionLink
from .markdown import render_markdown
from .models import ModelEntry, RegistryData, VersionEntry, logged_models
from .rundetail import ArtifactNode, find_node

#: The order latest versions are shown in: the one serving first.
SHOWN_STAGES = (
    ModelVersionStage.PRODUCTION,
    ModelVersionStage.STAGING,
    ModelVersionStage.NONE,
    ModelVersionStage.ARCHIVED,
)


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


def run_versions(registry: RegistryData, run_id: str) -> tuple[VersionLink, ...]:
    """Every registered version whose source is run ``run_id``, by model and number."""
    return tuple(version_link(m, e) for m, e in registry.by_run(run_id))


def run_logged_models(
    run: Run, registry: RegistryData, artifacts: Sequence[ArtifactNode]
) -> tuple[LoggedModelView, ...]:
    """The models the run's tag lists, each with its MLmodel copy and its versions."""
    rid = run.info.run_id
    found = []
    for logged in logged_models(run.data.tags):
        path = logged.artifact_path.strip("/")
        mlmodel = f"{path}/MLmodel" if path else "MLmodel"
        node = find_node(artifacts, mlmodel)
        versions = tuple(
            version_link(m, e)
            for m, e in registry.by_run(rid)
            if (e.lineage.artifact_path or "").strip("/") == path
        )
        found.append(
            LoggedModelView(
                artifact_path=logged.artifact_path,
                flavors=logged.flavors,
                created=logged.created,
                mlmodel_url=urls.href(urls.artifact(rid, mlmodel))
                if node is not None and node.source is not None
                else None,
                versions=versions,
            )
        )
    return tuple(found)


def run_models_digest(registry: RegistryData, run_id: str) -> list[str]:
    """What a run page shows of the registry (for its inputs' digest)."""
    return [
        f"{m.slug}\1{e.page}\1{e.version.current_stage}\1{','.join(sorted(e.version.aliases))}"
        f"\1{e.lineage.artifact_path}"
        for m, e in registry.by_run(run_id)
    ]


def search_entries(registry: RegistryData) -> list[dict[str, str]]:
    """Search index entries of the models: name, description, aliases and tags."""
    entries = []
    for model in registry.models:
        m = model.model
        words = [
            m.name,
            m.description or "",
            *(f"@{a}" for a in sorted(m.aliases)),
            *(f"{k} {v}" for k, v in sorted(m.tags.items())),
        ]
        entries.append(
            {
                "kind": "model",
                "title": m.name,
                "url": urls.href(urls.model_page(model.slug)),
                "text": " ".join(w for w in words if w),
            }
        )
    return entries
