"""Write the registry's pages: the Models index (always rendered, then compared), each
model's page and each version's page (rendered only when their inputs' digest changed).

A model page's inputs: its records (model, versions, aliases), its git history, and for
each version the source run's file signature, name, status and experiment (the versions
table shows its metrics and its model folder's signature, both inside the run folder). A
version page's: its record and aliases, and the same of its source run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

from mltrail.errors import InvalidParameterValue
from mltrail.store import FileStore

from . import urls
from .contexts import SiteInfo
from .folders import folder_signature
from .gather import SiteData
from .modelfiles import ModelFiles, read_model_files
from .modelpages import model_page, models_page, version_page
from .models import ModelEntry, VersionEntry
from .write import Manifest, PageResult, PageWriter, render


@dataclass
class ModelSetup:
    """What writing the registry's pages needs (one per build)."""

    env: jinja2.Environment
    out: Path
    old: Manifest
    store: FileStore
    artifact_store: Path
    site: SiteData
    info: SiteInfo
    #: Generator, theme and config: every page depends on them.
    digest: str
    _files: dict[tuple[str, bool], ModelFiles] = field(default_factory=dict)

    def files(self, entry: VersionEntry, detail: bool = False) -> ModelFiles:
        """The version's model files, read once per build."""
        key = entry.version.version_id
        found = self._files.get((key, True)) or self._files.get((key, detail))
        if found is None:
            found = read_model_files(self.store, entry, self.artifact_store, detail=detail)
            self._files[(key, detail)] = found
        return found


def write_model_pages(setup: ModelSetup) -> list[PageResult]:
    registry = setup.site.registry
    if not registry.models:
        return []
    writer = PageWriter(setup.out, "page:models", "")
    writer.write(urls.MODELS, render(setup.env, ["models.html"], models_page(registry, setup.info)))
    results = [writer.result()]
    for model in registry.models:
        results += [_version(setup, model, entry) for entry in model.versions]
        results.append(_model(setup, model))
    return results


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _run_inputs(setup: ModelSetup, entry: VersionEntry) -> list[Any]:
    """What a page shows of a version's source run, as digest input."""
    site, rid = setup.site, entry.lineage.run_id
    if rid is None:
        return [None, entry.lineage.problem]
    run = site.runs.get(rid)
    if run is None:
        try:
            signature = folder_signature(str(setup.store.run_path(rid)))
        except InvalidParameterValue:
            signature = ""
        return [rid, signature, entry.lineage.problem]
    record = site.experiment(run.info.experiment_id)
    exp = record.experiment
    return [
        rid,
        site.signatures[rid],
        run.info.run_name,
        run.info.status,
        [exp.experiment_id, exp.name, record.primary_metric],
    ]


def _version_inputs(setup: ModelSetup, entry: VersionEntry) -> list[Any]:
    return [entry.version.to_dictionary(), entry.page, entry.folder, _run_inputs(setup, entry)]


def _model(setup: ModelSetup, model: ModelEntry) -> PageResult:
    key = f"page:model:{model.slug}"
    digest = _digest(
        setup.digest,
        model.model.to_dictionary(),
        model.files,
        [_version_inputs(setup, e) for e in model.versions],
        [e.to_dictionary() for e in model.history],
        setup.site.registry.in_git,
    )
    fresh = setup.old.fresh(setup.out, key, digest)
    if fresh is not None:
        return fresh
    ctx = model_page(model, setup.site.registry, setup.site, setup.info, setup.files)
    html = render(setup.env, [f"model-{model.slug}.html", "model.html"], ctx)
    writer = PageWriter(setup.out, key, digest)
    writer.write(urls.model_page(model.slug), html)
    return writer.result()


def _version(setup: ModelSetup, model: ModelEntry, entry: VersionEntry) -> PageResult:
    key = f"page:model:{model.slug}:{entry.page}"
    digest = _digest(setup.digest, model.model.name, model.slug, _version_inputs(setup, entry))
    fresh = setup.old.fresh(setup.out, key, digest)
    if fresh is not None:
        return fresh
    files = setup.files(entry, detail=True)
    ctx = version_page(model, entry, setup.site, setup.info, files)
    candidates = [f"model_version-{model.slug}.html", "model_version.html"]
    writer = PageWriter(setup.out, key, digest)
    writer.write(urls.version_page(model.slug, entry.page), render(setup.env, candidates, ctx))
    return writer.result()
