"""Read a model version's folder for its pages: the MLmodel file (summarized by
:mod:`mltrail.models.summary`), the input example and the requirements, each within a
size budget. Called only for pages about to be rendered.

The files are the user's: a missing or unreadable one is reported on the page (``problem``)
rather than failing the build.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue, ResourceNotFound, StoreError
from mltrail.models.summary import MLmodelSummary, SignatureSummary, read_mlmodel_summary
from mltrail.store import FileStore
from mltrail.store.artifacts import RunArtifacts

from .registry import VersionEntry

MLMODEL = "MLmodel"
REQUIREMENTS = "requirements.txt"
DEFAULT_EXAMPLE = "input_example.json"
DEFAULT_SERVING_EXAMPLE = "serving_input_example.json"
MLMODEL_BYTES = 64_000
EXAMPLE_BYTES = 32_000
REQUIREMENTS_BYTES = 16_000
_PRETTY_WIDTH = 88


@dataclass(frozen=True)
class ModelFiles:
    mlmodel: str | None
    flavors: tuple[str, ...] = ()
    python_version: str | None = None
    signature: SignatureSummary | None = None
    example: str | None = None  # pretty JSON when it parses, else the text
    example_truncated: bool = False
    requirements: tuple[str, ...] = ()
    problem: str | None = None
    #: The example as a request body, on one line of JSON; None when there is none or it
    #: is too large to check or not a JSON object.
    serving_example: str | None = None
    #: Its path in the model folder (when ``serving_example`` is not None).
    serving_example_path: str | None = None


def read_model_files(
    store: FileStore, entry: VersionEntry, artifact_store: Path | None, *, detail: bool
) -> ModelFiles:
    """The version's MLmodel (and, with ``detail``, its input example and requirements)."""
    lineage = entry.lineage
    if lineage.run_id is None or lineage.artifact_path is None:
        return ModelFiles(None, problem=lineage.problem or "the version has no run source")
    base = lineage.artifact_path.strip("/")
    try:
        arts = store.artifacts(lineage.run_id, artifact_store, offline=True)
        text, _ = _read(arts, _join(base, MLMODEL), MLMODEL_BYTES)
    except (ResourceNotFound, InvalidParameterValue, StoreError, OSError) as e:
        return ModelFiles(None, problem=f"no {MLMODEL} file: {e}")
    if text is None:
        return ModelFiles(None, problem=f"{MLMODEL} is not in this site (large-artifact store)")
    summary = read_mlmodel_summary(text)
    files = ModelFiles(
        mlmodel=text,
        flavors=summary.flavors,
        python_version=summary.python_version,
        signature=summary.signature,
        problem=summary.problem,
    )
    if not detail or not summary.readable:
        return files
    return _with_detail(files, summary, arts, base)


def _with_detail(
    files: ModelFiles, summary: MLmodelSummary, arts: RunArtifacts, base: str
) -> ModelFiles:
    example_path = summary.example_path
    example, cut = None, False
    if isinstance(example_path, str) or _exists(arts, _join(base, DEFAULT_EXAMPLE)):
        rel = _join(base, example_path if isinstance(example_path, str) else DEFAULT_EXAMPLE)
        example, cut = _safe_read(arts, rel, EXAMPLE_BYTES)
        if example is not None and not cut:
            example = _pretty_json(example)
    requirements, _ = _safe_read(arts, _join(base, REQUIREMENTS), REQUIREMENTS_BYTES)
    lines = tuple(line.strip() for line in (requirements or "").splitlines() if line.strip())
    serving_rel = summary.serving_example_path or DEFAULT_SERVING_EXAMPLE
    serving = _request_body(arts, _join(base, serving_rel))
    return ModelFiles(
        mlmodel=files.mlmodel,
        flavors=files.flavors,
        python_version=files.python_version,
        signature=files.signature,
        example=example,
        example_truncated=cut,
        requirements=lines,
        problem=files.problem,
        serving_example=serving,
        serving_example_path=serving_rel if serving is not None else None,
    )


def _request_body(arts: RunArtifacts, rel: str) -> str | None:
    """The JSON object in artifact ``rel`` on one line; None when it is missing, larger
    than the example budget, or not a JSON object."""
    text, cut = _safe_read(arts, rel, EXAMPLE_BYTES)
    if text is None or cut:
        return None
    try:
        body = json.loads(text)
        return json.dumps(body, ensure_ascii=False) if isinstance(body, dict) else None
    except (ValueError, RecursionError):
        return None


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _exists(arts: RunArtifacts, rel: str) -> bool:
    try:
        return arts.content_path(rel) is not None
    except (ResourceNotFound, InvalidParameterValue, StoreError):
        return False


def _read(arts: RunArtifacts, rel: str, limit: int) -> tuple[str | None, bool]:
    """Up to ``limit`` bytes of an artifact as text (None when its blob is absent)."""
    source = arts.content_path(rel)
    if source is None:
        return None, False
    with open(source, "rb") as f:
        data = f.read(limit + 1)
    cut = len(data) > limit
    text = data[:limit].decode("utf-8", errors="replace")
    if cut and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text, cut


def _safe_read(arts: RunArtifacts, rel: str, limit: int) -> tuple[str | None, bool]:
    try:
        return _read(arts, rel, limit)
    except (ResourceNotFound, InvalidParameterValue, StoreError, OSError):
        return None, False


def _pretty_json(text: str) -> str:
    """Indented JSON; short lists and objects, and lists of plain values (a row), stay on
    one line."""
    try:
        return _pretty(json.loads(text), 0) + "\n"
    except (ValueError, RecursionError):
        return text


def _pretty(value: Any, level: int) -> str:
    flat = json.dumps(value, ensure_ascii=False)
    if not isinstance(value, list | dict) or len(flat) + 2 * level <= _PRETTY_WIDTH or not value:
        return flat
    if isinstance(value, list) and not any(isinstance(v, list | dict) for v in value):
        return flat  # a row of values stays one line, however long
    pad = "  " * (level + 1)
    if isinstance(value, list):
        items = [pad + _pretty(v, level + 1) for v in value]
        return "[\n" + ",\n".join(items) + "\n" + "  " * level + "]"
    items = [
        f"{pad}{json.dumps(str(k), ensure_ascii=False)}: {_pretty(v, level + 1)}"
        for k, v in value.items()
    ]
    return "{\n" + ",\n".join(items) + "\n" + "  " * level + "}"


class ModelFilesCache:
    """The model folders of one build, each read once (the model page and the version
    page both show a version's files)."""

    def __init__(self, store: FileStore, artifact_store: Path | None) -> None:
        self.store = store
        self.artifact_store = artifact_store
        self._found: dict[tuple[str, bool], ModelFiles] = {}

    def get(self, entry: VersionEntry, detail: bool = False) -> ModelFiles:
        """The version's model files (``detail``: with its input example and requirements)."""
        key = entry.version.version_id
        found = self._found.get((key, True)) or self._found.get((key, detail))
        if found is None:
            found = read_model_files(self.store, entry, self.artifact_store, detail=detail)
            self._found[(key, detail)] = found
        return found
