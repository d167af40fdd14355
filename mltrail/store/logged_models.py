"""MLflow 3's logged models, as files of the run that logged them (docs/FORMAT.md,
"Logged models")::

    runs/<shard>/<run_id>/logged-models/<model_id>/model.yaml        the record
    runs/<shard>/<run_id>/logged-models/<model_id>/metrics/<rid>.tsv  metrics run <rid> linked

The model's files stay where ``log_model`` always put them (the run's artifacts, at
``artifact_path``); the record points at them.  Each links file is appended to by the
processes of one run only (the one named by the file), so two clones never write the
same file.  ``.cache/logged-models.json`` maps model ids to run ids; it is derived
(rebuilt by listing run folders when an id is missing from it) and never trusted:
the record it leads to must name the same id.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from mltrail import validation
from mltrail.errors import CorruptedRecord, ResourceNotFound
from mltrail.store import formats, layout, locks

log = logging.getLogger(__name__)

MODELS_DIR = "logged-models"
RECORD = "model.yaml"
LINKS_DIR = "metrics"
INDEX_FILE = "logged-models.json"
MODEL_ID = re.compile(r"m-[A-Za-z0-9_-]{1,64}")
RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
STATUSES = ("PENDING", "READY", "FAILED")
_TEXT_FIELDS = ("name", "experiment_id", "source_run_id", "artifact_path", "status")
#: Characters written as %XX in the text fields of a links line.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f%]")


@dataclass(frozen=True)
class LinkedPoint:
    """One metric value linked to a model (a line of ``metrics/<run_id>.tsv``)."""

    key: str
    value: float
    timestamp: int
    step: int
    run_id: str
    dataset_name: str | None = None
    dataset_digest: str | None = None


def new_model_id() -> str:
    """``m-`` and 32 hex digits, time-sortable and random like a run id."""
    return "m-" + layout.new_run_id()


def models_dir(run_path: Path) -> Path:
    return run_path / MODELS_DIR


def model_dir(run_path: Path, model_id: str) -> Path:
    if not MODEL_ID.fullmatch(model_id):
        raise ResourceNotFound(f"{model_id!r} is not a logged model id (m-<32 hex digits>).")
    return run_path / MODELS_DIR / model_id


# ---------------------------------------------------------------- the record


def write_record(run_path: Path, rec: dict[str, Any]) -> Path:
    """Write a new model record (validated first)."""
    path = model_dir(run_path, rec["model_id"]) / RECORD
    check_record(path, rec, run_path.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    formats.write_yaml(path, rec)
    return path


def read_record(path: Path, run_id: str | None = None) -> dict[str, Any]:
    """The record at ``path``, checked; CorruptedRecord names the file otherwise."""
    rec = formats.read_mapping(path, missing_ok=False)
    check_record(path, rec, run_id if run_id is not None else path.parent.parent.parent.name)
    return rec


def check_record(path: Path, rec: dict[str, Any], run_id: str) -> None:
    """Raise CorruptedRecord naming ``path`` unless ``rec`` is a valid model record."""
    wrong = _problem(path, rec, run_id)
    if wrong:
        raise CorruptedRecord(f"{path}: {wrong}; fix or remove the file.")


def _problem(path: Path, rec: dict[str, Any], run_id: str) -> str | None:
    model_id = rec.get("model_id")
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        return "model_id is not m-<id>"
    if path.parent.name != model_id:
        return f"model_id {model_id!r} is not its folder's name"
    for name in _TEXT_FIELDS:
        value = rec.get(name)
        if not isinstance(value, str) or validation.first_unprintable(value) is not None:
            return f"{name} must be text without control characters"
    if rec["source_run_id"] != run_id:
        return f"source_run_id is not the run folder's id {run_id!r}"
    if rec["status"] not in STATUSES:
        return f"status must be one of {', '.join(STATUSES)}"
    try:
        from mltrail.store.artifacts import safe_relpath

        if safe_relpath(rec["artifact_path"]) != rec["artifact_path"] or not rec["artifact_path"]:
            return "artifact_path must be a clean relative path"
    except ValueError:
        return "artifact_path must stay inside the run's artifacts"
    for name in ("creation_timestamp", "last_updated_timestamp", "step"):
        if type(rec.get(name)) is not int:
            return f"{name} must be an integer"
    for name in ("model_type", "status_message"):
        if rec.get(name) is not None and not isinstance(rec[name], str):
            return f"{name} must be text or null"
    for name in ("params", "tags"):
        value = rec.get(name, {})
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return f"{name} must map text to text"
    return None


def update_record(
    root: Path, run_path: Path, model_id: str, change: Callable[[dict[str, Any]], None]
) -> dict[str, Any]:
    """Apply ``change`` to a model record in place (read-modify-write under its lock)."""
    path = model_dir(run_path, model_id) / RECORD
    with locks.hold_record(root, path):
        rec = read_record(path, run_path.name)
        change(rec)
        check_record(path, rec, run_path.name)
        formats.write_yaml(path, rec)
    return rec


def update_tags(
    root: Path, run_path: Path, model_id: str, set_: dict[str, str], delete: tuple[str, ...]
) -> dict[str, Any]:
    """Set and delete tags of a model record (read-modify-write under its lock)."""

    def change(rec: dict[str, Any]) -> None:
        tags = dict(rec.get("tags") or {})
        tags.update(set_)
        for key in delete:
            tags.pop(key, None)
        rec["tags"] = dict(sorted(tags.items()))

    return update_record(root, run_path, model_id, change)


def list_records(run_path: Path) -> tuple[list[dict[str, Any]], list[CorruptedRecord]]:
    """The valid records of a run's logged models (sorted by id) and the damaged ones."""
    found: list[dict[str, Any]] = []
    bad: list[CorruptedRecord] = []
    folder = models_dir(run_path)
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return found, bad
    for name in names:
        if name.startswith("."):
            continue
        try:
            found.append(read_record(folder / name / RECORD, run_path.name))
        except (CorruptedRecord, OSError) as e:
            bad.append(
                e if isinstance(e, CorruptedRecord) else CorruptedRecord(f"{folder / name}: {e}")
            )
    return found, bad


# ---------------------------------------------------------------- linked metrics


def _text(value: str | None) -> str:
    if value is None:
        return ""
    return _UNSAFE.sub(lambda m: quote(m.group(), safe=""), value) if value else "%"


def _untext(field: str) -> str | None:
    if field == "":
        return None
    if field == "%":
        return ""
    return unquote(field, errors="strict")


def format_link(point: LinkedPoint) -> bytes:
    """One line of a links file: timestamp, value, step, key, dataset name and digest,
    tab-separated (text with ``%``, tab or control characters as ``%XX``; empty: none)."""
    fields = (
        str(point.timestamp),
        repr(float(point.value)),
        str(point.step),
        _text(point.key),
        _text(point.dataset_name),
        _text(point.dataset_digest),
    )
    return ("\t".join(fields) + "\n").encode()


def parse_links(run_id: str, data: bytes) -> list[LinkedPoint]:
    """The points of a links file; malformed lines and a last line without ``\\n`` are
    skipped (as in metric histories)."""
    points: list[LinkedPoint] = []
    lines = data.split(b"\n")
    for raw in lines[:-1]:
        point = _parse_line(run_id, raw)
        if point is not None:
            points.append(point)
    return points


def _parse_line(run_id: str, raw: bytes) -> LinkedPoint | None:
    try:
        ts, value, step, key, name, digest = raw.decode().split("\t")
        number = float(value)
        if value.strip() != value or (math.isnan(number) and value != "nan"):
            return None
        text_key = _untext(key)
        if not text_key:
            return None
        validation.validate_read_key("metric", text_key)
        return LinkedPoint(
            text_key, number, int(ts), int(step), run_id, _untext(name), _untext(digest)
        )
    except (ValueError, UnicodeDecodeError, TypeError):
        return None


def append_link(model_path: Path, run_id: str, point: LinkedPoint) -> None:
    """Append one point to ``metrics/<run_id>.tsv`` of a model (one ``write()``)."""
    folder = model_path / LINKS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / f"{run_id}.tsv", os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        formats.repair_tail(fd)
        os.write(fd, format_link(point))
    finally:
        os.close(fd)


def read_links(model_path: Path) -> list[LinkedPoint]:
    """Every linked point of a model, by run then in logged order."""
    folder = model_path / LINKS_DIR
    try:
        names = sorted(os.listdir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return []
    points: list[LinkedPoint] = []
    for name in names:
        run_id = name[: -len(".tsv")]
        if not name.endswith(".tsv") or not RUN_ID.fullmatch(run_id):
            continue
        try:
            data = formats.read_bytes(folder / name)
        except (OSError, CorruptedRecord) as e:
            log.warning("skipping the unreadable linked metrics %s: %s", folder / name, e)
            continue
        points.extend(parse_links(run_id, data))
    return points


# ---------------------------------------------------------------- finding a model by id


def find_model(root: Path, model_id: str, *, write_cache: bool = True) -> Path:
    """The run folder holding logged model ``model_id`` (ResourceNotFound otherwise)."""
    if not isinstance(model_id, str) or not MODEL_ID.fullmatch(model_id):
        raise ResourceNotFound(f"{model_id!r} is not a logged model id (m-<32 hex digits>).")
    cached = _read_index(root).get(model_id)
    if cached is not None:
        run_path = layout.run_dir(root, cached)
        if (model_dir(run_path, model_id) / RECORD).is_file():
            return run_path
    index = {mid: run_id for run_id, mid in _scan(root)}
    if write_cache:
        _write_index(root, index)
    if model_id in index:
        return layout.run_dir(root, index[model_id])
    raise ResourceNotFound(f"No logged model with id {model_id!r} in the store at {root}.")


def all_model_folders(root: Path) -> list[tuple[Path, str]]:
    """(run folder, model id) of every logged model of the store."""
    return [(layout.run_dir(root, run_id), mid) for run_id, mid in _scan(root)]


def _scan(root: Path) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for run_id, path in layout.iter_run_folders(os.fspath(root)):
        try:
            names = os.listdir(os.path.join(path, MODELS_DIR))
        except (FileNotFoundError, NotADirectoryError):
            continue
        found.extend((run_id, n) for n in sorted(names) if MODEL_ID.fullmatch(n))
    return found


def _read_index(root: Path) -> dict[str, str]:
    path = root / layout.CACHE_DIR / INDEX_FILE
    try:
        data = json.loads(formats.read_bytes(path, limit=64 << 20))
    except (OSError, ValueError, CorruptedRecord):
        return {}
    if not isinstance(data, dict) or not isinstance(data.get("models"), dict):
        return {}
    return {
        k: v
        for k, v in data["models"].items()
        if isinstance(k, str)
        and isinstance(v, str)
        and MODEL_ID.fullmatch(k)
        and RUN_ID.fullmatch(v)
    }


def _write_index(root: Path, index: dict[str, str]) -> None:
    path = root / layout.CACHE_DIR / INDEX_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        formats.write_atomic(path, json.dumps({"version": 1, "models": index}, sort_keys=True))
    except OSError as e:  # a cache: not writing it only costs the next lookup a scan
        log.debug("could not write %s: %s", path, e)
