"""A derived, disposable cache of run records: ``.cache/runs-index.marshal`` (git-ignored).

Searching thousands of runs would otherwise parse three YAML files per run.  The
cache keeps, per ended run, what those files said and their (inode, mtime, size):
mltrail replaces records by rename (a new inode) and an editor's in-place save
changes the time or size, so a changed run is read again.  Like git's index it
distrusts times too close to the moment they were read (a change in the same clock
tick would be invisible), and it never holds a running run.  Deleting the cache only
costs one slow search.  It is stored with :mod:`marshal` (the fastest loader of plain
Python data in the standard library); a version mismatch or damage means a rebuild.
"""

from __future__ import annotations

import gc
import hashlib
import hmac
import logging
import marshal
import os
import secrets
import time
from pathlib import Path
from typing import Any, Literal

from mltrail.entities import MetricSummary, Run, RunStatus
from mltrail.errors import CorruptedRecord
from mltrail.store import formats, layout, runs

log = logging.getLogger(__name__)

CACHE_FILE = "runs-index.marshal"
_CACHE_VERSION = 3
_MAGIC = b"mltrail-runs-index\n"
_DIGEST_SIZE = 32
_KEY_SIZE = 32
#: A larger cache file is not read (it would be ~1 KiB per run): a rebuild instead.
MAX_CACHE_BYTES = 1 << 30


class RunIndex:
    """The runs of a store, read through the cache file ``cache`` (default: in the store's
    ``.cache``; False: none, the index lives in memory for this process only)."""

    def __init__(self, root: Path, cache: Path | Literal[False] | None = None) -> None:
        self.root = root
        self.path = root / layout.CACHE_DIR / CACHE_FILE if cache is None else cache
        #: The cache file's entries, read once per process and kept in step with it.
        self._entries: dict[str, Any] | None = None
        #: Runs built by the last search, with their signatures: reused while unchanged.
        self._built: dict[str, tuple[list[int], Run]] = {}
        #: The key the cache file is signed with (see ``cache_key``), read on first use.
        self._key: bytes | None = None

    def _read(self) -> dict[str, Any]:
        """The cache's entries; ``{}`` (a rebuild) if it is missing, damaged, too large or
        not written with this user's key (``marshal`` must never see bytes from others)."""
        if self.path is False:
            return {}
        try:
            with open(self.path, "rb") as f:
                if os.fstat(f.fileno()).st_size > MAX_CACHE_BYTES:
                    return {}
                blob = f.read()  # load(f) reads in tiny pieces: 6x slower
        except OSError:
            return {}
        head = len(_MAGIC) + _DIGEST_SIZE
        if blob[: len(_MAGIC)] != _MAGIC or not hmac.compare_digest(
            blob[len(_MAGIC) : head], self._digest(memoryview(blob)[head:])
        ):
            return {}
        try:
            data = marshal.loads(memoryview(blob)[head:])
        except (EOFError, ValueError, TypeError):
            return {}
        if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
            return {}
        entries = data.get("runs")
        return entries if isinstance(entries, dict) else {}

    def _digest(self, payload: bytes | memoryview) -> bytes:
        if self._key is None:
            self._key = cache_key()
        return hashlib.blake2b(payload, key=self._key, digest_size=_DIGEST_SIZE).digest()

    def _write(self, entries: dict[str, Any]) -> None:
        if self.path is False:
            return
        payload = marshal.dumps({"version": _CACHE_VERSION, "runs": _shared(entries)})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            formats.write_atomic(self.path, _MAGIC + self._digest(payload) + payload)
        except OSError as e:  # a cache that cannot be written is only slower
            log.debug("cannot write %s: %s", self.path, e)

    def load_runs(self) -> tuple[list[Run], list[CorruptedRecord]]:
        """Every run of the store, and the errors of those that cannot be read."""
        # Tens of thousands of small containers are made here and none is garbage: the
        # cyclic collector would only walk them again and again (it doubled the time).
        enabled = gc.isenabled()
        gc.disable()
        try:
            return self._load_runs()
        finally:
            if enabled:
                gc.enable()

    def record_signature(self, run_id: str) -> list[int] | None:
        """The (inode, mtime, size) of a run's record files as the last ``load_runs`` saw them."""
        known = self._built.get(run_id)
        return None if known is None else known[0]

    def _load_runs(self) -> tuple[list[Run], list[CorruptedRecord]]:
        if self._entries is None:
            self._entries = self._read()
        cached = self._entries
        fresh: dict[str, Any] = {}
        built: dict[str, tuple[list[int], Run]] = {}
        found: list[Run] = []
        errors: list[CorruptedRecord] = []
        trust_before = time.time_ns() - layout.RACY_NS
        changed = False
        uri = self.root.resolve().as_uri()
        for run_id, path in layout.iter_run_folders(os.fspath(self.root)):
            sig = _signature(path)
            if sig is None:
                continue
            entry = cached.get(run_id)
            known = self._built.get(run_id)
            run: Run | None = None
            if known is not None and known[0] == sig:
                run = known[1]  # unchanged since the last search in this process
            elif entry is not None:
                run = _from_entry(run_id, f"{uri}/{path_tail(path)}", entry, sig)
            if run is None:
                try:
                    run, entry = _read_entry(Path(path), sig)
                except CorruptedRecord as e:
                    errors.append(e)
                    continue
                except FileNotFoundError as e:
                    errors.append(CorruptedRecord(f"{path}: {e.strerror}: {e.filename}"))
                    continue
                if entry is None or max(sig[1::3]) >= trust_before:
                    found.append(run)
                    continue
                changed = True
            found.append(run)
            fresh[run_id] = entry
            built[run_id] = (sig, run)
        self._built = built
        if changed or len(fresh) != len(cached):
            self._write(fresh)
            self._entries = fresh
        return found, errors


def path_tail(path: str) -> str:
    """``runs/<shard>/<id>/artifacts`` of a run folder path (URIs built without pathlib)."""
    head, run_id = os.path.split(path)
    return f"{layout.RUNS_DIR}/{os.path.basename(head)}/{run_id}/{layout.ARTIFACTS_DIR}"


#: The files whose stats tell whether a run changed (see ``_signature``).
RECORD_FILES = (layout.RUN_FILE, layout.PARAMS_FILE, layout.TAGS_FILE)


def _signature(path: str) -> list[int] | None:
    """(inode, mtime, size) of each record file: a rename or an in-place edit changes it."""
    sig: list[int] = []
    for name in RECORD_FILES:
        try:
            st = os.stat(os.path.join(path, name))
        except FileNotFoundError:
            if name == layout.RUN_FILE:  # a folder being removed, or a damaged run
                return [] if os.path.isdir(path) else None
            sig.extend((0, 0, -1))
        else:
            sig.extend((st.st_ino, st.st_mtime_ns, st.st_size))
    return sig


#: The run.yaml fields ``runs.assemble_run`` reads that are RunInfo's under the same name.
_REC_FIELDS = [
    "run_id",
    "run_name",
    "experiment_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
]


def _read_entry(run_path: Path, sig: list[int]) -> tuple[Run, dict[str, Any] | None]:
    rec = runs.read_run_record(run_path)
    summaries = runs.metric_summaries(run_path, rec)
    run = runs.build_run(run_path, rec, summaries)
    if not RunStatus.is_terminated(run.info.status):
        return run, None
    info = run.info
    entry: dict[str, Any] = {
        "sig": sig,
        # what ``runs.assemble_run`` reads, already converted: not the whole run.yaml
        # (its metric summaries and source are below, in ``metrics`` and ``tags``)
        "rec": {**{k: getattr(info, k) for k in _REC_FIELDS}, "user": info.user_id},
        "params": run.data.params,
        "tags": run.data.tags,
        "metrics": {
            k: (s.latest, s.step, s.timestamp, s.min, s.max, s.count) for k, s in summaries.items()
        },
    }
    try:
        marshal.dumps(entry)
    except ValueError:
        return run, None  # a hand-edited record with odd YAML types: read it every time
    return run, entry


def _shared(entries: dict[str, Any]) -> dict[str, Any]:
    """``entries`` with equal strings made one object, which ``marshal`` then writes once
    and refers to (metric and param names, repeated values): a smaller, faster cache."""
    memo: dict[str, str] = {}

    def one(text: str) -> str:
        return memo.setdefault(text, text)

    def mapping(d: dict[str, Any]) -> dict[str, Any]:
        return {one(k): one(v) if type(v) is str else v for k, v in d.items()}

    return {
        run_id: {
            "sig": e["sig"],
            "rec": mapping(e["rec"]),
            "params": mapping(e["params"]),
            "tags": mapping(e["tags"]),
            "metrics": mapping(e["metrics"]),
        }
        for run_id, e in entries.items()
    }


def _from_entry(run_id: str, artifact_uri: str, entry: Any, sig: list[int]) -> Run | None:
    """The run a cache entry describes, or None if the entry is stale (then the files are
    read again).

    The entry's shape is not checked field by field: the cache file is signed with this
    user's key (``_read``), so it holds only what ``_read_entry`` wrote; checking 100,000
    entries again took longer than building the runs.
    """
    if entry["sig"] != sig:
        return None
    summaries = {k: MetricSummary(*v) for k, v in entry["metrics"].items()}
    return runs.assemble_run(artifact_uri, entry["rec"], entry["params"], entry["tags"], summaries)


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mltrail`` (default ``~/.cache/mltrail``): this user's caches,
    outside every store."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mltrail"


def read_only_index_cache(root: Path) -> Path:
    """Where the run index of a store opened read-only is cached: in the user's cache
    folder, one file per store folder (a site build never writes into the store)."""
    name = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:32]
    return user_cache_dir() / "runs-index" / f"{name}.marshal"


def cache_key() -> bytes:
    """This user's key for signing derived caches: a cache in a store cloned from someone
    else (or committed by a pull request) fails the check and is rebuilt, unread.

    Kept in ``$XDG_CACHE_HOME/mltrail/cache.key`` (default ``~/.cache``), outside every
    store; where that cannot be written, a key for this process only.
    """
    folder = user_cache_dir()
    path = folder / "cache.key"
    for _ in range(2):
        key: bytes | None
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            key = _new_key(folder, path)
        except OSError:
            break
        if key is None:
            continue  # another process made it meanwhile: read that one
        if len(key) == _KEY_SIZE:
            return key
        break
    log.debug("cannot keep a cache key in %s; using one for this process", path)
    return secrets.token_bytes(_KEY_SIZE)


def _new_key(folder: Path, path: Path) -> bytes | None:
    """A new key, in place whole (hard-linked from a private file: never seen half
    written); None if another process made one first; random if none can be kept."""
    key = secrets.token_bytes(_KEY_SIZE)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".cache.key.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return None
        finally:
            tmp.unlink()
    except OSError as e:
        log.debug("cannot keep a cache key in %s: %s", folder, e)
    return key
