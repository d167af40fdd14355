"""The registry part of an import: registered models, their versions (numbers, stages,
times and deleted versions kept), and aliases, written as mltrail's registry records.

A version already in the store (same model, same number) is left as it is, so an
import run twice adds nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mltrail.errors import MltrailError
from mltrail.interop.records import BadRun, ModelIn, Source, VersionIn
from mltrail.interop.report import ImportReport
from mltrail.registry import names
from mltrail.store import layout
from mltrail.store.registry import STAGES, AliasRecord, ModelRecord, VersionRecord

if TYPE_CHECKING:
    from mltrail.store import FileStore

#: ``<...>/<run id>/artifacts/<path>``: a version source that is a run's artifact folder.
_RUN_ARTIFACT = re.compile(r"/([0-9a-f]{32})/artifacts/(.+)$")
_LOGGED = re.compile(r"^models:/(m-[0-9a-f]+)/?$")


@dataclass(frozen=True)
class _Target:
    source: str
    run_id: str
    model_id: str | None = None


def import_registry(
    store: FileStore, source: Source, logged: dict[str, str], report: ImportReport
) -> list[Path]:
    """Write every registered model of ``source``; ``logged``: MLflow 3 logged model id ->
    the ``runs:/`` URI its files were copied to. Returns the model folders changed."""
    changed = []
    for model in source.models():
        if isinstance(model, BadRun):
            report.skip(f"registered model {model.where}", model.why)
            continue
        try:
            if _import_model(store, model, logged, report):
                changed.append(store.registry_files.model_path(model.name))
        except MltrailError as e:
            report.skip(f"registered model {model.name!r}", str(e))
    return changed


def _import_model(
    store: FileStore, model: ModelIn, logged: dict[str, str], report: ImportReport
) -> bool:
    files = store.registry_files
    name = names.check_model_name(model.name)
    tags = names.check_tags(model.tags)
    with files.lock():
        path = files.model_path(name)
        changed = False
        if files.read_model(path) is None and not files.read_versions(path):
            record = ModelRecord(
                name,
                model.creation_timestamp,
                model.last_updated_timestamp,
                names.check_description(model.description),
                tags,
            )
            files.write_model(path, record)
            report.models_created += 1
            changed = True
        present = {v.version: v for v in files.read_versions(path)}
        for version in model.versions:
            if version.version in present:
                continue
            made = _version(store, version, logged, report)
            if made is not None:
                files.write_version(path, made)
                present[made.version] = made
                report.versions += 1
                changed = True
        aliases = {a.alias for a in files.read_aliases(path)}
        for alias, number in sorted(model.aliases.items()):
            target = present.get(number)
            if alias in aliases or target is None:
                continue
            files.write_alias(
                path, AliasRecord(names.check_alias(alias), number, target.version_id)
            )
            report.aliases += 1
            changed = True
    return changed


def _version(
    store: FileStore, version: VersionIn, logged: dict[str, str], report: ImportReport
) -> VersionRecord | None:
    what = f"version {version.version} of model {version.name!r}"
    target = _target(store, version, logged)
    if target is None and not version.deleted:
        report.skip(what, f"its source {version.source!r} is not in a run of the store")
        return None
    stage = version.current_stage if version.current_stage in STAGES else "None"
    return VersionRecord(
        version_id=layout.new_run_id(version.creation_timestamp),
        name=version.name,
        version=version.version,
        creation_timestamp=version.creation_timestamp,
        last_updated_timestamp=version.last_updated_timestamp,
        source=target.source if target else version.source,
        run_id=target.run_id if target else version.run_id,
        current_stage=stage,
        description=names.check_description(version.description),
        user_id=version.user_id,
        run_link=version.run_link,
        status=version.status,
        tags=names.check_tags(version.tags),
        model_id=(version.model_id or target.model_id) if target else None,
        deleted_timestamp=version.last_updated_timestamp if version.deleted else None,
    )


def _target(store: FileStore, version: VersionIn, logged: dict[str, str]) -> _Target | None:
    """The run folder a version's source names, as a ``runs:/`` URI, if it is in the store.

    MLflow's sources are ``runs:/<id>/<path>``, ``models:/m-<id>`` (a logged model, whose
    files the import copied into its run) or an absolute artifact location of a run
    (``file:///.../<run id>/artifacts/model``), rewritten here.
    """
    uri = version.source
    match = _LOGGED.match(uri)
    model_id = match.group(1) if match else None
    if match:
        uri = logged.get(match.group(1), "")
    elif not uri.startswith("runs:/"):
        found = _RUN_ARTIFACT.search(uri)
        uri = f"runs:/{found.group(1)}/{found.group(2).strip('/')}" if found else ""
    if not uri.startswith("runs:/"):
        return None
    run_id, _, path = uri[len("runs:/") :].partition("/")
    try:
        if not store.artifacts(run_id).exists(path):
            return None
    except MltrailError:
        return None
    return _Target(f"runs:/{run_id}/{path.strip('/')}", run_id, model_id)
