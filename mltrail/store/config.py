"""The store's settings, kept in its marker file ``mltrail-store.yaml``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltrail.errors import InvalidParameterValue, StoreError
from mltrail.store import formats, layout
from mltrail.store.blobs import check_location

DEFAULT_THRESHOLD = 10 * 1024 * 1024
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
#: ``artifact_store_files``: which artifact files go to the artifact store.
ARTIFACT_STORE_FILES = ("large", "all")
#: Values of `sync`: `manual` (only `mltrail sync` pushes) or `auto` (each run's end too).
SYNC_MODES = ("manual", "auto")


@dataclass(frozen=True)
class StoreConfig:
    auto_commit: bool = True
    artifact_store: str = layout.DEFAULT_ARTIFACT_STORE
    large_artifact_threshold: int = DEFAULT_THRESHOLD
    #: ``large``: files over the threshold go to the artifact store; ``all``: every file.
    artifact_store_files: str = "large"
    sync: str = "manual"

    def to_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "format": layout.FORMAT_NAME,
            "format_version": layout.FORMAT_VERSION,
            "auto_commit": self.auto_commit,
            "artifact_store": self.artifact_store,
            "large_artifact_threshold": self.large_artifact_threshold,
        }
        # New stores keep the short marker: optional keys only when not their default.
        if self.artifact_store_files != "large":
            rec["artifact_store_files"] = self.artifact_store_files
        if self.sync != "manual":
            rec["sync"] = self.sync
        return rec


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
    try:
        check_location(store, "'artifact_store'")
    except InvalidParameterValue as e:
        problems.append(str(e).rstrip("."))
    threshold = rec.get("large_artifact_threshold", DEFAULT_THRESHOLD)
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 0:
        problems.append(f"'large_artifact_threshold' must be a number of bytes, not {threshold!r}")
    files = rec.get("artifact_store_files", "large")
    if files not in ARTIFACT_STORE_FILES:
        problems.append(f"'artifact_store_files' must be 'large' or 'all', not {files!r}")
    sync = rec.get("sync", "manual")
    if sync not in SYNC_MODES:
        problems.append(f"'sync' must be one of {', '.join(SYNC_MODES)}, not {sync!r}")
    known = {*StoreConfig().to_record(), "artifact_store_files", "sync"}
    problems.extend(f"unknown key {k!r}" for k in sorted(set(rec) - known))
    if problems:
        raise StoreError(f"{path}: " + "; ".join(problems) + ".")
    env = os.environ.get("MLTRAIL_AUTO_COMMIT", "").strip().lower()
    if env in _FALSE:
        auto = False
    elif env in _TRUE:
        auto = True
    return StoreConfig(
        auto_commit=auto,
        artifact_store=store,
        large_artifact_threshold=threshold,
        artifact_store_files=files,
        sync=sync,
    )
