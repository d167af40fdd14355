"""Read a model version's folder for its pages: the MLmodel file (flavors, signature), the
input example and the requirements. Called only for pages about to be rendered.

The files are the user's: a missing or unreadable one is reported on the page (``problem``)
rather than failing the build. Signatures are MLflow's JSON strings (column specs,
tensor specs, params); they are shown as text, never interpreted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from mltrail.errors import InvalidParameterValue, ResourceNotFound, StoreError
from mltrail.store import FileStore, formats
from mltrail.store.artifacts import RunArtifacts

from .models import VersionEntry

MLMODEL = "MLmodel"
REQUIREMENTS = "requirements.txt"
DEFAULT_EXAMPLE = "input_example.json"
MLMODEL_BYTES = 64_000
EXAMPLE_BYTES = 32_000
REQUIREMENTS_BYTES = 16_000
_MAX_DEPTH = 8
_PRETTY_WIDTH = 88


@dataclass(frozen=True)
class SpecField:
    name: str | None
    type: str
    required: bool = True
    default: str | None = None  # params: the default as JSON
    shape: str | None = None  # params


@dataclass(frozen=True)
class Signature:
    inputs: tuple[SpecField, ...]
    outputs: tuple[SpecField, ...]
    params: tuple[SpecField, ...]


@dataclass(frozen=True)
class ModelFiles:
    mlmodel: str | None
    flavors: tuple[str, ...] = ()
    python_version: str | None = None
    signature: Signature | None = None
    example: str | None = None  # pretty JSON when it parses, else the text
    example_truncated: bool = False
    requirements: tuple[str, ...] = ()
    problem: str | None = None


def read_model_files(
    store: FileStore, entry: VersionEntry, artifact_store: Path | None, *, detail: bool
) -> ModelFiles:
    """The version's MLmodel (and, with ``detail``, its input example and requirements)."""
    lineage = entry.lineage
    if lineage.run_id is None or lineage.artifact_path is None:
        return ModelFiles(None, problem=lineage.problem or "the version has no run source")
    base = lineage.artifact_path.strip("/")
    try:
        arts = store.artifacts(lineage.run_id, artifact_store)
        text, _ = _read(arts, _join(base, MLMODEL), MLMODEL_BYTES)
    except (ResourceNotFound, InvalidParameterValue, StoreError, OSError) as e:
        return ModelFiles(None, problem=f"no {MLMODEL} file: {e}")
    if text is None:
        return ModelFiles(None, problem=f"{MLMODEL} is not in this site (large-artifact store)")
    try:
        data = formats.parse_yaml(text)
    except yaml.YAMLError as e:
        return ModelFiles(text, problem=f"{MLMODEL} is not valid YAML: {e}")
    if not isinstance(data, dict):
        return ModelFiles(text, problem=f"{MLMODEL} does not hold a mapping")
    files = _summary(text, data)
    if not detail:
        return files
    return _with_detail(files, data, arts, base)


def _summary(text: str, data: dict[str, Any]) -> ModelFiles:
    flavors = data.get("flavors")
    flavors = flavors if isinstance(flavors, dict) else {}
    pyfunc = flavors.get("python_function")
    python = pyfunc.get("python_version") if isinstance(pyfunc, dict) else None
    signature, problem = parse_signature(data.get("signature"))
    return ModelFiles(
        mlmodel=text,
        flavors=tuple(sorted(map(str, flavors))),
        python_version=None if python is None else str(python),
        signature=signature,
        problem=problem,
    )


def _with_detail(
    files: ModelFiles, data: dict[str, Any], arts: RunArtifacts, base: str
) -> ModelFiles:
    info = data.get("saved_input_example_info")
    example_path = info.get("artifact_path") if isinstance(info, dict) else None
    example, cut = None, False
    if isinstance(example_path, str) or _exists(arts, _join(base, DEFAULT_EXAMPLE)):
        rel = _join(base, example_path if isinstance(example_path, str) else DEFAULT_EXAMPLE)
        example, cut = _safe_read(arts, rel, EXAMPLE_BYTES)
        if example is not None and not cut:
            example = _pretty_json(example)
    requirements, _ = _safe_read(arts, _join(base, REQUIREMENTS), REQUIREMENTS_BYTES)
    lines = tuple(line.strip() for line in (requirements or "").splitlines() if line.strip())
    return ModelFiles(
        mlmodel=files.mlmodel,
        flavors=files.flavors,
        python_version=files.python_version,
        signature=files.signature,
        example=example,
        example_truncated=cut,
        requirements=lines,
        problem=files.problem,
    )


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


# --- signatures ----------------------------------------------------------------------


def parse_signature(value: Any) -> tuple[Signature | None, str | None]:
    """MLmodel's ``signature`` (JSON strings), and a problem when it cannot be read."""
    if not isinstance(value, dict):
        return None, None
    try:
        inputs = _fields(_json(value.get("inputs")))
        outputs = _fields(_json(value.get("outputs")))
        params = tuple(_param(p) for p in _json(value.get("params")))
    except (ValueError, TypeError, AttributeError) as e:
        return None, f"the signature cannot be read: {e}"
    return Signature(inputs, outputs, params), None


def _json(text: Any) -> list[Any]:
    if text is None:
        return []
    value = json.loads(text) if isinstance(text, str) else text
    if not isinstance(value, list):
        raise ValueError(f"expected a list of specs, got {type(value).__name__}")
    return value


def _fields(specs: list[Any]) -> tuple[SpecField, ...]:
    out = []
    for spec in specs:
        if not isinstance(spec, dict):
            raise ValueError(f"expected a spec mapping, got {spec!r}")
        name = spec.get("name")
        out.append(
            SpecField(
                name=None if name is None else str(name),
                type=type_text(spec),
                required=bool(spec.get("required", True)),
            )
        )
    return tuple(out)


def _param(spec: Any) -> SpecField:
    if not isinstance(spec, dict):
        raise ValueError(f"expected a param mapping, got {spec!r}")
    shape = spec.get("shape")
    return SpecField(
        name=str(spec.get("name")),
        type=type_text(spec),
        default=json.dumps(spec.get("default"), ensure_ascii=False, sort_keys=True),
        shape=None if shape is None else _shape(shape),
    )


def type_text(spec: Any, depth: int = 0) -> str:
    """A column, tensor or param type as one short text: ``double``, ``tensor float64
    (-1, 4)``, ``array<string>``, ``object{a: long}``, ``map<string, double>``."""
    if not isinstance(spec, dict) or depth > _MAX_DEPTH:
        return json.dumps(spec, ensure_ascii=False, sort_keys=True)
    kind = spec.get("type")
    if kind == "tensor":
        tensor = spec.get("tensor-spec")
        tensor = tensor if isinstance(tensor, dict) else {}
        return f"tensor {tensor.get('dtype')} {_shape(tensor.get('shape'))}".strip()
    if kind == "array":
        return f"array<{type_text(spec.get('items'), depth + 1)}>"
    if kind == "map":
        return f"map<string, {type_text(spec.get('values'), depth + 1)}>"
    if kind == "object":
        props = spec.get("properties")
        props = props if isinstance(props, dict) else {}
        inner = ", ".join(f"{k}: {type_text(v, depth + 1)}" for k, v in sorted(props.items()))
        return f"object{{{inner}}}"
    if isinstance(kind, str):
        return kind
    return json.dumps(spec, ensure_ascii=False, sort_keys=True)


def _shape(shape: Any) -> str:
    if isinstance(shape, list | tuple):
        inner = ", ".join(str(s) for s in shape)
        return f"({inner},)" if len(shape) == 1 else f"({inner})"
    return "" if shape is None else str(shape)


def signature_summary(sig: Signature) -> str:
    """One line: ``a: double, b: long -> long`` (at most 3 fields a side; params after)."""

    def side(fields: tuple[SpecField, ...]) -> str:
        shown = [f"{f.name}: {f.type}" if f.name else f.type for f in fields[:3]]
        more = f", +{len(fields) - 3} more" if len(fields) > 3 else ""
        return (", ".join(shown) + more) or "—"

    text = f"{side(sig.inputs)} → {side(sig.outputs)}"
    if sig.params:
        text += " · params: " + ", ".join(str(p.name) for p in sig.params[:3])
        text += f", +{len(sig.params) - 3} more" if len(sig.params) > 3 else ""
    return text
