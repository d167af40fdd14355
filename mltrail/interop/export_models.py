"""The MLflow 3 part of an export: logged models, and each run's inputs (datasets, the
logged models it used) and outputs, in MLflow's file store layout::

    <experiment>/models/<model id>/meta.yaml, params/, tags/, metrics/<key>
    <experiment>/datasets/<md5(name + digest)>/meta.yaml
    <experiment>/<run>/inputs/<md5(source id + run id)>/meta.yaml
    <experiment>/<run>/outputs/<model id>/meta.yaml

A logged model's ``artifact_location`` is its folder in the exported run's artifacts
(where mltrail keeps its files), so nothing is copied twice.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mltrail import validation
from mltrail.errors import CorruptedRecord, InvalidParameterValue
from mltrail.logged_entities import LoggedModel
from mltrail.store import inputs as inputs_files
from mltrail.tracking import logged_models

if TYPE_CHECKING:
    from mltrail.store import FileStore

log = logging.getLogger(__name__)
_STATUS_NUMBER = {"PENDING": 1, "READY": 2, "FAILED": 3}


def _md5(*parts: str) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode("utf-8"))
    return digest.hexdigest()


def write_meta(folder: Path, data: dict[str, Any]) -> None:
    """``folder/meta.yaml``, as MLflow writes its records."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "meta.yaml").write_text(
        yaml.safe_dump(data, default_flow_style=False, allow_unicode=True), encoding="utf-8"
    )


def write_values(folder: Path, values: dict[str, str]) -> None:
    """One file per key, as MLflow keeps params and tags (``a/b`` in a sub-folder); a
    key that is no path inside ``folder`` (``..``, ``/x``) is left out with a warning."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, value in values.items():
        try:
            validation.validate_read_key("key", key)
        except InvalidParameterValue as e:
            log.warning("%s: not exported: %s", folder, e)
            continue
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(str(value), encoding="utf-8")


def write_run_io(store: FileStore, run_id: str, folder: Path) -> None:
    """Write the run's inputs and outputs into its exported ``folder`` (and the
    datasets it used into its experiment's ``datasets/``)."""
    run_path = store.run_path(run_id)
    try:
        recorded = inputs_files.read_inputs(run_path)
    except CorruptedRecord as e:
        log.warning("not exporting the inputs of run %s: %s", run_id, e)
        recorded = {"datasets": [], "models": []}
    for entry in recorded["datasets"]:
        dataset_id = _md5(entry["name"], entry["digest"])
        where = folder.parent / "datasets" / dataset_id
        if not (where / "meta.yaml").exists():
            fields = ("name", "digest", "source_type", "source", "schema", "profile")
            write_meta(where, {k: entry.get(k) for k in fields})
        _edge(folder / "inputs" / _md5(dataset_id, run_id), "DATASET", dataset_id, "RUN",
              dataset_id, entry.get("tags") or {})  # fmt: skip
    for entry in recorded["models"]:
        model_id = entry["model_id"]
        _edge(folder / "inputs" / _md5(model_id, run_id), "MODEL", model_id, "RUN", model_id, {})
    for output in logged_models.run_outputs(run_path).model_outputs:
        where = folder / "outputs" / output.model_id
        edge = {"step": output.step}
        _edge(where, "RUN_OUTPUT", output.model_id, "MODEL_OUTPUT", output.model_id, {}, edge)


def _edge(
    folder: Path,
    source_type: str,
    source_id: str,
    destination_type: str,
    destination_id: str,
    tags: dict[str, str],
    extra: dict[str, Any] | None = None,
) -> None:
    """One ``inputs/`` or ``outputs/`` entry as MLflow's file store writes it (it names
    the model or dataset in both ids; its reader takes the one it needs)."""
    if (folder / "meta.yaml").exists():  # MLflow keeps one input per dataset and run
        log.warning("%s: one input per dataset and run in MLflow; the first one is kept", folder)
        return
    meta = {
        "source_type": source_type,
        "source_id": source_id,
        "destination_type": destination_type,
        "destination_id": destination_id,
        "tags": dict(tags),
        **(extra or {}),
    }
    write_meta(folder, meta)


def write_logged_models(store: FileStore, folders: dict[str, Path]) -> int:
    """Write every logged model of the store into its experiment's ``models/``
    (``folders``: experiment id -> its exported folder); return how many."""
    count = 0
    for model in logged_models.all_models(store, None):
        # the model's files are in its run, in the run's experiment folder
        exp = folders.get(store.get_run(model.source_run_id).info.experiment_id)
        if exp is None:
            continue
        _write_model(exp, model)
        count += 1
    return count


def _write_model(exp: Path, model: LoggedModel) -> None:
    folder = exp / "models" / model.model_id
    artifacts = exp / model.source_run_id / "artifacts" / model.artifact_path
    write_meta(
        folder,
        {
            "artifact_location": artifacts.as_uri(),
            "creation_timestamp": model.creation_timestamp,
            "experiment_id": exp.name,
            "last_updated_timestamp": model.last_updated_timestamp,
            "lifecycle_stage": "active",
            "model_id": model.model_id,
            "model_type": model.model_type,
            "name": model.name,
            "source_run_id": model.source_run_id,
            "status": _STATUS_NUMBER.get(model.status, 0),
            "status_message": model.status_message,
        },
    )
    write_values(folder / "params", model.params)
    write_values(folder / "tags", model.tags)
    lines: dict[str, list[str]] = {}
    for m in sorted(model.metrics, key=lambda m: (m.timestamp, m.step, m.run_id or "")):
        fields = [str(m.timestamp), repr(m.value), str(m.step), m.run_id or ""]
        dataset = [m.dataset_name or "", m.dataset_digest or ""]
        if all(dataset) and not any(c.isspace() for c in "".join(dataset)):
            fields += dataset
        elif any(dataset):  # MLflow's file store splits its lines on spaces
            log.warning("%s: a metric exported without its dataset %r", model.model_id, dataset)
        lines.setdefault(m.key, []).append(" ".join(fields) + "\n")
    write_values(folder / "metrics", {k: "".join(v) for k, v in lines.items()})
