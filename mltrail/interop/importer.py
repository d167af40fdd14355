"""``import_mlflow``: bring an MLflow store's experiments, runs and registry into a store.

Runs keep their MLflow ids, so a run already in the store is skipped: importing twice
adds nothing, and importing again brings only the runs made since. Everything written
is committed in one commit at the end.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrail.entities import RunStatus
from mltrail.errors import InvalidParameterValue, MltrailError, ResourceAlreadyExists
from mltrail.interop import models_import, registry_import
from mltrail.interop.copying import copy_artifacts
from mltrail.interop.records import BadRun, ExperimentIn, LoggedModelIn, RunIn, Source
from mltrail.interop.report import ImportReport
from mltrail.store import runs as run_records

if TYPE_CHECKING:
    from mltrail.store import FileStore

log = logging.getLogger(__name__)
#: Called with (runs done, runs in all) as the import goes.
Progress = Callable[[int, int], None]
_SCRATCH = "import-scratch"


def import_source(
    store: FileStore,
    source: Source,
    experiments: Sequence[str] = (),
    progress: Progress | None = None,
) -> ImportReport:
    """Import everything ``source`` holds (or only the ``experiments`` named) into ``store``.

    Returns:
        The report; everything written is in one commit (when the store auto-commits).
    """
    report = ImportReport(source=source.label)
    chosen = _chosen(source.experiments(), experiments)
    paths: list[Path] = []
    placed: dict[str, str] = {}
    for exp in chosen:
        eid = _place_experiment(store, exp, report)
        if eid is not None:
            placed[exp.experiment_id] = eid
            paths.append(store.root / "experiments" / eid)
    scratch = store.root / ".cache" / _SCRATCH
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        todo = _runs(source, [e for e in chosen if e.experiment_id in placed], report)
        models = _logged_models(source, [e for e in chosen if e.experiment_id in placed], report)
        sources: dict[str, str] = {}
        for done, run in enumerate(todo):
            if progress:
                progress(done, len(todo))
            eid = placed[run.experiment_id]
            path = _import_run(store, source, run, eid, report, scratch)
            if path is not None:
                paths.append(path)
            if path is not None or store.run_path(run.run_id).exists():
                found, wrote = models_import.import_run_models(
                    store, source, run, models.pop(run.run_id, []), eid, path is not None,
                    report, scratch,
                )  # fmt: skip
                sources.update(found)
                if wrote and path is None:
                    paths.append(store.run_path(run.run_id))
        _runless(models, report)
        if progress:
            progress(len(todo), len(todo))
        if not experiments:
            paths += registry_import.import_registry(store, source, sources, report)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    _commit(store, paths, report)
    return report


def _chosen(found: list[ExperimentIn], names: Sequence[str]) -> list[ExperimentIn]:
    if not names:
        return found
    missing = sorted(set(names) - {e.name for e in found})
    if missing:
        raise InvalidParameterValue(
            f"No MLflow experiment named {', '.join(map(repr, missing))}; the store has "
            f"{', '.join(repr(e.name) for e in found)}."
        )
    return [e for e in found if e.name in names]


def _place_experiment(store: FileStore, exp: ExperimentIn, report: ImportReport) -> str | None:
    """The mltrail experiment the runs of ``exp`` go to: the one of its name, else a new
    one under MLflow's id when that id is free, else under a new id (reported)."""
    same = store.experiments.get_by_name(exp.name)
    if same is not None:
        eid = same.experiment_id
    else:
        free = not (store.root / "experiments" / exp.experiment_id).exists()
        try:
            eid = store.experiments.create(
                exp.name,
                exp.tags,
                experiment_id=exp.experiment_id if free else None,
                now_ms=exp.creation_time,
                lifecycle_stage=exp.lifecycle_stage,
                last_update_time=exp.last_update_time,
            ).experiment_id
        except (InvalidParameterValue, ResourceAlreadyExists) as e:
            report.skip(f"experiment {exp.name!r} ({exp.experiment_id}) and its runs", str(e))
            return None
        report.experiments_created.append(f"{exp.name} ({eid})")
    if eid != exp.experiment_id:
        report.experiment_ids[exp.experiment_id] = eid
    return eid


def _runs(source: Source, chosen: list[ExperimentIn], report: ImportReport) -> list[RunIn]:
    """Every readable run, parents before their children; unreadable ones reported."""
    found: list[RunIn] = []
    for exp in chosen:
        for run in source.runs(exp):
            if isinstance(run, BadRun):
                report.skip(f"run {run.where}", run.why)
            else:
                found.append(run)
    return sorted(found, key=lambda r: (r.start_time, r.run_id))


def _logged_models(
    source: Source, chosen: list[ExperimentIn], report: ImportReport
) -> dict[str, list[LoggedModelIn]]:
    """The readable logged models by source run id ("" for those without a run)."""
    by_run: dict[str, list[LoggedModelIn]] = {}
    for exp in chosen:
        for model in source.logged_models(exp):
            if isinstance(model, BadRun):
                report.skip(f"logged model {model.where}", model.why)
            else:
                by_run.setdefault(model.source_run_id or "", []).append(model)
    return by_run


def _runless(left: dict[str, list[LoggedModelIn]], report: ImportReport) -> None:
    """Report the logged models whose source run did not come across."""
    for run_id, models in sorted(left.items()):
        why = (
            f"its source run {run_id} was not imported"
            if run_id
            else "it has no source run (mltrail keeps a logged model in its run's folder)"
        )
        for model in models:
            report.skip(f"logged model {model.model_id} ({model.name})", why)


def run_record(run: RunIn, experiment_id: str, label: str) -> tuple[dict[str, Any], dict[str, str]]:
    """run.yaml's fields and the tags left for tags.yaml: MLflow's system tags that a
    field of run.yaml stands for (``mlflow.user``, ``mlflow.source.name`` ...) become that
    field, so the run reads back with the same tags."""
    tags = dict(run.tags)
    source = {
        key: tags[tag] for tag, key in run_records.SOURCE_TAGS.items() if tags.get(tag) is not None
    }
    record: dict[str, Any] = {
        "run_name": run.run_name,
        "experiment_id": experiment_id,
        "status": run.status,
        "start_time": run.start_time,
        "end_time": run.end_time,
        "lifecycle_stage": run.lifecycle_stage,
        "deleted_time": run.deleted_time,
        "user": run.user_id or tags.get("mlflow.user", ""),
        "parent_run_id": tags.get("mlflow.parentRunId"),
        "description": tags.get("mlflow.note.content", ""),
        "source": source,
        "imported": {"from": label, "artifact_uri": run.artifact_uri},
    }
    for tag, field in run_records.FIELD_TAGS.items():
        if tag in tags and tags[tag] and tags[tag] == record[field]:
            del tags[tag]
    for tag in run_records.SOURCE_TAGS:
        tags.pop(tag, None)
    return record, tags


def _import_run(
    store: FileStore,
    source: Source,
    run: RunIn,
    experiment_id: str,
    report: ImportReport,
    scratch: Path,
) -> Path | None:
    """Bring one run whole (or not at all: a failure removes what it wrote)."""
    if store.run_path(run.run_id).exists():
        report.runs_present += 1
        return None
    if run.status not in RunStatus.ALL:
        report.skip(f"run {run.run_id}", f"unknown status {run.status!r}")
        return None
    record, tags = run_record(run, experiment_id, source.label)
    try:
        writer = store.import_run(run.run_id, record, run.params, tags)
    except (MltrailError, OSError) as e:
        report.skip(f"run {run.run_id}", str(e))
        return None
    try:
        points = 0
        for key in run.metric_keys:
            for timestamp, value, step in source.metric_history(run, key):
                writer.log_metric(key, value, step, timestamp)
                points += 1
        copy_artifacts(store, run.run_id, source.artifacts(run), "", report, scratch)
        models_import.write_inputs(store, store.run_path(run.run_id), run, report)
        path = store.finish_import(run.run_id)
    except (MltrailError, OSError, ValueError) as e:
        store.abort_import(run.run_id)
        report.skip(f"run {run.run_id}", f"{type(e).__name__}: {e}")
        return None
    report.runs += 1
    report.metric_points += points
    return path


def _commit(store: FileStore, paths: list[Path], report: ImportReport) -> None:
    if not report.changed or not paths:
        return
    store.record_change(sorted(set(paths)), report.title() + "\n\n" + "\n".join(report.lines()))
    report.committed = store.flush() and store.config.auto_commit and store.repo_root is not None
