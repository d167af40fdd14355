"""Parsing what names a model version: ``models:/`` specs and registration sources.

Pure functions (no store access), so they are property-tested on their own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from mltrail.errors import InvalidParameterValue
from mltrail.store import layout
from mltrail.store.artifacts import safe_relpath

_SPEC_FORMS = (
    "models:/<name>/<version>, models:/<name>/<stage>, models:/<name>/latest "
    "or models:/<name>@<alias>"
)


@dataclass(frozen=True)
class ModelSpec:
    """What follows ``models:/``: exactly one of version, stage, alias; none = latest."""

    name: str
    version: int | None = None
    stage: str | None = None
    alias: str | None = None

    def to_string(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        suffix = self.version if self.version is not None else self.stage or "latest"
        return f"{self.name}/{suffix}"


def parse_spec(spec: str) -> ModelSpec:
    """``name/3``, ``name/Staging``, ``name/latest`` or ``name@alias`` (as MLflow reads them:
    a stage is any other suffix, checked when it is looked up)."""
    text = spec[len("models:") :] if spec.startswith("models:") else spec
    text = text.lstrip("/")
    parts = text.split("/")
    if not text or len(parts) > 2 or not parts[0].strip():
        raise InvalidParameterValue(f"Invalid model URI 'models:/{text}': use {_SPEC_FORMS}.")
    if len(parts) == 2:
        name, suffix = parts
        if not suffix.strip():
            raise InvalidParameterValue(f"Invalid model URI 'models:/{text}': use {_SPEC_FORMS}.")
        if suffix.isascii() and suffix.isdigit():
            return ModelSpec(name, version=int(suffix))
        if suffix.lower() == "latest":
            return ModelSpec(name)
        return ModelSpec(name, stage=suffix)
    if "@" in text:
        name, alias = text.rsplit("@", 1)
        if name.strip() and alias.strip():
            return ModelSpec(name, alias=alias)
    raise InvalidParameterValue(
        f"Invalid model URI 'models:/{text}': it names no version; use {_SPEC_FORMS}."
    )


@dataclass(frozen=True)
class RunSource:
    """A model inside a run's artifacts: ``runs:/<run_id>/<path>``."""

    run_id: str
    path: str

    @property
    def uri(self) -> str:
        return f"runs:/{self.run_id}/{self.path}"


def parse_source(store_root: Path, uri: str) -> RunSource | ModelSpec:
    """Where a registration points: ``runs:/``, ``models:/``, or a path (or ``file://``
    URI) inside the store's run artifacts.  Anything else cannot be registered, since a
    version never copies the model."""
    text = os.fspath(uri)
    if text.startswith("models:"):
        return parse_spec(text)
    if text.startswith("runs:"):
        rest = text[len("runs:") :].lstrip("/")
        run_id, _, path = rest.partition("/")
        if not run_id:
            raise InvalidParameterValue(
                f"Invalid model URI {text!r}: use runs:/<run_id>/<artifact path>."
            )
        return RunSource(run_id, safe_relpath(path, "model artifact path"))
    parts = urlsplit(text)
    if parts.scheme == "file":
        return _path_source(store_root, Path(unquote(parts.path)), text)
    if parts.scheme and len(parts.scheme) > 1:
        raise InvalidParameterValue(
            f"Cannot register {text!r}: mltrail registers models logged in a run of the store "
            "(runs:/<run_id>/<path>, a path in its artifacts, or models:/...)."
        )
    return _path_source(store_root, Path(text), text)


def _path_source(store_root: Path, path: Path, shown: str) -> RunSource:
    """A path ``<store>/runs/<shard>/<run_id>/artifacts/<rest>`` as a RunSource."""
    full = Path(os.path.abspath(path.expanduser()))
    for root in dict.fromkeys((Path(os.path.abspath(store_root)), store_root.resolve())):
        for candidate in dict.fromkeys((full, full.resolve())):
            if candidate.is_relative_to(root):
                parts = PurePosixPath(candidate.relative_to(root).as_posix()).parts
                if (
                    len(parts) >= 4
                    and parts[0] == layout.RUNS_DIR
                    and parts[3] == layout.ARTIFACTS_DIR
                    and parts[1] == layout.run_shard(parts[2])
                ):
                    return RunSource(parts[2], "/".join(parts[4:]))
    raise InvalidParameterValue(
        f"Cannot register {shown!r}: it is not inside a run's artifacts of the store "
        f"{store_root}; log the model in a run first (then register runs:/<run_id>/<path>)."
    )
