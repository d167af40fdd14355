"""Keep a model load inside its folder: every path MLmodel names, and no links out.

A model folder may come from anyone's store (a clone, a pull request).  Before any file
of it is read, :func:`check_paths` refuses an MLmodel whose paths (``code``, ``data``,
``python_model``, ``pickled_model``, ``env``, ``artifacts``, the input example, the
recorded file hashes ...) are absolute, contain ``..`` or NUL, or resolve (through a
symbolic link) outside the folder.  Loading still unpickles the model, which runs its
code: load only models you trust (docs/MODELS.md).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from mltrail.errors import InvalidParameterValue, StoreError

#: The file whose paths are checked (``mlmodel.MLMODEL_FILE_NAME``: this module is below
#: ``mlmodel``, which reads an input example through it).
_MLMODEL = "MLmodel"

#: Flavor keys whose value is a path inside the model folder.
PATH_KEYS = ("code", "data", "model_path", "python_model", "pickled_model", "model_code_path")


def inside(model_dir: Path, rel: Any, key: str) -> Path:
    """``model_dir / rel``, or an error naming MLmodel's ``key`` if it would leave the folder."""
    if not isinstance(rel, str) or not rel:
        raise _escape(model_dir, key, rel, "is not a relative path")
    text = rel.replace("\\", "/")
    if "\x00" in text:
        raise _escape(model_dir, key, rel, "contains a NUL character")
    if text.startswith("/") or (len(text) > 1 and text[1] == ":"):
        raise _escape(model_dir, key, rel, "is an absolute path")
    if ".." in PurePosixPath(text).parts:
        raise _escape(model_dir, key, rel, "contains '..'")
    target = model_dir / text
    root = model_dir.resolve()
    try:
        resolved = target.resolve()
    except RuntimeError:  # a symlink loop (Python < 3.13)
        resolved = Path("/")
    if resolved != root and root not in resolved.parents:
        raise _escape(model_dir, key, rel, "resolves outside the model folder (a symbolic link)")
    return target


class Described(Protocol):
    """What is checked of a model's description (an ``mlmodel.Model``)."""

    @property
    def flavors(self) -> Mapping[str, Any]: ...

    @property
    def saved_input_example_info(self) -> Mapping[str, Any] | None: ...

    @property
    def file_hashes(self) -> Mapping[str, str] | None: ...


def check_paths(model_dir: Path, model: Described) -> None:
    """Refuse the model if a path its MLmodel names leaves ``model_dir``."""
    for key, rel in _named_paths(model):
        inside(model_dir, rel, key)


def _named_paths(model: Described) -> Iterator[tuple[str, Any]]:
    for flavor, conf in model.flavors.items():
        if not isinstance(conf, dict):
            continue
        for key in PATH_KEYS:
            if conf.get(key) is not None:
                yield f"flavors.{flavor}.{key}", conf[key]
        yield from _env_paths(f"flavors.{flavor}.env", conf.get("env"))
        yield from _listed_paths(f"flavors.{flavor}.artifacts", conf.get("artifacts"))
        yield from _listed_paths(f"flavors.{flavor}.extra_files", conf.get("extra_files"))
    info = model.saved_input_example_info
    if isinstance(info, dict):
        for key in ("artifact_path", "serving_input_path"):
            if info.get(key) is not None:
                yield f"saved_input_example_info.{key}", info[key]
    for rel in model.file_hashes or {}:
        yield "mltrail.file_hashes", rel


def _env_paths(key: str, env: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(env, dict):
        for name, rel in env.items():
            yield f"{key}.{name}", rel
    elif env is not None:
        yield key, env


def _listed_paths(key: str, entries: Any) -> Iterator[tuple[str, Any]]:
    """``artifacts`` (``name: {path: ...}``) and ``extra_files`` (``[{path: ...}]``)."""
    if not isinstance(entries, dict | list):
        return
    items = entries.items() if isinstance(entries, dict) else enumerate(entries)
    for name, entry in items:
        yield f"{key}.{name}.path", entry.get("path") if isinstance(entry, dict) else entry


def refuse_links(folder: Path, where: str) -> None:
    """Refuse a model folder of a store that holds a symbolic link (never followed)."""
    if folder.is_symlink():
        raise _link(folder, where)
    for root, dirs, files in os.walk(folder):
        for name in sorted(dirs + files):
            if (Path(root) / name).is_symlink():
                raise _link(Path(root) / name, where)


def _link(path: Path, where: str) -> StoreError:
    return StoreError(
        f"Refusing to load the model at {where}: {path} is a symbolic link, and mltrail never "
        "follows links in a store (they could point anywhere on this machine). Replace it "
        "with the file itself."
    )


def _escape(model_dir: Path, key: str, rel: Any, why: str) -> InvalidParameterValue:
    shown = repr(rel) if len(repr(rel)) <= 120 else repr(rel)[:100] + "..."
    return InvalidParameterValue(
        f"Refusing to load the model at {model_dir}: {key} {shown} in its {_MLMODEL} "
        f"{why}; every path a model names must stay inside its folder. Fix {_MLMODEL} "
        "or save the model again."
    )
