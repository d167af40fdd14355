"""File hashes recorded when a model is saved, and checked before it is loaded.

``save_model`` records the SHA-256 of every file of the model directory except
``MLmodel`` itself under the MLmodel key ``mltrail.file_hashes``; loading refuses a
model whose recorded files are missing or changed, before anything is unpickled.
This catches corruption and partial edits; it is not a signature (whoever can rewrite
the files can rewrite MLmodel too).  Models without recorded hashes (saved by MLflow)
load without the check.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from mltrail.errors import MltrailError
from mltrail.models.mlmodel import MLMODEL_FILE_NAME, Model

_CHUNK = 1 << 20
_PREFIX = "sha256:"


class ModelIntegrityError(MltrailError):
    """A model's files do not match the hashes recorded when it was saved."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return _PREFIX + h.hexdigest()


def file_hashes(model_dir: Path) -> dict[str, str]:
    """``{relative POSIX path: "sha256:<hex>"}`` of every file except MLmodel."""
    hashes = {}
    for root, dirs, files in os.walk(model_dir):
        dirs.sort()
        for name in sorted(files):
            file = Path(root) / name
            rel = file.relative_to(model_dir).as_posix()
            if rel != MLMODEL_FILE_NAME:
                hashes[rel] = _sha256(file)
    return hashes


def verify(model_dir: Path, model: Model) -> None:
    """Raise :class:`ModelIntegrityError` if a recorded file is missing or changed."""
    recorded = model.file_hashes
    if not recorded:
        return
    missing, changed = [], []
    for rel, digest in sorted(recorded.items()):
        file = model_dir / rel
        if not file.is_file():
            missing.append(rel)
        elif _sha256(file) != digest:
            changed.append(rel)
    if missing or changed:
        parts = [f"changed: {', '.join(changed)}"] if changed else []
        parts += [f"missing: {', '.join(missing)}"] if missing else []
        raise ModelIntegrityError(
            f"Refusing to load the model at {model_dir}: its files no longer match the hashes "
            f"recorded when it was saved ({'; '.join(parts)}). Save or log the model again; "
            f"if the change is intended, remove the '{_KEY_HINT}' entry from its MLmodel file."
        )


_KEY_HINT = "mltrail: file_hashes"
