"""``export_mlflow``: write a store as an MLflow file store (``mlflow ui`` and MLflow's
client read it), so users are free to leave.

Layout written: ``<dest>/<experiment id>/meta.yaml`` and ``tags/`` (deleted experiments
under ``.trash/``), ``<experiment>/<run id>/`` with ``meta.yaml``, ``params/``, ``tags/``,
``metrics/`` (``timestamp value step`` lines) and ``artifacts/`` (large artifacts copied
out of the artifact store), and the registry under ``<dest>/models/<name>/``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mltrail.entities import Experiment, LifecycleStage, Run, ViewType
from mltrail.errors import InvalidParameterValue, MltrailError
from mltrail.interop.export_models import (
    write_logged_models,
    write_meta,
    write_run_io,
    write_values,
)
from mltrail.interop.records import DELETED_STAGE, RUN_STATUS
from mltrail.store import runs as run_records
from mltrail.store.registry import VersionRecord

if TYPE_CHECKING:
    from mltrail.store import FileStore

_STATUS_NUMBER = {name: number for number, name in RUN_STATUS.items()}
_LOCAL_SOURCE = 4  # MLflow's SourceType.LOCAL, which its file store always writes


def export_mlflow(
    store: FileStore, dest: Path, progress: Callable[[int, int], None] | None = None
) -> str:
    """Write every experiment, run (metric histories and artifacts included) and
    registered model of ``store`` as an MLflow file store in the folder ``dest``.

    Returns:
        One line saying what was written.

    Raises:
        InvalidParameterValue: ``dest`` exists and is not empty.
    """
    dest = dest.resolve()
    if dest.exists() and any(dest.iterdir()):
        raise InvalidParameterValue(f"{dest} is not empty; export into a new folder.")
    dest.mkdir(parents=True, exist_ok=True)
    folders = {}
    for exp in store.experiments.list(ViewType.ALL):
        folders[exp.experiment_id] = _write_experiment(dest, exp)
    runs = [r for r in store.all_runs() if r.info.experiment_id in folders]
    for done, run in enumerate(runs):
        if progress:
            progress(done, len(runs))
        _write_run(store, folders[run.info.experiment_id] / run.info.run_id, run)
    if progress:
        progress(len(runs), len(runs))
    logged = write_logged_models(store, folders)
    models = _write_registry(store, dest, folders)
    return (
        f"Exported {len(folders)} experiments, {len(runs)} runs, {logged} logged models and "
        f"{models} registered models to {dest}."
    )


def _write_experiment(dest: Path, exp: Experiment) -> Path:
    deleted = exp.lifecycle_stage == LifecycleStage.DELETED
    folder = (dest / ".trash" if deleted else dest) / exp.experiment_id
    meta = {
        "artifact_location": (dest / exp.experiment_id).as_uri(),
        "creation_time": exp.creation_time,
        "experiment_id": exp.experiment_id,
        "last_update_time": exp.last_update_time,
        "lifecycle_stage": exp.lifecycle_stage,
        "name": exp.name,
    }
    write_meta(folder, meta)
    write_values(folder / "tags", exp.tags)
    return folder


def _write_run(store: FileStore, folder: Path, run: Run) -> None:
    info = run.info
    meta: dict[str, Any] = {
        "artifact_uri": (folder / "artifacts").as_uri(),
        "end_time": info.end_time,
        "entry_point_name": "",
        "experiment_id": info.experiment_id,
        "lifecycle_stage": info.lifecycle_stage,
        "run_id": info.run_id,
        "run_name": info.run_name,
        "run_uuid": info.run_id,
        "source_name": "",
        "source_type": _LOCAL_SOURCE,
        "source_version": "",
        "start_time": info.start_time,
        "status": _STATUS_NUMBER.get(info.status, 1),
        "tags": [],
        "user_id": info.user_id,
        "deleted_time": _deleted_time(store, info.run_id),
    }
    write_meta(folder, meta)
    for sub in ("params", "tags", "metrics", "artifacts"):
        (folder / sub).mkdir(exist_ok=True)
    write_values(folder / "params", run.data.params)
    write_values(folder / "tags", run.data.tags)
    for key in run.data.metrics:
        path = folder / "metrics" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            for m in store.get_metric_history(info.run_id, key):
                f.write(f"{m.timestamp} {m.value!r} {m.step}\n")
    artifacts = store.artifacts(info.run_id)
    if artifacts.list_dir(None):
        artifacts.download(None, folder / "artifacts")
    write_run_io(store, info.run_id, folder)


def _deleted_time(store: FileStore, run_id: str) -> int | None:
    value = run_records.read_run_record(store.run_path(run_id)).get("deleted_time")
    return value if isinstance(value, int) else None


def _write_registry(store: FileStore, dest: Path, folders: dict[str, Path]) -> int:
    """MLflow's file registry: ``models/<name>/`` with ``meta.yaml``, ``tags/``,
    ``aliases/<alias>`` (the version number) and ``version-<n>/``; a deleted version
    gets MLflow's ``Deleted_Internal`` stage, as MLflow's own store keeps it."""
    files = store.registry_files
    count = 0
    for model_path in files.model_paths():
        versions = files.read_versions(model_path)
        model = files.read_model(model_path)
        if model is None and not versions:
            continue
        name = model.name if model else versions[0].name
        folder = dest / "models" / name
        created = model.creation_timestamp if model else min(v.creation_timestamp for v in versions)
        updated = (
            model.last_updated_timestamp
            if model
            else max(v.last_updated_timestamp for v in versions)
        )
        write_meta(
            folder,
            {
                "name": name,
                "creation_timestamp": created,
                "last_updated_timestamp": updated,
                "description": model.description if model else "",
            },
        )
        write_values(folder / "tags", model.tags if model else {})
        seen: set[int] = set()
        for v in sorted(versions, key=lambda v: (v.version, v.creation_timestamp)):
            if v.version in seen:  # an unresolved merge of two clones: the earlier one
                continue
            seen.add(v.version)
            write_meta(folder / f"version-{v.version}", _version_meta(store, folders, v))
            write_values(folder / f"version-{v.version}" / "tags", v.tags)
        by_id = {v.version_id: v.version for v in versions}
        aliases = {
            a.alias: str(by_id.get(a.version_id or "", a.version))
            for a in files.read_aliases(model_path)
        }
        write_values(folder / "aliases", aliases)
        count += 1
    return count


def _version_meta(store: FileStore, folders: dict[str, Path], v: VersionRecord) -> dict[str, Any]:
    location = v.source
    if v.source.startswith(f"runs:/{v.run_id}/") and v.run_id:
        try:
            exp = store.get_run(v.run_id).info.experiment_id
        except MltrailError:  # the run is gone: MLflow resolves runs:/ itself
            exp = ""
        if exp in folders:
            rel = v.source[len(f"runs:/{v.run_id}/") :]
            location = (folders[exp] / v.run_id / "artifacts" / rel).as_uri()
    return {
        "creation_timestamp": v.creation_timestamp,
        "current_stage": DELETED_STAGE if v.deleted else v.current_stage,
        "description": v.description,
        "last_updated_timestamp": v.last_updated_timestamp,
        "name": v.name,
        "run_id": v.run_id,
        "run_link": v.run_link,
        "source": v.source,
        "status": v.status,
        "status_message": None,
        "storage_location": location,
        "user_id": v.user_id,
        "version": v.version,
        **({"model_id": v.model_id} if v.model_id else {}),
    }
