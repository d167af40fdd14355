"""A tolerant summary of an ``MLmodel`` file, for readers that show a model rather than
load it (the site, listings): flavors, Python version, signature as text, input example.

Unlike :class:`mltrail.models.Model`, reading never raises: the file may be anyone's, and
what cannot be read becomes ``problem`` (one line). Signatures are MLflow's JSON strings
(column specs, tensor specs, params), shown as text and never interpreted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import yaml

from mltrail.models.mlmodel import MLMODEL_FILE_NAME, PYFUNC_FLAVOR
from mltrail.store import formats

#: Nested types deeper than this are shown as their JSON.
_MAX_DEPTH = 8
#: Fields shown per side in :meth:`SignatureSummary.one_line`.
_SHOWN = 3


@dataclass(frozen=True)
class FieldSummary:
    """One column, tensor or param of a signature, as text."""

    name: str | None
    type: str
    required: bool = True
    default: str | None = None  # params: the default as JSON
    shape: str | None = None  # params


@dataclass(frozen=True)
class SignatureSummary:
    inputs: tuple[FieldSummary, ...]
    outputs: tuple[FieldSummary, ...]
    params: tuple[FieldSummary, ...]

    def one_line(self) -> str:
        """``a: double, b: long → long`` (at most 3 fields a side; params after)."""

        def side(fields: tuple[FieldSummary, ...]) -> str:
            shown = [f"{f.name}: {f.type}" if f.name else f.type for f in fields[:_SHOWN]]
            more = f", +{len(fields) - _SHOWN} more" if len(fields) > _SHOWN else ""
            return (", ".join(shown) + more) or "—"

        text = f"{side(self.inputs)} → {side(self.outputs)}"
        if self.params:
            text += " · params: " + ", ".join(str(p.name) for p in self.params[:_SHOWN])
            text += f", +{len(self.params) - _SHOWN} more" if len(self.params) > _SHOWN else ""
        return text


@dataclass(frozen=True)
class MLmodelSummary:
    flavors: tuple[str, ...] = ()
    python_version: str | None = None
    signature: SignatureSummary | None = None
    #: ``saved_input_example_info.artifact_path`` (relative to the model folder), or None.
    example_path: str | None = None
    #: ``saved_input_example_info.serving_input_path``: the example as a request body, or None.
    serving_example_path: str | None = None
    #: Why (part of) the file cannot be read, else None.
    problem: str | None = None
    #: False when the file is not a YAML mapping at all (nothing above was read).
    readable: bool = True


def read_mlmodel_summary(text: str) -> MLmodelSummary:
    """The summary of an ``MLmodel`` file's ``text``; never raises."""
    try:
        data = formats.parse_yaml(text)
    except yaml.YAMLError as e:
        return MLmodelSummary(problem=f"{MLMODEL_FILE_NAME} is not valid YAML: {e}", readable=False)
    if not isinstance(data, dict):
        return MLmodelSummary(
            problem=f"{MLMODEL_FILE_NAME} does not hold a mapping", readable=False
        )
    flavors = data.get("flavors")
    flavors = flavors if isinstance(flavors, dict) else {}
    pyfunc = flavors.get(PYFUNC_FLAVOR)
    python = pyfunc.get("python_version") if isinstance(pyfunc, dict) else None
    info = data.get("saved_input_example_info")
    example = info.get("artifact_path") if isinstance(info, dict) else None
    serving = info.get("serving_input_path") if isinstance(info, dict) else None
    signature, problem = summarize_signature(data.get("signature"))
    return MLmodelSummary(
        flavors=tuple(sorted(map(str, flavors))),
        python_version=None if python is None else str(python),
        signature=signature,
        example_path=example if isinstance(example, str) else None,
        serving_example_path=serving if isinstance(serving, str) else None,
        problem=problem,
    )


def summarize_signature(value: Any) -> tuple[SignatureSummary | None, str | None]:
    """MLmodel's ``signature`` (JSON strings), and a problem when it cannot be read."""
    if not isinstance(value, dict):
        return None, None
    try:
        inputs = _fields(_json(value.get("inputs")))
        outputs = _fields(_json(value.get("outputs")))
        params = tuple(_param(p) for p in _json(value.get("params")))
    except (ValueError, TypeError, AttributeError, RecursionError) as e:
        return None, f"the signature cannot be read: {e}"
    return SignatureSummary(inputs, outputs, params), None


def _json(text: Any) -> list[Any]:
    if text is None:
        return []
    value = json.loads(text) if isinstance(text, str) else text
    if not isinstance(value, list):
        raise ValueError(f"expected a list of specs, got {type(value).__name__}")
    return value


def _fields(specs: list[Any]) -> tuple[FieldSummary, ...]:
    out = []
    for spec in specs:
        if not isinstance(spec, dict):
            raise ValueError(f"expected a spec mapping, got {spec!r}")
        name = spec.get("name")
        out.append(
            FieldSummary(
                name=None if name is None else str(name),
                type=type_text(spec),
                required=bool(spec.get("required", True)),
            )
        )
    return tuple(out)


def _param(spec: Any) -> FieldSummary:
    if not isinstance(spec, dict):
        raise ValueError(f"expected a param mapping, got {spec!r}")
    shape = spec.get("shape")
    return FieldSummary(
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
