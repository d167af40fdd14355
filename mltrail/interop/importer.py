"""``import_mlflow``: bring an MLflow store's experiments, runs and registry into a store.

Runs keep their MLflow ids, so a run already in the store is skipped: importing twice
adds nothing, and importing again brings only the runs made since. Everything written
is committed in one commit at the end.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from mltrail.entities import RunStatus
from mltrail.errors import InvalidParameterValue, MltrailError, ResourceAlreadyExists
from mltrail.interop import registry_import
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
        models = _logged_models(source, [e for e in chosen if e.experiment_id in placed])
        sources: dict[str, str] = {}
        for done, run in enumerate(todo):
            if progress:
                progress(done, len(todo))
            path = _import_run(store, source, run, placed[run.experiment_id], report, scratch)
            if path is not None:
                paths.append(path)
            if path is not None or store.run_path(run.run_id).exists():
                for model in models.get(run.run_id, []):
                    fresh = path is not None
                    found = _logged_model(store, source, run, model, fresh, report, scratch)
                    sources.update(found)
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


def _logged_models(source: Source, chosen: list[ExperimentIn]) -> dict[str, list[LoggedModelIn]]:
    by_run: dict[str, list[LoggedModelIn]] = {}
    for exp in chosen:
        for model in source.logged_models(exp):
            if model.source_run_id:
                by_run.setdefault(model.source_run_id, []).append(model)
    return by_run


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
        _copy_artifacts(store, run.run_id, source.artifacts(run), "", report, scratch)
        path = store.finish_import(run.run_id)
    except (MltrailError, OSError, ValueError) as e:
        store.abort_import(run.run_id)
        report.skip(f"run {run.run_id}", f"{type(e).__name__}: {e}")
        return None
    report.runs += 1
    report.metric_points += points
    if run.dataset_inputs:
        report.skip(
            f"{run.dataset_inputs} dataset input(s) of run {run.run_id}",
            "mltrail has no datasets yet (MLflow 3 run inputs)",
        )
    return path


def _copy_artifacts(
    store: FileStore,
    run_id: str,
    found: Any,
    prefix: str,
    report: ImportReport,
    scratch: Path,
) -> int:
    """Copy artifacts into the run with mltrail's artifact writer (large ones go to the
    artifact store); each one that fails is reported and costs only itself."""
    arts = store.artifacts(run_id)
    copied = 0
    for art in found:
        if isinstance(art, BadRun):
            report.skip(f"artifact {art.where} of run {run_id}", art.why)
            continue
        rel = PurePosixPath(prefix, art.path) if prefix else PurePosixPath(art.path)
        try:
            _check_room(store, art.size)
            with art.local(scratch) as local:
                parent = str(rel.parent)
                arts.log_file(local, None if parent == "." else parent, rel.name)
        except (MltrailError, OSError, ValueError) as e:
            report.skip(f"artifact {str(rel)!r} of run {run_id}", str(e))
            continue
        copied += 1
        report.artifacts += 1
        report.artifact_bytes += art.size or 0
    return copied


def _check_room(store: FileStore, size: int | None) -> None:
    """Refuse a file larger than the free space where it would go (an absurd size)."""
    if size is None:
        return
    free = shutil.disk_usage(store.root).free
    if size > free:
        raise ValueError(f"{size} bytes, more than the {free} bytes free in the store")


def _logged_model(
    store: FileStore,
    source: Source,
    run: RunIn,
    model: LoggedModelIn,
    fresh: bool,
    report: ImportReport,
    scratch: Path,
) -> dict[str, str]:
    """Copy an MLflow 3 logged model's files into its run (where MLflow 2 kept them),
    under its name, or ``logged_models/<id>`` when the run has that path already;
    return its id -> the ``runs:/`` URI of the copy. A run already in the store (not
    ``fresh``) got its copies when it came: only the URI is looked up."""
    arts = store.artifacts(run.run_id)
    candidates = (model.name, f"logged_models/{model.model_id}")
    try:
        if not fresh:
            where = next((c for c in candidates if arts.exists(f"{c}/MLmodel")), None)
            return {} if where is None else {model.model_id: f"runs:/{run.run_id}/{where}"}
        where = next((c for c in candidates if not arts.exists(c)), None)
    except MltrailError as e:  # a name that is no artifact path
        report.skip(f"logged model {model.model_id} of run {run.run_id}", str(e))
        return {}
    if where is None:
        report.skip(f"logged model {model.model_id} of run {run.run_id}", "no free path")
        return {}
    found = source.logged_model_artifacts(model.model_id)
    if _copy_artifacts(store, run.run_id, found, where, report, scratch):
        report.logged_model_files += 1
    report.skip(
        f"logged model {model.model_id} ({model.name}) of run {run.run_id}",
        f"its files are in the run at {where!r}; its id, params, metrics and tags are not "
        "(mltrail has no logged models yet)",
    )
    return {model.model_id: f"runs:/{run.run_id}/{where}"}


def _commit(store: FileStore, paths: list[Path], report: ImportReport) -> None:
    if not report.changed or not paths:
        return
    store.record_change(sorted(set(paths)), report.title() + "\n\n" + "\n".join(report.lines()))
    report.committed = store.flush() and store.config.auto_commit and store.repo_root is not None
