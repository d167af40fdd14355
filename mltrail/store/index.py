"""A derived, disposable cache of run records: ``.cache/runs-index.marshal`` (git-ignored).

Searching thousands of runs would otherwise parse three YAML files per run.  The
cache keeps, per ended run, what those files said and their (inode, mtime, size):
mltrail replaces records by rename (a new inode) and an editor's in-place save
changes the time or size, so a changed run is read again.  Like git's index it
distrusts times too close to the moment they were read (a change in the same clock
tick would be invisible), and it never holds a running run.  Deleting the cache only
costs one slow search.

The file is laid out so that a search reads little of it: a header naming its parts,
then the run ids, their record stats, one column per searchable value (a run
attribute, a param, a tag, a metric's latest value) and each run's whole entry as its
own :mod:`marshal` blob.  A search decodes the columns its filter and order name,
then builds only the runs it returns.  Every part and every entry carries a digest
keyed with this user's key (``marshal`` must never see bytes from others), checked
when it is first decoded; a version mismatch or damage means a rebuild.
"""

from __future__ import annotations

import array
import contextlib
import functools
import gc
import hashlib
import hmac
import logging
import marshal
import os
import secrets
import struct
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from mltrail.entities import MetricSummary, Run, RunData, RunInfo, RunStatus
from mltrail.errors import CorruptedRecord
from mltrail.search import RunList
from mltrail.search_syntax import ATTRIBUTE, METRIC, PARAM, TAG
from mltrail.store import formats, layout, recordstats, runs

log = logging.getLogger(__name__)

CACHE_FILE = "runs-index.marshal"
_CACHE_VERSION = 4
_MAGIC = b"mltrail-runs-index\n"
_DIGEST_SIZE = 32
_PART_DIGEST_SIZE = 16
_KEY_SIZE = 32
_HEAD = struct.Struct("<Q")  # the header's length
#: A larger cache file is not read (it would be ~1 KiB per run): a rebuild instead.
MAX_CACHE_BYTES = 1 << 30

#: The files whose stats tell whether a run changed (see ``recordstats``).
RECORD_FILES = (layout.RUN_FILE, layout.PARAMS_FILE, layout.TAGS_FILE)
#: (inode, mtime, size) of each of ``RECORD_FILES``, packed: one fixed-size slot per run.
_SIG = recordstats.packer(len(RECORD_FILES))

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
#: RunInfo's fields kept as columns (``run_id`` and ``artifact_uri`` come from the scan).
_INFO_COLUMNS = {k: k for k in _REC_FIELDS if k != "run_id"} | {"user_id": "user"}


class DamagedCache(ValueError):
    """A part of a signed cache file whose bytes changed after it was written (a disk
    error): the caller forgets the cache (``RunIndex.forget``) and asks again."""


class RunRows:
    """The runs of a store as one scan of the index saw them: rows ``0..len-1``, first
    the cached ones (values read from the cache's columns, a run built only when asked
    for), then those that cannot be cached (running, or changed too recently)."""

    def __init__(
        self,
        cache: _Cache,
        paths: list[str],
        fresh: list[Run],
        uri: str,
        fresh_paths: list[str] | None = None,
    ) -> None:
        self._cache = cache
        self._paths = paths
        self._fresh = fresh
        self._uri = uri
        self._fresh_paths = fresh_paths or []

    def folders(self) -> dict[str, str]:
        """Run id → its folder, as the scan listed it (no second listing of the store)."""
        found = dict(zip(self._cache.ids, self._paths, strict=True))
        found.update(
            (run.info.run_id, path)
            for run, path in zip(self._fresh, self._fresh_paths, strict=True)
        )
        return found

    def __len__(self) -> int:
        return self._cache.count + len(self._fresh)

    def values(self, entity: str, key: str) -> Callable[[int], Any]:
        """Row number → the run's value of ``entity`` ``key`` (None where it has none):
        a run attribute (RunInfo's field name), a param, a tag or a metric's latest value."""
        cached = self._cache.count
        from_run = RunList(self._fresh).values(entity, key)
        if entity == ATTRIBUTE and key == "run_id":
            column: Any = self._cache.ids
        elif entity == ATTRIBUTE and key == "artifact_uri":
            column = [f"{self._uri}/{path_tail(p)}" for p in self._paths]
        else:
            column = self._cache.column(entity, key)
        get = column.__getitem__ if isinstance(column, list) else column.get
        if not self._fresh:
            return get  # every row is cached: no Python call per row
        return lambda i: get(i) if i < cached else from_run(i - cached)

    def run(self, i: int) -> Run:
        """The run of row ``i``."""
        if i >= self._cache.count:
            return self._fresh[i - self._cache.count]
        return self._cache.run(i, f"{self._uri}/{path_tail(self._paths[i])}")

    def runs(self, rows: Iterable[int] | None = None) -> list[Run]:
        """The runs of ``rows`` (default: all)."""
        with _no_gc():
            return [self.run(i) for i in (range(len(self)) if rows is None else rows)]

    def keys(self, entity: str) -> set[str]:
        """Every key of ``entity`` (a param, a tag or a metric) some run has a value of."""
        prefix = f"column:{entity}\0"
        found = {n[len(prefix) :] for n in self._cache._parts if n.startswith(prefix)}
        for run in self._fresh:
            found.update(_own_keys(run, entity))
        return found

    def rows_with(self, entity: str, key: str) -> Sequence[int]:
        """The rows whose run has a value of ``entity`` ``key``: a ``range`` when all do
        (so a caller can count them without looking at each)."""
        column = self._cache.column(entity, key)
        cached = self._cache.count
        value = RunList(self._fresh).values(entity, key)
        fresh = [cached + i for i in range(len(self._fresh)) if value(i) is not None]
        if isinstance(column, list) and len(fresh) == len(self._fresh):
            return range(len(self))
        return [*(range(cached) if isinstance(column, list) else sorted(column)), *fresh]


def _own_keys(run: Run, entity: str) -> Iterable[str]:
    if entity == PARAM:
        return run.data.params
    if entity == TAG:
        return run.data.tags
    return run.data.metrics if entity == METRIC else ()


class RunIndex:
    """The runs of a store, read through the cache file ``cache`` (default: in the store's
    ``.cache``; False: none, the index lives in memory for this process only)."""

    def __init__(self, root: Path, cache: Path | Literal[False] | None = None) -> None:
        self.root = root
        self.path = root / layout.CACHE_DIR / CACHE_FILE if cache is None else cache
        #: The cache as last read or written by this process (kept in step with the file).
        self._cache: _Cache | None = None
        #: The key the cache file is signed with (see ``cache_key``), read on first use.
        self._key: bytes | None = None

    def _digest(self, payload: bytes | memoryview, size: int = _DIGEST_SIZE) -> bytes:
        if self._key is None:
            self._key = cache_key()
        return hashlib.blake2b(payload, key=self._key, digest_size=size).digest()

    def _read(self) -> _Cache:
        """The cache file's content; empty (a rebuild) if it is missing, damaged, too
        large or not written with this user's key."""
        if self.path is False:
            return _Cache.empty(self._digest)
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if not len(_MAGIC) < size <= MAX_CACHE_BYTES:
                    return _Cache.empty(self._digest)
                # read whole: a mapping would crash this process if the file were
                # truncated in place meanwhile
                data = f.read()
        except OSError:
            return _Cache.empty(self._digest)
        return _Cache.parse(data, self._digest) or _Cache.empty(self._digest)

    def load_runs(self) -> tuple[list[Run], list[CorruptedRecord]]:
        """Every run of the store, and the errors of those that cannot be read."""
        rows, errors = self.scan()
        return rows.runs(), errors

    def scan(self) -> tuple[RunRows, list[CorruptedRecord]]:
        """The store's runs as rows (each built only when asked for), and the errors of
        those that cannot be read; the cache file is brought up to date on the way."""
        with _no_gc():
            return self._scan()

    def forget(self) -> None:
        """Drop the cache (in memory and on disk): the next scan reads every run again."""
        self._cache = None
        if self.path is not False:
            with contextlib.suppress(OSError):
                self.path.unlink()

    def record_signature(self, run_id: str) -> list[int] | None:
        """The (inode, mtime, size) of a run's record files as the last scan saw them
        (None for a run it did not cache)."""
        if self._cache is None:
            return None
        return self._cache.signature(run_id)

    def _scan(self) -> tuple[RunRows, list[CorruptedRecord]]:
        root = os.fspath(self.root)
        shards = recordstats.run_shards(os.path.join(root, layout.RUNS_DIR))
        processes = recordstats.processes() if self._big() else 1
        take = recordstats.start(shards, RECORD_FILES, processes)  # helpers start now...
        if self._cache is None:
            self._cache = self._read()  # ...and take stats while this reads the cache
        cache = self._cache
        stats = take()
        paths = _folder_paths(shards, stats)
        uri = self.root.resolve().as_uri()
        if (
            stats.names == cache.ids
            and stats.packed == cache.sigs
            and recordstats.NO_RECORD not in stats.kinds
        ):  # nothing changed (the usual case): one comparison instead of one per run
            return RunRows(cache, paths, [], uri), []
        order, paths, fresh, fresh_paths, errors = self._sort_out(cache, stats, paths)
        if order != list(range(cache.count)):
            cache = cache.rewritten(order)
            self._write(cache)
            self._cache = cache
        return RunRows(cache, paths, fresh, uri, fresh_paths), errors

    def _sort_out(
        self, cache: _Cache, stats: recordstats.Stats, folders: list[str]
    ) -> tuple[
        list[int | tuple[str, bytes, dict[str, Any]]],
        list[str],
        list[Run],
        list[str],
        list[CorruptedRecord],
    ]:
        """Each listed run as a row of ``cache`` (unchanged) or read again; the paths of
        the cached ones, the runs that cannot be cached and their paths, and the errors of
        unreadable ones."""
        known, sigs, width = cache.positions, cache.sigs, _SIG.size
        #: In the order listed: a row of the cache (unchanged) or a run read again.
        order: list[int | tuple[str, bytes, dict[str, Any]]] = []
        paths: list[str] = []
        taken: set[str] = set()  # a run id listed twice (two shards) is never cached
        fresh: list[Run] = []
        fresh_paths: list[str] = []
        errors: list[CorruptedRecord] = []
        trust_before = time.time_ns() - layout.RACY_NS
        for i, (run_id, path) in enumerate(zip(stats.names, folders, strict=True)):
            has_record = stats.kinds[i] != recordstats.NO_RECORD
            sig = stats.packed[i * width : (i + 1) * width] if has_record else b""
            at = known.get(run_id)
            if (
                at is not None
                and sigs[at * width : (at + 1) * width] == sig
                and run_id not in taken
            ):
                order.append(at)
                paths.append(path)
                taken.add(run_id)
                continue
            try:
                run, entry = _read_entry(Path(path))
            except CorruptedRecord as e:
                errors.append(e)
                continue
            except FileNotFoundError as e:
                errors.append(CorruptedRecord(f"{path}: {e.strerror}: {e.filename}"))
                continue
            if (
                entry is None
                or run_id in taken
                or len(sig) != width
                or max(_SIG.unpack(sig)[1::3]) >= trust_before
            ):
                fresh.append(run)
                fresh_paths.append(path)
                continue
            order.append((run_id, sig, entry))
            paths.append(path)
            taken.add(run_id)
        return order, paths, fresh, fresh_paths, errors

    def _big(self) -> bool:
        """Whether the store holds ``PARALLEL_FROM`` runs or more, as far as the cache says
        (before it is read: by the size of its file, which holds at least
        ``_CACHED_BYTES_PER_RUN`` per run)."""
        if self._cache is not None:
            return self._cache.count >= PARALLEL_FROM
        if self.path is False:
            return False
        try:
            return os.stat(self.path).st_size >= PARALLEL_FROM * _CACHED_BYTES_PER_RUN
        except OSError:
            return False

    def _write(self, cache: _Cache) -> None:
        if self.path is False:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            formats.write_atomic(self.path, cache.data)
        except OSError as e:  # a cache that cannot be written is only slower
            log.debug("cannot write %s: %s", self.path, e)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Tens of thousands of small containers are made while scanning and none is garbage:
    the cyclic collector would only walk them again and again (it doubled the time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class _Cache:
    """A cache file's content: ``count`` runs, their ids and packed signatures, their
    columns and entries (each decoded, after its digest is checked, on first use)."""

    def __init__(
        self,
        data: bytes,
        body: int,
        parts: dict[str, tuple[int, int, bytes]],
        digest: Callable[..., bytes],
    ) -> None:
        self.data = data
        self._view = memoryview(data)
        self._body = body
        self._parts = parts
        self._digest = digest
        self._decoded: dict[str, Any] = {}
        self._built: dict[int, Run] = {}
        self.ids: list[str] = self._part("ids")
        self.count = len(self.ids)
        self.sigs: bytes = self._part("sigs")
        offsets = array.array("q")
        offsets.frombytes(self._part("offsets"))
        self._offsets = offsets
        self._entry_digests: bytes = self._part("digests")
        if len(offsets) != self.count + 1 or len(self.sigs) != self.count * _SIG.size:
            raise ValueError("inconsistent parts")

    @classmethod
    def parse(cls, data: bytes, digest: Callable[..., bytes]) -> _Cache | None:
        view = memoryview(data)
        at = len(_MAGIC)
        if view[:at] != _MAGIC:
            return None
        try:
            signed = view[at : at + _DIGEST_SIZE]
            (size,) = _HEAD.unpack_from(view, at + _DIGEST_SIZE)
            start = at + _DIGEST_SIZE + _HEAD.size
            header = view[start : start + size]
            if len(header) != size or not hmac.compare_digest(signed, digest(header)):
                return None
            head = marshal.loads(header)
            if not isinstance(head, dict) or head.get("version") != _CACHE_VERSION:
                return None
            return cls(data, start + size, head["parts"], digest)
        except (EOFError, ValueError, TypeError, KeyError, struct.error):
            return None

    @classmethod
    def empty(cls, digest: Callable[..., bytes]) -> _Cache:
        return cls.build([], b"", [], [], {}, digest)

    @classmethod
    def build(
        cls,
        ids: list[str],
        sigs: bytes,
        entries: list[bytes | memoryview],
        entry_digests: list[bytes | memoryview],
        columns: dict[str, tuple[list[int] | None, list[Any]]],
        digest: Callable[..., bytes],
    ) -> _Cache:
        """A cache holding these runs (``entries``: each run's marshalled entry)."""
        offsets = array.array("q", [0])
        for entry in entries:
            offsets.append(offsets[-1] + len(entry))
        blobs: dict[str, bytes | memoryview] = {
            "ids": marshal.dumps(ids),
            "sigs": marshal.dumps(sigs),
            "offsets": marshal.dumps(offsets.tobytes()),
            "digests": marshal.dumps(b"".join(entry_digests)),
            **{f"column:{name}": marshal.dumps(c) for name, c in sorted(columns.items())},
        }
        parts: dict[str, tuple[int, int, bytes]] = {}
        chunks: list[bytes | memoryview] = []
        at = 0
        for name, blob in blobs.items():
            parts[name] = (at, len(blob), digest(blob, _PART_DIGEST_SIZE))
            chunks.append(blob)
            at += len(blob)
        parts["entries"] = (at, offsets[-1], b"")
        chunks.extend(entries)
        header = marshal.dumps({"version": _CACHE_VERSION, "parts": parts})
        data = b"".join([_MAGIC, digest(header), _HEAD.pack(len(header)), header, *chunks])
        made = cls.parse(data, digest)
        assert made is not None
        return made

    def _span(self, name: str) -> memoryview:
        offset, size, _ = self._parts[name]
        return self._view[self._body + offset : self._body + offset + size]

    def _part(self, name: str) -> Any:
        """Part ``name`` decoded (its digest checked first); ValueError if it is damaged."""
        span = self._span(name)
        if not hmac.compare_digest(self._parts[name][2], self._digest(span, _PART_DIGEST_SIZE)):
            raise DamagedCache(f"part {name} does not match its digest")
        return marshal.loads(span)

    @functools.cached_property
    def positions(self) -> dict[str, int]:
        """Run id → its row (made once per cache: every scan of an unchanged store asks)."""
        return {run_id: i for i, run_id in enumerate(self.ids)}

    def signature(self, run_id: str) -> list[int] | None:
        at = self.positions.get(run_id)
        return None if at is None else list(_SIG.unpack_from(self.sigs, at * _SIG.size))

    def column(self, entity: str, key: str) -> list[Any] | dict[int, Any]:
        """The values of one column: a list (every run has one) or row → value."""
        name = f"column:{entity}\0{key}"
        found = self._decoded.get(name)
        if found is None:
            if name not in self._parts:
                found = {}
            else:
                rows, values = self._part(name)
                found = values if rows is None else dict(zip(rows, values, strict=True))
            self._decoded[name] = found
        return found

    def entry(self, i: int) -> memoryview:
        """The marshalled entry of row ``i``, its digest checked."""
        span = self._span("entries")[self._offsets[i] : self._offsets[i + 1]]
        want = self._entry_digests[i * _PART_DIGEST_SIZE : (i + 1) * _PART_DIGEST_SIZE]
        if not hmac.compare_digest(want, self._digest(span, _PART_DIGEST_SIZE)):
            raise DamagedCache(f"entry {i} does not match its digest")
        return span

    def run(self, i: int, artifact_uri: str) -> Run:
        run = self._built.get(i)
        if run is None:
            run = _cached_run(artifact_uri, *marshal.loads(self.entry(i)))
            self._built[i] = run
        return run

    def rewritten(self, order: list[int | tuple[str, bytes, dict[str, Any]]]) -> _Cache:
        """A cache of the rows ``order`` names: a row of this one, or (run id, packed
        signature, entry) of a run read from its files."""
        width, d = _SIG.size, _PART_DIGEST_SIZE
        ids: list[str] = []
        sigs: list[bytes] = []
        entries: list[bytes | memoryview] = []
        digests: list[bytes | memoryview] = []
        kept: list[tuple[int, int]] = []  # (new row, old row)
        added: list[tuple[int, dict[str, Any]]] = []
        all_entries = self._span("entries")
        for row, item in enumerate(order):
            if isinstance(item, int):
                ids.append(self.ids[item])
                sigs.append(self.sigs[item * width : (item + 1) * width])
                entries.append(all_entries[self._offsets[item] : self._offsets[item + 1]])
                digests.append(self._entry_digests[item * d : (item + 1) * d])
                kept.append((row, item))
            else:
                run_id, sig, e = item
                blob = marshal.dumps((e["rec"], e["params"], e["tags"], e["metrics"]))
                ids.append(run_id)
                sigs.append(sig)
                entries.append(blob)
                digests.append(self._digest(blob, d))
                added.append((row, e))
        columns = self._moved_columns(len(ids), kept, added)
        return _Cache.build(ids, b"".join(sigs), entries, digests, columns, self._digest)

    def _moved_columns(
        self, count: int, kept: list[tuple[int, int]], added: list[tuple[int, dict[str, Any]]]
    ) -> dict[str, tuple[list[int] | None, list[Any]]]:
        """The columns of a rewritten cache of ``count`` rows: this one's values moved to
        their ``kept`` (new row, old row), plus those of the ``added`` runs' entries."""
        # old row -> new row (the last slot: "not kept"), then per column, one C-level pass
        new_of_old = [count] * (self.count + 1)
        for row, old in kept:
            new_of_old[old] = row
        old_of_new = [self.count] * count
        for row, old in kept:
            old_of_new[row] = old
        dense: dict[str, list[Any]] = {}
        for name in self._parts:
            if not name.startswith("column:"):
                continue
            column = self.column(*name[len("column:") :].split("\0", 1))
            if isinstance(column, list):
                dense[name[len("column:") :]] = list(map([*column, None].__getitem__, old_of_new))
            else:
                values: list[Any] = [None] * (count + 1)
                for old, value in column.items():
                    values[new_of_old[old]] = value
                del values[count]
                dense[name[len("column:") :]] = values
        for row, e in added:
            for name, value in _column_values(e):
                if value is not None:
                    dense.setdefault(name, [None] * count)[row] = value
        columns: dict[str, tuple[list[int] | None, list[Any]]] = {}
        for name, values in dense.items():
            if None not in values:
                columns[name] = (None, values)
            elif rows := [row for row, v in enumerate(values) if v is not None]:
                columns[name] = (rows, [values[row] for row in rows])
        return columns


def _cached_run(
    artifact_uri: str,
    rec: dict[str, Any],
    params: dict[str, str],
    tags: dict[str, str],
    metrics: dict[str, tuple[Any, ...]],
) -> Run:
    """The Run of a cache entry, its values taken as they are: they were checked and
    converted when the run was read to make the entry (``_read_entry``)."""
    summaries = {k: MetricSummary(*v) for k, v in metrics.items()}
    info = RunInfo(
        run_id=rec["run_id"],
        run_name=rec["run_name"],
        experiment_id=rec["experiment_id"],
        status=rec["status"],
        start_time=rec["start_time"],
        end_time=rec["end_time"],
        lifecycle_stage=rec["lifecycle_stage"],
        user_id=rec["user"],
        artifact_uri=artifact_uri,
    )
    latest = {k: s.latest for k, s in summaries.items()}
    return Run(info, RunData(params=params, metrics=latest, tags=tags, metric_summaries=summaries))


def _column_values(entry: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """(column name, value) of each searchable value of a cache entry."""
    rec = entry["rec"]
    for column, field in _INFO_COLUMNS.items():
        yield f"{ATTRIBUTE}\0{column}", rec.get(field)
    for kind, field in ((PARAM, "params"), (TAG, "tags")):
        for key, value in entry[field].items():
            yield f"{kind}\0{key}", value
    for key, summary in entry["metrics"].items():
        yield f"{METRIC}\0{key}", summary[0]


def path_tail(path: str) -> str:
    """``runs/<shard>/<id>/artifacts`` of a run folder path (URIs built without pathlib)."""
    _, shard, run_id = path.rsplit(os.sep, 2)
    return f"{layout.RUNS_DIR}/{shard}/{run_id}/{layout.ARTIFACTS_DIR}"


#: From this many runs on, a scan splits its record stats between processes, one per core.
PARALLEL_FROM = 20_000
#: The least a cache file holds per run (its id, stats, digest, offset and a minimal entry).
_CACHED_BYTES_PER_RUN = 256


def _folder_paths(shards: list[str], stats: recordstats.Stats) -> list[str]:
    """The path of each run folder ``stats`` lists."""
    paths: list[str] = []
    at = 0
    for shard, count in zip(shards, stats.counts, strict=True):
        prefix = shard + os.sep
        paths.extend([prefix + name for name in stats.names[at : at + count]])
        at += count
    return paths


def _read_entry(run_path: Path) -> tuple[Run, dict[str, Any] | None]:
    rec = runs.read_run_record(run_path)
    summaries = runs.metric_summaries(run_path, rec)
    run = runs.build_run(run_path, rec, summaries)
    if not RunStatus.is_terminated(run.info.status):
        return run, None
    info = run.info
    entry: dict[str, Any] = {
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
