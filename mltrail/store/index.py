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
import logging
import marshal
import os
import time
from pathlib import Path
from typing import Any

from mltrail.entities import MetricSummary, Run, RunStatus
from mltrail.errors import CorruptedRecord
from mltrail.store import layout, runs

log = logging.getLogger(__name__)

CACHE_FILE = "runs-index.marshal"
_CACHE_VERSION = 1


class RunIndex:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / layout.CACHE_DIR / CACHE_FILE
        #: The cache file's entries, read once per process and kept in step with it.
        self._entries: dict[str, Any] | None = None
        #: Runs built by the last search, with their signatures: reused while unchanged.
        self._built: dict[str, tuple[list[int], Run]] = {}

    def _read(self) -> dict[str, Any]:
        try:
            with open(self.path, "rb") as f:
                data = marshal.loads(f.read())  # load(f) reads in tiny pieces: 6x slower
        except (OSError, EOFError, ValueError, TypeError):
            return {}
        if not isinstance(data, dict) or data.get("version") != _CACHE_VERSION:
            return {}
        entries = data.get("runs")
        return entries if isinstance(entries, dict) else {}

    def _write(self, entries: dict[str, Any]) -> None:
        try:
            self.path.parent.mkdir(exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps({"version": _CACHE_VERSION, "runs": entries}))
            os.replace(tmp, self.path)
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
            if known is not None and known[0] == sig:
                run = known[1]  # unchanged since the last search in this process
            elif entry is not None and entry["sig"] == sig:
                run = _from_entry(f"{uri}/{path_tail(path)}", entry)
            else:
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


def _read_entry(run_path: Path, sig: list[int]) -> tuple[Run, dict[str, Any] | None]:
    rec = runs.read_run_record(run_path)
    summaries = runs.metric_summaries(run_path, rec)
    run = runs.build_run(run_path, rec, summaries)
    if not RunStatus.is_terminated(run.info.status):
        return run, None
    entry = {
        "sig": sig,
        "rec": rec,
        "params": run.data.params,
        "tags": run.data.tags,
        "metrics": {
            k: (s.latest, s.step, s.timestamp, s.min, s.max, s.count) for k, s in summaries.items()
        },
    }
    try:
        marshal.dumps(rec)
    except ValueError:
        return run, None  # a hand-edited record with odd YAML types: read it every time
    return run, entry


def _from_entry(artifact_uri: str, entry: dict[str, Any]) -> Run:
    summaries = {k: MetricSummary(*v) for k, v in entry["metrics"].items()}
    return runs.assemble_run(artifact_uri, entry["rec"], entry["params"], entry["tags"], summaries)
