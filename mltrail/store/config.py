"""The store's settings, kept in its marker file ``mltrail-store.yaml``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltrail.errors import StoreError
from mltrail.store import formats, layout

DEFAULT_THRESHOLD = 10 * 1024 * 1024
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
#: Values of `sync`: `manual` (only `mltrail sync` pushes) or `auto` (each run's end too).
SYNC_MODES = ("manual", "auto")


@dataclass(frozen=True)
class StoreConfig:
    auto_commit: bool = True
    artifact_store: str = layout.DEFAULT_ARTIFACT_STORE
    large_artifact_threshold: int = DEFAULT_THRESHOLD
    sync: str = "manual"

    def to_record(self) -> dict[str, Any]:
        sync = {} if self.sync == "manual" else {"sync": self.sync}  # new stores: as before
        return {
            "format": layout.FORMAT_NAME,
            "format_version": layout.FORMAT_VERSION,
            "auto_commit": self.auto_commit,
            "artifact_store": self.artifact_store,
            "large_artifact_threshold": self.large_artifact_threshold,
            **sync,
        }


def load_config(root: Path) -> StoreConfig:
    """Read and check the marker; every problem is reported at once, naming the file."""
    path = root / layout.MARKER
    rec = formats.read_mapping(path, missing_ok=False)
    problems = []
    if rec.get("format") != layout.FORMAT_NAME:
        problems.append(f"'format' must be {layout.FORMAT_NAME!r}")
    version = rec.get("format_version")
    if not isinstance(version, int) or version > layout.FORMAT_VERSION:
        problems.append(
            f"'format_version' is {version!r}; this mltrail reads up to {layout.FORMAT_VERSION} "
            "(upgrade mltrail to read newer stores)"
        )
    auto = rec.get("auto_commit", True)
    if not isinstance(auto, bool):
        problems.append(f"'auto_commit' must be true or false, not {auto!r}")
    store = rec.get("artifact_store", layout.DEFAULT_ARTIFACT_STORE)
    if not isinstance(store, str) or not store:
        problems.append(f"'artifact_store' must be a folder path, not {store!r}")
    threshold = rec.get("large_artifact_threshold", DEFAULT_THRESHOLD)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        problems.append(f"'large_artifact_threshold' must be a number of bytes, not {threshold!r}")
    sync = rec.get("sync", "manual")
    if sync not in SYNC_MODES:
        problems.append(f"'sync' must be one of {', '.join(SYNC_MODES)}, not {sync!r}")
    known = {*StoreConfig().to_record(), "sync"}
    problems.extend(f"unknown key {k!r}" for k in sorted(set(rec) - known))
    if problems:
        raise StoreError(f"{path}: " + "; ".join(problems) + ".")
    env = os.environ.get("MLTRAIL_AUTO_COMMIT", "").strip().lower()
    if env in _FALSE:
        auto = False
    elif env in _TRUE:
        auto = True
    return StoreConfig(
        auto_commit=auto, artifact_store=store, large_artifact_threshold=threshold, sync=sync
    )
