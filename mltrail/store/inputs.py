"""A run's inputs: the datasets it used and the logged models it read
(``runs/<shard>/<run_id>/inputs.yaml``; docs/FORMAT.md, "Run inputs").

The record belongs to its run's folder, so only that run's processes write it, under
the record's lock (read-modify-write by rename, as ``tags.yaml``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mltrail import validation
from mltrail.errors import CorruptedRecord
from mltrail.store import formats, locks
from mltrail.store.logged_models import MODEL_ID

INPUTS_FILE = "inputs.yaml"
DATASET_TEXT_FIELDS = ("name", "digest", "source_type", "source")
DATASET_JSON_FIELDS = ("schema", "profile")
MAX_DATASET_NAME = 500
MAX_JSON_TEXT = 1 << 20


def read_inputs(run_path: Path) -> dict[str, Any]:
    """``{"datasets": [...], "models": [...]}`` of a run, checked (CorruptedRecord names
    the file); both lists are empty when the run has no ``inputs.yaml``."""
    path = run_path / INPUTS_FILE
    rec = formats.read_mapping(path)
    datasets = rec.get("datasets") or []
    models = rec.get("models") or []
    if not isinstance(datasets, list) or not isinstance(models, list):
        raise CorruptedRecord(f"{path}: datasets and models must be lists; fix or remove the file.")
    for entry in datasets:
        wrong = dataset_problem(entry)
        if wrong:
            raise CorruptedRecord(f"{path}: a dataset entry {wrong}; fix or remove the file.")
    for entry in models:
        if not isinstance(entry, dict) or not (
            isinstance(entry.get("model_id"), str) and MODEL_ID.fullmatch(entry["model_id"])
        ):
            raise CorruptedRecord(f"{path}: a model entry has no valid model_id; fix or remove it.")
    return {"datasets": datasets, "models": models}


def dataset_problem(entry: Any) -> str | None:
    """What is wrong with one dataset entry, or None."""
    if not isinstance(entry, dict):
        return "is not a mapping"
    for name in DATASET_TEXT_FIELDS:
        value = entry.get(name)
        if not isinstance(value, str) or len(value) > MAX_JSON_TEXT:
            return f"needs {name} as text"
    if validation.first_unprintable(entry["name"]) or len(entry["name"]) > MAX_DATASET_NAME:
        return "has a name with control characters or over 500 characters"
    for name in DATASET_JSON_FIELDS:
        value = entry.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > MAX_JSON_TEXT):
            return f"has a {name} that is not text"
    tags = entry.get("tags", {})
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        return "has tags that do not map text to text"
    return None


def add_inputs(
    root: Path, run_path: Path, datasets: list[dict[str, Any]], model_ids: list[str]
) -> bool:
    """Add dataset entries and model ids not recorded yet; return whether anything changed.

    A dataset is the same input when its name, digest and tags are (MLflow's rule).
    """
    path = run_path / INPUTS_FILE
    with locks.hold_record(root, path):
        current = read_inputs(run_path)
        changed = False
        for entry in datasets:
            wrong = dataset_problem(entry)
            if wrong:
                raise ValueError(f"dataset input {wrong}")
            same = (entry["name"], entry["digest"], entry.get("tags", {}))
            if all(
                (d["name"], d["digest"], d.get("tags", {})) != same for d in current["datasets"]
            ):
                current["datasets"].append(entry)
                changed = True
        known = {m["model_id"] for m in current["models"]}
        for model_id in model_ids:
            if model_id not in known:
                current["models"].append({"model_id": model_id})
                known.add(model_id)
                changed = True
        if changed:
            formats.write_yaml(path, {k: v for k, v in current.items() if v})
    return changed
