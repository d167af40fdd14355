"""A field-by-field comparison of an MLflow store (read by MLflow's own client) with an
mltrail store (read by mltrail's client): every experiment, run and registry field."""

from __future__ import annotations

import math
from typing import Any

#: Tags mltrail derives from run.yaml fields; present in mltrail even when MLflow had none.
DERIVED = {"mlflow.user", "mlflow.runName", "mlflow.parentRunId", "mlflow.source.type"}


def _points(history: list[Any]) -> list[tuple[int, int, str]]:
    return sorted((m.timestamp, m.step, repr(m.value)) for m in history)


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
        if _points(ml.get_metric_history(rid, key)) != _points(trail.get_metric_history(rid, key)):
            diffs.append(f"run {rid} history {key}")
    mine_files = _files(trail, rid, "")
    if _files(ml, rid, "") - mine_files:
        diffs.append(f"run {rid} artifacts {_files(ml, rid, '')} vs {mine_files}")
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
