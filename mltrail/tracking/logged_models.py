"""MLflow 3's logged models and run inputs over the store's records (the rules, not the
files: those are ``mltrail.store.logged_models`` and ``mltrail.store.inputs``).

MLflow's linking rules, kept here: a metric logged with ``model_id`` is linked to that
model; a metric logged by the fluent API without one is linked to the active model
(``MLFLOW_ACTIVE_MODEL_ID``), else to the models the run logged at the same step; a
model logged at a step takes the run's metrics already logged at that step.  A
metric's dataset is recorded as an input of the run when it is not one yet.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

from mltrail.entities import Metric, Run
from mltrail.errors import InvalidParameterValue
from mltrail.logged_entities import (
    DatasetInput,
    DatasetRecord,
    DeferredRunInputs,
    DeferredRunOutputs,
    InputTag,
    LoggedModel,
    LoggedModelInput,
    LoggedModelOutput,
    RunInputs,
    RunOutputs,
)
from mltrail.store import inputs as inputs_files
from mltrail.store import layout
from mltrail.store import logged_models as files
from mltrail.store.store import FileStore

CONTEXT_TAG = "mlflow.data.context"
ACTIVE_MODEL_ENV = "MLFLOW_ACTIVE_MODEL_ID"
_SOURCE_TAGS = {"mlflow.source.name": "name", "mlflow.source.type": "type"}

#: run id -> (stat of its logged-models folder, step -> ids of the models logged at that
#: step): read again when the folder changes (another process logged a model into the run).
_outputs: dict[str, tuple[tuple[int, int] | None, dict[int, list[str]]]] = {}
_outputs_lock = threading.Lock()
_last_model_id: str | None = None


def active_model_id() -> str | None:
    """The active model's id (``MLFLOW_ACTIVE_MODEL_ID``), if one is set."""
    return os.environ.get(ACTIVE_MODEL_ENV) or None


def last_model_id() -> str | None:
    return _last_model_id


# ---------------------------------------------------------------- models


def create(
    store: FileStore,
    run_id: str,
    name: str,
    artifact_path: str,
    *,
    model_id: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    status: str = "READY",
    link_existing: bool = True,
) -> str:
    """Write the record of a model logged in run ``run_id``; return its id.

    ``status`` is ``PENDING`` for a model whose files are still to come (MLflow's client
    over REST finalizes it later); ``link_existing=False`` leaves the run's metrics at
    ``step`` unlinked (MLflow's client links them itself).
    """
    global _last_model_id
    store._check_writable()
    run_path = store._existing_run_path(run_id)
    run = store.get_run(run_id)
    now = int(time.time() * 1000)
    keys = ("mlflow.source.name", "mlflow.source.type", "mlflow.user")
    system = {k: run.data.tags[k] for k in keys if k in run.data.tags}
    model_id = model_id or files.new_model_id()
    rec = {
        "model_id": model_id,
        "name": name,
        "experiment_id": run.info.experiment_id,
        "source_run_id": run_id,
        "artifact_path": artifact_path,
        "status": status,
        "creation_timestamp": now,
        "last_updated_timestamp": now,
        "model_type": model_type,
        "step": int(step),
        # MLflow's rule: the model takes the given params and the run's (which win).
        "params": dict(sorted({**_texts(params), **dict(run.data.params)}.items())),
        "tags": dict(sorted({**system, **_texts(tags)}.items())),
    }
    files.write_record(run_path, rec)
    _last_model_id = model_id
    if link_existing:
        _link_existing(store, run_id, model_id, int(step))
    return model_id


def _texts(values: dict[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (values or {}).items()}


def _folder_stat(run_path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(files.models_dir(run_path))
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_nlink)


def _steps(store: FileStore, run_id: str) -> dict[int, list[str]]:
    """Step -> the models run ``run_id`` logged at it, read again whenever its
    ``logged-models/`` folder changed (one stat per call)."""
    run_path = store.run_path(run_id)
    stat = _folder_stat(run_path)
    known = _outputs.get(run_id)
    if known is not None and known[0] == stat:
        return known[1]
    found: dict[int, list[str]] = {}
    records, bad = files.list_records(run_path) if stat is not None else ([], [])
    for rec in records:
        found.setdefault(rec["step"], []).append(rec["model_id"])
    if not bad:  # a record being written now (its folder made, not its file) is read later
        with _outputs_lock:
            _outputs[run_id] = (stat, found)
    return found


def outputs_at(store: FileStore, run_id: str, step: int) -> list[str]:
    """The models run ``run_id`` logged at ``step`` (by any process)."""
    return _steps(store, run_id).get(step, [])


def has_outputs(store: FileStore, run_id: str) -> bool:
    """Whether run ``run_id`` logged any model (by any process)."""
    return bool(_steps(store, run_id))


def _link_existing(store: FileStore, run_id: str, model_id: str, step: int) -> None:
    points: list[Metric] = []
    for key in store.get_run(run_id).data.metrics:
        points.extend(m for m in store.get_metric_history(run_id, key) if m.step == step)
    if points:
        link(store, run_id, model_id, points)


def get(store: FileStore, model_id: str) -> LoggedModel:
    """The logged model ``model_id`` with its linked metrics (ResourceNotFound otherwise)."""
    run_path = files.find_model(store.root, model_id, write_cache=not store.read_only)
    return _entity(run_path, files.read_record(files.model_dir(run_path, model_id) / files.RECORD))


def _entity(run_path: Path, rec: dict[str, Any]) -> LoggedModel:
    folder = files.model_dir(run_path, rec["model_id"])
    metrics = [
        Metric(
            p.key,
            p.value,
            p.timestamp,
            p.step,
            rec["model_id"],
            p.dataset_name,
            p.dataset_digest,
            p.run_id,
        )
        for p in files.read_links(folder)
    ]
    location = (run_path / layout.ARTIFACTS_DIR / rec["artifact_path"]).as_uri()
    return LoggedModel(
        model_id=rec["model_id"],
        name=rec["name"],
        experiment_id=rec["experiment_id"],
        source_run_id=rec["source_run_id"],
        artifact_location=location,
        artifact_path=rec["artifact_path"],
        creation_timestamp=rec["creation_timestamp"],
        last_updated_timestamp=rec["last_updated_timestamp"],
        status=rec["status"],
        model_type=rec.get("model_type"),
        status_message=rec.get("status_message"),
        tags=dict(rec.get("tags") or {}),
        params=dict(rec.get("params") or {}),
        metrics=metrics,
        step=rec["step"],
    )


def of_run(run_path: Path) -> list[LoggedModel]:
    """The logged models of one run folder (damaged records left out with a warning)."""
    records, bad = files.list_records(run_path)
    for error in bad:
        import logging

        logging.getLogger(__name__).warning("skipping an unreadable logged model: %s", error)
    return [_entity(run_path, rec) for rec in records]


def all_models(store: FileStore, experiment_ids: list[str] | None) -> list[LoggedModel]:
    """Every logged model of the store (of ``experiment_ids`` when given)."""
    wanted = None if experiment_ids is None else {str(e) for e in experiment_ids}
    aliases = store.experiments.aliases()
    seen: set[Path] = set()
    found = []
    for run_path, _ in files.all_model_folders(store.root):
        if run_path in seen:
            continue
        seen.add(run_path)
        for model in of_run(run_path):
            exp = aliases.get(model.experiment_id, model.experiment_id)
            if wanted is None or exp in wanted or model.experiment_id in wanted:
                found.append(model)
    return found


def update_tags(
    store: FileStore, model_id: str, tags: dict[str, Any], delete: tuple[str, ...] = ()
) -> None:
    """Set (and delete) tags of a logged model; commit when its run has ended."""
    from mltrail import validation

    store._check_writable()
    checked = {validation.validate_key("tag", k): validation.validate_tag_value(k, v)
               for k, v in tags.items()}  # fmt: skip
    run_path = files.find_model(store.root, model_id)
    files.update_tags(store.root, run_path, model_id, checked, delete)
    store.after_write_if_ended(run_path.name, f"Tag logged model {model_id}")


def finalize(store: FileStore, model_id: str, status: str) -> None:
    """Set the status of a logged model (``READY`` or ``FAILED``) once its files are in."""
    if status not in ("READY", "FAILED"):
        raise InvalidParameterValue(
            f"Invalid status {status!r} to finalize logged model {model_id}: READY or FAILED."
        )
    _change(store, model_id, f"Finalize logged model {model_id}", status=status)


def log_params(store: FileStore, model_id: str, params: dict[str, Any]) -> None:
    """Add params to a logged model (a param keeps its first value, as a run's)."""
    from mltrail import validation

    checked = {validation.validate_key("param", k): validation.validate_param_value(k, v)
               for k, v in params.items()}  # fmt: skip
    _change(store, model_id, f"Log params of logged model {model_id}", params=checked)


def _change(store: FileStore, model_id: str, title: str, **change: Any) -> None:
    store._check_writable()
    run_path = files.find_model(store.root, model_id)
    now = int(time.time() * 1000)

    def apply(rec: dict[str, Any]) -> None:
        if "status" in change:
            rec["status"] = change["status"]
        if "params" in change:
            known = dict(rec.get("params") or {})
            changed = sorted(k for k, v in change["params"].items() if known.get(k, v) != v)
            if changed:
                raise InvalidParameterValue(
                    f"Logged model {model_id} already has params {changed} with other values; "
                    "a param's value cannot change."
                )
            rec["params"] = dict(sorted({**change["params"], **known}.items()))
        rec["last_updated_timestamp"] = now

    files.update_record(store.root, run_path, model_id, apply)
    store.after_write_if_ended(run_path.name, title)


# ---------------------------------------------------------------- linked metrics


def link(
    store: FileStore,
    run_id: str,
    model_id: str,
    points: list[Metric],
    dataset_name: str | None = None,
    dataset_digest: str | None = None,
) -> None:
    """Link metric points logged by run ``run_id`` to logged model ``model_id``."""
    source = files.find_model(store.root, model_id)
    folder = files.model_dir(source, model_id)
    for m in points:
        point = files.LinkedPoint(m.key, float(m.value), int(m.timestamp), int(m.step), run_id,
                                  dataset_name, dataset_digest)  # fmt: skip
        files.append_link(folder, run_id, point)
    if source.name != run_id:
        inputs_files.add_inputs(store.root, store.run_path(run_id), [], [model_id])
        store.after_write_if_ended(source.name, f"Link metrics to logged model {model_id}")


def after_metric(
    store: FileStore,
    run_id: str,
    points: list[Metric],
    model_id: str | None,
    dataset: Any,
    fluent: bool,
) -> None:
    """Apply MLflow's linking rules to points just logged (see the module's docstring)."""
    name = digest = None
    if dataset is not None:
        entry = dataset_entry(dataset, None, None)
        name, digest = entry["name"], entry["digest"]
        run_path = store.run_path(run_id)
        known = inputs_files.read_inputs(run_path)["datasets"]
        if all((d["name"], d["digest"]) != (name, digest) for d in known):  # MLflow's rule
            inputs_files.add_inputs(store.root, run_path, [entry], [])
    if model_id is None and fluent:
        model_id = active_model_id()
    if model_id is not None:
        link(store, run_id, model_id, points, name, digest)
        return
    if not fluent:
        return
    by_step: dict[int, list[Metric]] = {}
    for m in points:
        by_step.setdefault(m.step, []).append(m)
    for step, group in by_step.items():
        for mid in outputs_at(store, run_id, step):
            link(store, run_id, mid, group, name, digest)


# ---------------------------------------------------------------- inputs and outputs


def dataset_entry(dataset: Any, context: str | None, tags: dict[str, Any] | None) -> dict[str, Any]:
    """The stored form of a dataset (``from_pandas`` ..., or a recorded ``DatasetRecord``)."""
    if isinstance(dataset, DatasetInput):
        dataset = dataset.dataset
    fields = dataset.to_dict() if hasattr(dataset, "to_dict") else dict(dataset)
    entry: dict[str, Any] = {}
    for key in ("name", "digest", "source_type", "source", "schema", "profile"):
        value = fields.get(key)
        if key in inputs_files.DATASET_TEXT_FIELDS and not isinstance(value, str):
            raise InvalidParameterValue(
                f"log_input needs a dataset with a text {key}; got {value!r}."
            )
        if value is not None:
            entry[key] = str(value)
    all_tags = _texts(tags)
    if context is not None:
        all_tags[CONTEXT_TAG] = str(context)
    if all_tags:
        entry["tags"] = dict(sorted(all_tags.items()))
    wrong = inputs_files.dataset_problem(entry)
    if wrong:
        raise InvalidParameterValue(f"log_input: the dataset {wrong}.")
    return entry


def log_inputs(
    store: FileStore, run_id: str, datasets: list[dict[str, Any]], models: list[str]
) -> None:
    store._check_writable()
    inputs_files.add_inputs(store.root, store._existing_run_path(run_id), datasets, models)
    store.after_write_if_ended(run_id, "Log inputs")


def run_inputs(run_path: Path) -> RunInputs:
    rec = inputs_files.read_inputs(run_path)
    datasets = [
        DatasetInput(
            DatasetRecord(
                d["name"],
                d["digest"],
                d["source_type"],
                d["source"],
                d.get("schema"),
                d.get("profile"),
            ),
            [InputTag(k, v) for k, v in sorted((d.get("tags") or {}).items())],
        )
        for d in rec["datasets"]
    ]
    return RunInputs(datasets, [LoggedModelInput(m["model_id"]) for m in rec["models"]])


def with_deferred_io(store: FileStore, run: Run) -> Run:
    """``run`` whose ``inputs`` and ``outputs`` are read from its files on first use."""
    run_id = run.info.run_id
    return Run(
        run.info,
        run.data,
        DeferredRunInputs(lambda: run_inputs(store.run_path(run_id))),
        DeferredRunOutputs(lambda: run_outputs(store.run_path(run_id))),
    )


def run_outputs(run_path: Path) -> RunOutputs:
    records = files.list_records(run_path)[0]
    ordered = sorted(records, key=lambda r: (r["creation_timestamp"], r["model_id"]))
    return RunOutputs([LoggedModelOutput(r["model_id"], r["step"]) for r in ordered])
