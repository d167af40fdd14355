"""A field-by-field comparison of an MLflow store (read by MLflow's own client) with an
mltrail store (read by mltrail's client): every experiment, run, logged model, dataset
input and registry field."""

from __future__ import annotations

import math
from typing import Any

#: Tags mltrail derives from run.yaml fields; present in mltrail even when MLflow had none.
DERIVED = {"mlflow.user", "mlflow.runName", "mlflow.parentRunId", "mlflow.source.type"}


def _same_history(theirs: list[Any], mine: list[Any]) -> bool:
    """Every point the same; MLflow's file store reads the step of a value logged with a
    dataset as 0 (its reader takes the step only from three-field lines), so there a
    step is not compared."""
    a = sorted((m.timestamp, repr(m.value), m.step, bool(m.dataset_name)) for m in theirs)
    b = sorted((m.timestamp, repr(m.value), m.step) for m in mine)
    return len(a) == len(b) and all(
        x[:2] == y[:2] and (x[2] == y[2] or x[3]) for x, y in zip(a, b, strict=True)
    )


def compare_stores(ml: Any, trail: Any, id_map: dict[str, str] | None = None) -> list[str]:
    """Differences between ``ml`` (an ``mlflow.MlflowClient``) and ``trail`` (an
    ``mltrail.Client``); [] when every field came across."""
    from mlflow.entities import ViewType

    id_map = id_map or {}
    diffs: list[str] = []
    ours = {e.name: e for e in trail.search_experiments(view_type=3)}
    for exp in ml.search_experiments(view_type=ViewType.ALL):
        mine = ours.get(exp.name)
        if mine is None:
            diffs.append(f"experiment {exp.name} missing")
            continue
        if exp.name != "Default":
            for field in ("lifecycle_stage", "creation_time"):
                if getattr(exp, field) != getattr(mine, field):
                    diffs.append(f"experiment {exp.name} {field}")
            if id_map.get(exp.experiment_id, exp.experiment_id) != mine.experiment_id:
                diffs.append(f"experiment {exp.name} id")
            if exp.tags != mine.tags:
                diffs.append(f"experiment {exp.name} tags {exp.tags} != {mine.tags}")
        for run in ml.search_runs([exp.experiment_id], run_view_type=ViewType.ALL):
            diffs += compare_run(ml, trail, run, mine.experiment_id)
        diffs += compare_logged_models(ml, trail, exp.experiment_id, mine.experiment_id)
    diffs += compare_registry(ml, trail)
    return diffs


def compare_run(ml: Any, trail: Any, run: Any, experiment_id: str) -> list[str]:
    rid = run.info.run_id
    try:
        mine = trail.get_run(rid)
    except Exception as e:
        return [f"run {rid} missing ({e})"]
    diffs = []
    for field in ("run_name", "status", "start_time", "end_time", "lifecycle_stage", "user_id"):
        if getattr(run.info, field) != getattr(mine.info, field):
            diffs.append(
                f"run {rid} {field}: {getattr(run.info, field)!r} != {getattr(mine.info, field)!r}"
            )
    if mine.info.experiment_id != experiment_id:
        diffs.append(f"run {rid} experiment")
    if run.data.params != mine.data.params:
        diffs.append(f"run {rid} params")
    extra = set(mine.data.tags) - set(run.data.tags)
    if {k: mine.data.tags.get(k) for k in run.data.tags} != run.data.tags or extra - DERIVED:
        diffs.append(f"run {rid} tags {run.data.tags} != {mine.data.tags}")
    if set(run.data.metrics) != set(mine.data.metrics):
        diffs.append(f"run {rid} metric keys")
    for key, value in run.data.metrics.items():
        theirs = mine.data.metrics.get(key)
        if theirs is None or not (value == theirs or (math.isnan(value) and math.isnan(theirs))):
            diffs.append(f"run {rid} metric {key} latest {value} != {theirs}")
        if not _same_history(ml.get_metric_history(rid, key), trail.get_metric_history(rid, key)):
            diffs.append(f"run {rid} history {key}")
    diffs += _compare_io(ml.get_run(rid), mine)
    mine_files = _files(trail, rid, "")
    if _files(ml, rid, "") - mine_files:
        diffs.append(f"run {rid} artifacts {_files(ml, rid, '')} vs {mine_files}")
    return diffs


def _datasets(run: Any) -> set[tuple[Any, ...]]:
    return {
        (
            d.dataset.name,
            d.dataset.digest,
            d.dataset.source_type,
            d.dataset.source,
            d.dataset.schema or None,
            d.dataset.profile or None,
            tuple(sorted((t.key, t.value) for t in d.tags)),
        )
        for d in run.inputs.dataset_inputs
    }


def _compare_io(run: Any, mine: Any) -> list[str]:
    """A run's dataset inputs, the logged models it used and the ones it logged."""
    rid, diffs = run.info.run_id, []
    if _datasets(run) != _datasets(mine):
        diffs.append(f"run {rid} datasets {_datasets(run)} != {_datasets(mine)}")
    theirs = {m.model_id for m in run.inputs.model_inputs}
    if theirs != {m.model_id for m in mine.inputs.model_inputs}:
        diffs.append(f"run {rid} model inputs {theirs}")
    outputs = {(m.model_id, m.step) for m in run.outputs.model_outputs}
    if outputs != {(m.model_id, m.step) for m in mine.outputs.model_outputs}:
        diffs.append(f"run {rid} model outputs {outputs}")
    return diffs


def _linked(model: Any) -> set[tuple[Any, ...]]:
    return {
        (m.key, repr(m.value), m.timestamp, m.step, m.run_id, m.dataset_name, m.dataset_digest)
        for m in model.metrics or []
    }


def _latest(points: set[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    """The last value per key and dataset (all an MLflow file store answers with)."""
    last: dict[tuple[Any, ...], tuple[Any, ...]] = {}
    for p in sorted(points, key=lambda p: (p[3], p[2], p[1])):
        last[(p[0], p[5], p[6])] = p
    return set(last.values())


def compare_logged_models(ml: Any, trail: Any, experiment_id: str, ours: str) -> list[str]:
    """Every logged model of an MLflow experiment against mltrail's ``get_logged_model``."""
    diffs = []
    for model in ml.search_logged_models(experiment_ids=[experiment_id]):
        mid = model.model_id
        try:
            mine = trail.get_logged_model(mid)
        except Exception as e:
            diffs.append(f"logged model {mid} missing ({e})")
            continue
        for field in (
            "name",
            "source_run_id",
            "model_type",
            "params",
            "tags",
            "creation_timestamp",
            "last_updated_timestamp",
            "status_message",
        ):
            if _norm(getattr(model, field)) != _norm(getattr(mine, field)):
                diffs.append(
                    f"logged model {mid} {field}: {getattr(model, field)!r} != "
                    f"{getattr(mine, field)!r}"
                )
        if str(model.status) != mine.status or mine.experiment_id != ours:
            diffs.append(f"logged model {mid} status or experiment")
        theirs, points = _linked(model), _linked(mine)
        # MLflow's file store answers the last value per key and dataset, SQL all of them
        if not theirs <= points or _latest(theirs) != _latest(points):
            diffs.append(f"logged model {mid} metrics {sorted(theirs)} != {sorted(points)}")
    return diffs


def _files(client: Any, run_id: str, path: str) -> set[tuple[str, int | None]]:
    found = set()
    for f in client.list_artifacts(run_id, path or None):
        if f.is_dir:
            found |= _files(client, run_id, f.path)
        else:
            found.add((f.path, f.file_size))
    return found


def compare_registry(ml: Any, trail: Any) -> list[str]:
    diffs = []
    ours = {m.name: m for m in trail.search_registered_models()}
    for model in ml.search_registered_models():
        mine = ours.get(model.name)
        if mine is None:
            diffs.append(f"model {model.name} missing")
            continue
        for field in ("description", "tags", "aliases", "creation_timestamp"):
            if _norm(getattr(model, field)) != _norm(getattr(mine, field)):
                diffs.append(
                    f"model {model.name} {field}: {getattr(model, field)!r} != "
                    f"{getattr(mine, field)!r}"
                )
        theirs = {int(v.version): v for v in ml.search_model_versions(f"name='{model.name}'")}
        for number, v in theirs.items():
            try:
                w = trail.get_model_version(model.name, number)
            except Exception as e:
                diffs.append(f"model {model.name} v{number} missing ({e})")
                continue
            for field in (
                "current_stage",
                "description",
                "tags",
                "run_id",
                "creation_timestamp",
                "last_updated_timestamp",
                "status",
            ):
                if _norm(getattr(v, field)) != _norm(getattr(w, field)):
                    diffs.append(
                        f"model {model.name} v{number} {field}: "
                        f"{getattr(v, field)!r} != {getattr(w, field)!r}"
                    )
            if getattr(v, "model_id", None) and v.model_id != w.model_id:
                diffs.append(f"model {model.name} v{number} model_id {v.model_id} != {w.model_id}")
            if not str(w.source).startswith(f"runs:/{w.run_id}/"):
                diffs.append(f"model {model.name} v{number} source {w.source}")
    return diffs


def _norm(value: Any) -> Any:
    """MLflow's backends differ in small ways (None or "" descriptions, alias versions as
    numbers or text): compared as the same."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items()}
    return value
