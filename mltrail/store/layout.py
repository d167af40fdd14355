"""Where things live in a store: every file and folder name is defined here.

See docs/FORMAT.md for the specification this module implements.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from mltrail import validation
from mltrail.store import recordstats

FORMAT_NAME = "mltrail-store"
FORMAT_VERSION = 1

#: The marker at the store root; also holds the store's settings.
MARKER = "mltrail-store.yaml"
DEFAULT_STORE_DIRNAME = "runs"
EXPERIMENTS_DIR = "experiments"
RUNS_DIR = "runs"
EXPERIMENT_FILE = "experiment.yaml"
RUN_FILE = "run.yaml"
PARAMS_FILE = "params.yaml"
TAGS_FILE = "tags.yaml"
METRICS_DIR = "metrics"
METRIC_SUFFIX = ".tsv"
ARTIFACTS_DIR = "artifacts"
POINTER_SUFFIX = ".mltrail-pointer"
CACHE_DIR = ".cache"
DEFAULT_ARTIFACT_STORE = ".artifacts"
DEFAULT_EXPERIMENT_ID = "0"
DEFAULT_EXPERIMENT_NAME = "Default"
#: Caches distrust file times this close to now: a second change in the same clock
#: tick would leave the time unchanged (git calls this "racy"). mltrail's own writes
#: rename (a new inode, so always seen); this guards in-place edits by other programs.
RACY_NS = 100_000_000
#: In-progress writes are named ``.<name>.tmp`` (files, and run folders being created).
TMP_SUFFIX = ".tmp"
GITIGNORE_LINES = (CACHE_DIR + "/", DEFAULT_ARTIFACT_STORE + "/", "*" + TMP_SUFFIX)
# The model registry (mltrail.store.registry): models/<model dir>/{model.yaml,versions,aliases}
MODELS_DIR = "models"
MODEL_FILE = "model.yaml"
VERSIONS_DIR = "versions"
ALIASES_DIR = "aliases"
RECORD_SUFFIX = ".yaml"
_SIMPLE_DIRNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_WINDOWS_RESERVED = frozenset(
    ["con", "prn", "aux", "nul"] + [f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)]
)


def new_run_id(now_ms: int | None = None) -> str:
    """A 32-hex-digit id that sorts by creation time (a UUIDv7 without dashes).

    The first 12 digits are the creation time in milliseconds, the rest random,
    so ids made in two clones never collide and sort by time.
    """
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    rand = int.from_bytes(secrets.token_bytes(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | rand
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return f"{value:032x}"


def new_experiment_id(now_ms: int | None = None) -> str:
    """A decimal id (MLflow's experiment ids are numeric strings) that sorts by time."""
    ms = int(time.time() * 1000) if now_ms is None else now_ms
    return str(ms * 1000 + secrets.randbelow(1000))


def run_shard(run_id: str) -> str:
    """The shard folder of a run: 256 shards keep every folder small."""
    return run_id[-2:].lower() if len(run_id) >= 2 else "00"


def is_shard(name: str) -> bool:
    """Whether ``name`` is a shard folder's (two lower-case hex digits)."""
    return len(name) == 2 and all(c in "0123456789abcdef" for c in name)


def run_dir(root: Path, run_id: str) -> Path:
    return root / RUNS_DIR / run_shard(run_id) / run_id


def experiment_dir(root: Path, experiment_id: str) -> Path:
    return root / EXPERIMENTS_DIR / experiment_id


def metric_path(run_path: Path, key: str) -> Path:
    """The history file of metric ``key`` (``a/b`` becomes ``metrics/a/b.tsv``, ``a:b``
    ``metrics/a%3Ab.tsv``: ``validation.key_file_name``)."""
    return run_path / METRICS_DIR / validation.key_file_name(key)


def metric_key_of(run_path: Path, file: Path) -> str:
    return validation.key_of_file_name(file.relative_to(run_path / METRICS_DIR).as_posix())


def iter_run_folders(root: str) -> Iterator[tuple[str, str]]:
    """(run id, folder path) of every run, shard by shard, as plain strings (a hot path)."""
    for shard in recordstats.run_shards(os.path.join(root, RUNS_DIR)):
        for e in recordstats.shard_folders(shard):
            yield e.name, e.path


def iter_run_dirs(root: Path) -> list[Path]:
    """Every run folder of the store."""
    return [Path(path) for _, path in iter_run_folders(os.fspath(root))]


def iter_metric_files(run_path: Path) -> list[Path]:
    """Every history file of a run, sorted (directory entry types only: no stat per file)."""
    found: list[str] = []
    pending = [os.path.join(run_path, METRICS_DIR)]
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for e in entries:
                    if e.is_dir(follow_symlinks=False):  # a link could lead out of the store
                        pending.append(e.path)
                    elif e.name.endswith(METRIC_SUFFIX) and e.is_file(follow_symlinks=False):
                        found.append(e.path)
        except (FileNotFoundError, NotADirectoryError):
            continue
    return [Path(f) for f in sorted(found)]


def model_dirname(name: str) -> str:
    """The folder of the registered model ``name`` (one path component, never ``.``/``..``).

    A short lower-case name of ``[a-z0-9._-]`` is its own folder; any other name gets a
    lower-case ASCII slug, ``+`` and 12 hex digits of the SHA-256 of its UTF-8 bytes, so
    distinct names (``Churn`` and ``churn`` too) never share a folder, on any file system.
    """
    base = name.split(".")[0]
    if _SIMPLE_DIRNAME.fullmatch(name) and not name.endswith(".") and base not in _WINDOWS_RESERVED:
        return name
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40].strip("-") or "model"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{slug}+{digest}"


def model_dir(root: Path, name: str) -> Path:
    return root / MODELS_DIR / model_dirname(name)


def version_file(model_path: Path, version_id: str) -> Path:
    return model_path / VERSIONS_DIR / (version_id + RECORD_SUFFIX)


def alias_file(model_path: Path, alias: str) -> Path:
    return model_path / ALIASES_DIR / (alias + RECORD_SUFFIX)
