"""The MLflow 3 part of an import: a run's inputs (datasets and the logged models it
used) and logged models (record, params, tags, linked metrics and files).

A logged model's files, which MLflow 3 keeps under the model's own artifact location,
are copied into the artifacts of its source run, under its name (``model/``, where
MLflow 2 and ``mltrail.sklearn.log_model`` keep them) or ``logged_models/<model id>/``
when that path is taken; its record (``logged-models/<model id>/model.yaml``) points
there, so ``models:/m-<id>`` loads them (docs/INTEROP.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrail.errors import MltrailError
from mltrail.interop.copying import copy_artifacts
from mltrail.interop.records import DatasetIn, LoggedModelIn, RunIn, Source
from mltrail.interop.report import ImportReport
from mltrail.store import inputs as inputs_files
from mltrail.store import logged_models as files

if TYPE_CHECKING:
    from mltrail.store import FileStore


def write_inputs(store: FileStore, run_path: Path, run: RunIn, report: ImportReport) -> bool:
    """Record the datasets and logged models ``run`` used in its ``inputs.yaml``; a
    dataset mltrail refuses is reported and costs only itself. Returns whether
    anything was written."""
    entries = []
    for dataset in run.dataset_inputs:
        entry = dataset_entry(dataset)
        wrong = inputs_files.dataset_problem(entry)
        if wrong:
            report.skip(f"dataset {dataset.name!r} of run {run.run_id}", f"the entry {wrong}")
            continue
        entries.append(entry)
    models = [m for m in run.model_inputs if files.MODEL_ID.fullmatch(m)]
    for bad in sorted(set(run.model_inputs) - set(models)):
        report.skip(f"model input {bad!r} of run {run.run_id}", "not a logged model id")
    if not (entries or models):
        return False
    inputs_files.add_inputs(store.root, run_path, entries, models)
    report.datasets += len(entries)
    report.model_inputs += len(models)
    return True


def dataset_entry(dataset: DatasetIn) -> dict[str, Any]:
    """A dataset input as an ``inputs.yaml`` entry (docs/FORMAT.md, "Run inputs")."""
    entry: dict[str, Any] = {
        "name": dataset.name,
        "digest": dataset.digest,
        "source_type": dataset.source_type,
        "source": dataset.source,
    }
    entry.update({k: v for k, v in (("schema", dataset.schema), ("profile", dataset.profile)) if v})
    if dataset.tags:
        entry["tags"] = dict(sorted(dataset.tags.items()))
    return entry


def import_run_models(
    store: FileStore,
    source: Source,
    run: RunIn,
    models: list[LoggedModelIn],
    experiment_id: str,
    fresh: bool,
    report: ImportReport,
    scratch: Path,
) -> tuple[dict[str, str], bool]:
    """Bring the logged models of ``run`` (in the store: ``fresh`` when this import
    wrote it); a run an earlier import brought without its inputs gets them now.

    Returns:
        Model id -> the ``runs:/`` URI of its files, and whether anything was written.
    """
    wrote = False
    run_path = store.run_path(run.run_id)
    if not fresh and not (run_path / inputs_files.INPUTS_FILE).exists():
        wrote = write_inputs(store, run_path, run, report)
    sources: dict[str, str] = {}
    for model in models:
        found, changed = import_logged_model(
            store, source, run, model, experiment_id, fresh, report, scratch
        )
        sources.update(found)
        wrote = wrote or changed
    return sources, wrote


def import_logged_model(
    store: FileStore,
    source: Source,
    run: RunIn,
    model: LoggedModelIn,
    experiment_id: str,
    fresh: bool,
    report: ImportReport,
    scratch: Path,
) -> tuple[dict[str, str], bool]:
    """Bring one logged model of ``run`` (already in the store): its files into the run,
    its record and its linked metrics. A model already in the store is left as it is,
    but gets the linked metrics of runs it has none from yet.

    Returns:
        Its id -> the ``runs:/`` URI of its files (for registry versions), and whether
        anything was written.
    """
    what = f"logged model {model.model_id} ({model.name}) of run {run.run_id}"
    run_path = store.run_path(run.run_id)
    try:
        folder = files.model_dir(run_path, model.model_id)  # refuses an id that is no m-<id>
        if (folder / files.RECORD).is_file():
            rec = files.read_record(folder / files.RECORD, run.run_id)
            report.logged_models_present += 1
            added = _write_links(folder, model.metrics, report, missing_only=True)
            return {model.model_id: f"runs:/{run.run_id}/{rec['artifact_path']}"}, added
        copied_before = report.artifacts
        where = _place_files(store, source, run, model, report, scratch, fresh)
        if where is None:
            return {}, report.artifacts > copied_before
        uri = {model.model_id: f"runs:/{run.run_id}/{where}"}
        wrong = _record_problem(model)
        if wrong:
            report.skip(what, f"{wrong}; its files are in the run at {where!r}")
            return uri, report.artifacts > copied_before
        files.write_record(run_path, _record(run, model, experiment_id, where))
    except (MltrailError, OSError, ValueError) as e:
        report.skip(what, str(e))
        return {}, False
    report.logged_models += 1
    _write_links(folder, model.metrics, report, missing_only=False)
    return uri, True


def _record_problem(model: LoggedModelIn) -> str | None:
    if model.deleted:
        return "deleted in MLflow (mltrail keeps no deleted logged models)"
    if model.status not in files.STATUSES:
        return f"its status {model.status!r} is none of {', '.join(files.STATUSES)}"
    return None


def _place_files(
    store: FileStore,
    source: Source,
    run: RunIn,
    model: LoggedModelIn,
    report: ImportReport,
    scratch: Path,
    fresh: bool,
) -> str | None:
    """Where in the run's artifacts the model's files are: in a run imported before
    (not ``fresh``) the copy made then, else a new copy under its name or
    ``logged_models/<id>``."""
    arts = store.artifacts(run.run_id)
    candidates = (model.name, f"logged_models/{model.model_id}")
    try:
        done = next((c for c in candidates if arts.exists(f"{c}/MLmodel")), None)
        if done is not None and not fresh:
            return done
        where = next((c for c in candidates if not arts.exists(c)), None)
    except MltrailError as e:  # a name that is no artifact path
        report.skip(f"logged model {model.model_id} of run {run.run_id}", str(e))
        return None
    if where is None:
        report.skip(f"logged model {model.model_id} of run {run.run_id}", "no free path")
        return None
    found = source.logged_model_artifacts(model.model_id)
    copy_artifacts(store, run.run_id, found, where, report, scratch)
    return where


def _record(run: RunIn, model: LoggedModelIn, experiment_id: str, where: str) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "model_id": model.model_id,
        "name": model.name,
        "experiment_id": experiment_id,
        "source_run_id": run.run_id,
        "artifact_path": where,
        "status": model.status,
        "creation_timestamp": model.creation_timestamp,
        "last_updated_timestamp": model.last_updated_timestamp,
        "model_type": model.model_type,
        "step": run.model_outputs.get(model.model_id, 0),
        "params": dict(sorted(model.params.items())),
        "tags": dict(sorted(model.tags.items())),
    }
    if model.status_message:
        rec["status_message"] = model.status_message
    return rec


def _write_links(
    folder: Path, metrics: Iterable[files.LinkedPoint], report: ImportReport, *, missing_only: bool
) -> bool:
    """Write each linking run's ``metrics/<run id>.tsv`` (only the runs that have none
    yet when ``missing_only``); return whether any was written."""
    by_run: dict[str, list[files.LinkedPoint]] = {}
    for m in metrics:
        by_run.setdefault(m.run_id, []).append(m)
    written = False
    for run_id, points in sorted(by_run.items()):
        if not files.RUN_ID.fullmatch(run_id):
            report.skip(f"metrics linked to {folder.name} by {run_id!r}", "not a run id")
            continue
        if missing_only and (folder / files.LINKS_DIR / f"{run_id}.tsv").exists():
            continue
        for point in sorted(points, key=lambda p: (p.timestamp, p.step, p.key)):
            files.append_link(folder, run_id, point)
        report.linked_metrics += len(points)
        written = True
    return written
