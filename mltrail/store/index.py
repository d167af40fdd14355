"""A derived, disposable cache of run records: ``.cache/runs-index.marshal`` (git-ignored).

Searching thousands of runs would otherwise parse three YAML files per run.  The
cache keeps, per ended run, what those files said and their (inode, mtime, size):
mltrail replaces records by rename (a new inode) and an editor's in-place save
changes the time or size, so a changed run is read again.  Like git's index it
distrusts times too close to the moment they were read (a change in the same clock
tick would be invisible), and it never holds a running run.  Deleting the cache only
costs one slow search.

The file is laid out so that a search reads little of it, and signed with this
user's key (``indexfile``).

Rewriting the whole file for one new run would cost a second at 100,000 runs, so runs
added since it was written go to a small second file beside it (``.added.marshal``,
signed the same way and naming the file it extends): while every cached run stays as
it was and the added ones are few (``max_added``), a scan reads both and rewrites
neither; past that, or when a cached run changed or went, the whole file is rewritten
and the added file dropped.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
import logging
import marshal
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from mltrail.entities import Run, RunStatus
from mltrail.errors import CorruptedRecord
from mltrail.search import RunList
from mltrail.search_syntax import ATTRIBUTE, METRIC, PARAM, TAG
from mltrail.store import layout, recordstats, runs
from mltrail.store.indexfile import (
    ADDED_SUFFIX,
    CACHE_FILE,
    DIGEST_SIZE,
    MAGIC,
    MAX_CACHE_BYTES,
    REC_FIELDS,
    RECORD_FILES,
    SIG,
    Added,
    Cache,
    cache_key,
    path_tail,
    read_capped,
    user_cache_dir,
    write_quietly,
)

log = logging.getLogger(__name__)


class RunRows:
    """The runs of a store as one scan of the index saw them: rows ``0..len-1``, first
    the cached ones (values read from the cache's columns, a run built only when asked
    for), then those that cannot be cached (running, or changed too recently)."""

    def __init__(
        self,
        cache: Cache,
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
        if self._fresh:  # one copy of the column with their values after it
            tail = range(len(self._fresh))
            if isinstance(column, list):
                column = column + [from_run(j) for j in tail]
            else:
                column = column.copy()
                column.update((cached + j, v) for j in tail if (v := from_run(j)) is not None)
        return column.__getitem__ if isinstance(column, list) else column.get

    def run(self, i: int) -> Run:
        """The run of row ``i``."""
        if i >= self._cache.count:
            return self._fresh[i - self._cache.count]
        return self._cache.run(i, f"{self._uri}/{path_tail(self._paths[i])}")

    def runs(self, rows: Iterable[int] | None = None) -> list[Run]:
        """The runs of ``rows`` (default: all)."""
        with no_gc():
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
        cached = self._cache.count
        value = RunList(self._fresh).values(entity, key)
        fresh = [cached + i for i in range(len(self._fresh)) if value(i) is not None]
        every = self._cache.every_run_has(entity, key)
        if every and len(fresh) == len(self._fresh):
            return range(len(self))
        return [*(range(cached) if every else sorted(self._cache.column(entity, key))), *fresh]


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
        self._cache: Cache | None = None
        #: The runs added since the cache was written (its ``.added`` file), in step too.
        self._added: list[Added] = []
        #: The key the cache file is signed with (see ``cache_key``), read on first use.
        self._key: bytes | None = None

    @property
    def added_path(self) -> Path | Literal[False]:
        """The file of the runs added since the cache file was written."""
        return self.path and self.path.with_name(self.path.stem + ADDED_SUFFIX)

    def sign(self, payload: bytes | memoryview) -> bytes:
        """The digest that signs ``payload`` with this user's key, as the cache is signed
        (for other derived files kept beside it)."""
        return self._digest(payload)

    def _digest(self, payload: bytes | memoryview, size: int = DIGEST_SIZE) -> bytes:
        if self._key is None:
            self._key = cache_key()
        return hashlib.blake2b(payload, key=self._key, digest_size=size).digest()

    def _read(self) -> Cache:
        """The cache file's content; empty (a rebuild) if it is missing, damaged, too
        large or not written with this user's key."""
        if self.path is False:
            return Cache.empty(self._digest)
        try:
            with open(self.path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if not len(MAGIC) < size <= MAX_CACHE_BYTES:
                    return Cache.empty(self._digest)
                # read whole: a mapping would crash this process if the file were
                # truncated in place meanwhile
                data = f.read()
        except OSError:
            return Cache.empty(self._digest)
        return Cache.parse(data, self._digest) or Cache.empty(self._digest)

    def _read_added(self, cache: Cache) -> list[Added]:
        """The runs of the ``.added`` file that extends ``cache``; none if there is no
        such file, or it is damaged, not signed with this user's key or extends another."""
        path = self.added_path
        data = None if path is False or not cache.count else read_capped(path)
        return [] if data is None else Added.parse_all(data, cache, self._digest)

    def _write_added(self, cache: Cache, added: list[Added]) -> None:
        """Keep ``added`` as the runs added to ``cache`` (none: drop the file)."""
        self._added = added
        path = self.added_path
        if path is not False and added:
            write_quietly(path, Added.file_of(added, cache, self._digest))
        elif path is not False:
            with contextlib.suppress(OSError):
                path.unlink()

    def load_runs(self) -> tuple[list[Run], list[CorruptedRecord]]:
        """Every run of the store, and the errors of those that cannot be read."""
        rows, errors = self.scan()
        return rows.runs(), errors

    def scan(self) -> tuple[RunRows, list[CorruptedRecord]]:
        """The store's runs as rows (each built only when asked for), and the errors of
        those that cannot be read; the cache file is brought up to date on the way."""
        with no_gc():
            return self._scan()

    def forget(self) -> None:
        """Drop the cache (in memory and on disk): the next scan reads every run again."""
        self._cache = None
        self._added = []
        for path in (self.path, self.added_path):
            if path is not False:
                with contextlib.suppress(OSError):
                    path.unlink()

    def record_signature(self, run_id: str) -> bytes | None:
        """The (inode, mtime, size) of a run's record files as the last scan saw them,
        packed (``SIG``; None for a run it did not cache)."""
        if self._cache is None:
            return None
        found = self._cache.signature(run_id)
        if found is None:
            found = next((a.sig for a in self._added if a.run_id == run_id), None)
        return found

    def _scan(self) -> tuple[RunRows, list[CorruptedRecord]]:
        root = os.fspath(self.root)
        shards = recordstats.run_shards(os.path.join(root, layout.RUNS_DIR))
        processes = recordstats.processes() if self._big() else 1
        take = recordstats.start(shards, RECORD_FILES, processes)  # helpers start now...
        if self._cache is None:
            self._cache = self._read()  # ...and take stats while this reads the cache
            self._added = self._read_added(self._cache)
        cache, added = self._cache, self._added
        stats = take()
        paths = _folder_paths(shards, stats)
        uri = self.root.resolve().as_uri()
        if recordstats.NO_RECORD not in stats.kinds and (
            unchanged := _unchanged(cache, added, stats, paths)
        ):  # nothing changed (the usual case): a few comparisons instead of one per run
            cached_paths, added_paths = unchanged
            added_runs = [a.run(uri, path) for a, path in zip(added, added_paths, strict=True)]
            return RunRows(cache, cached_paths, added_runs, uri, added_paths), []
        order, paths, fresh, fresh_paths, errors = self._sort_out(cache, added, stats, paths)
        if order == list(range(cache.count)):
            if added:  # the added runs went
                self._write_added(cache, [])
            return RunRows(cache, paths, fresh, uri, fresh_paths), errors
        beside = self._kept_beside(cache, order, paths, stats, uri)
        if beside is not None:  # only runs added: kept beside the cache, not rewritten in
            cached_paths, added_runs, added_paths = beside
            fresh, fresh_paths = added_runs + fresh, added_paths + fresh_paths
            return RunRows(cache, cached_paths, fresh, uri, fresh_paths), errors
        cache = cache.rewritten(order)
        self._write(cache)
        self._cache = cache
        self._write_added(cache, [])
        return RunRows(cache, paths, fresh, uri, fresh_paths), errors

    def _kept_beside(
        self,
        cache: Cache,
        order: list[int | tuple[str, bytes, dict[str, Any]]],
        paths: list[str],
        stats: recordstats.Stats,
        uri: str,
    ) -> tuple[list[str], list[Run], list[str]] | None:
        """If ``order`` (of ``_sort_out``) is every row of ``cache`` in order with a few runs
        added: those runs kept in the added file; the paths of the cached runs, and the
        added runs with their paths. None if the cache must be rewritten."""
        kept = [row for row in order if isinstance(row, int)]
        new = [(row, p) for row, p in zip(order, paths, strict=True) if isinstance(row, tuple)]
        if not cache.count or kept != list(range(cache.count)) or len(new) > max_added(cache.count):
            return None
        at = {run_id: i for i, run_id in enumerate(stats.names)}
        added = [Added.of(at[row[0]], *row) for row, _ in new]
        self._write_added(cache, added)
        cached_paths = [p for row, p in zip(order, paths, strict=True) if isinstance(row, int)]
        added_paths = [p for _, p in new]
        return (
            cached_paths,
            [a.run(uri, p) for a, p in zip(added, added_paths, strict=True)],
            added_paths,
        )

    def _sort_out(
        self, cache: Cache, added: list[Added], stats: recordstats.Stats, folders: list[str]
    ) -> tuple[
        list[int | tuple[str, bytes, dict[str, Any]]],
        list[str],
        list[Run],
        list[str],
        list[CorruptedRecord],
    ]:
        """Each listed run as a row of ``cache`` (unchanged) or read again; the paths of
        the cached ones, the runs that cannot be cached and their paths, and the errors of
        unreadable ones. An unchanged run of ``added`` is taken from there, not read again."""
        known, sigs, width = cache.positions, cache.sigs, SIG.size
        kept_added = {a.run_id: a for a in added}
        #: In the order listed: a row of the cache (unchanged) or a run read again.
        order: list[int | tuple[str, bytes, dict[str, Any]]] = []
        paths: list[str] = []
        taken: set[str] = set()  # a run id listed twice (two shards) is never cached
        fresh: list[Run] = []
        fresh_paths: list[str] = []
        errors: list[CorruptedRecord] = []
        trust_before = time.time_ns() - layout.RACY_NS

        def look_at(i: int) -> None:
            run_id, path = stats.names[i], folders[i]
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
                return
            before = kept_added.get(run_id)
            if before is not None and before.sig == sig and run_id not in taken:
                order.append((run_id, sig, before.as_entry()))
                paths.append(path)
                taken.add(run_id)
                return
            try:
                run, entry = _read_entry(Path(path))
            except CorruptedRecord as e:
                errors.append(e)
                return
            except FileNotFoundError as e:
                errors.append(CorruptedRecord(f"{path}: {e.strerror}: {e.filename}"))
                return
            if (
                entry is None
                or run_id in taken
                or len(sig) != width
                or max(SIG.unpack(sig)[1::3]) >= trust_before
            ):
                fresh.append(run)
                fresh_paths.append(path)
                return
            order.append((run_id, sig, entry))
            paths.append(path)
            taken.add(run_id)

        new = _new_places(cache, stats)
        if new is None:
            for i in range(len(stats.names)):
                look_at(i)
        else:  # the other runs are the cache's rows, in order: taken as they are, in bulk
            row = start = 0
            for i in [*new, len(stats.names)]:
                order.extend(range(row, row + i - start))
                paths.extend(folders[start:i])
                row += i - start
                if i < len(stats.names):
                    look_at(i)
                start = i + 1
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

    def _write(self, cache: Cache) -> None:
        if self.path is not False:
            write_quietly(self.path, cache.data)


@contextlib.contextmanager
def no_gc() -> Iterator[None]:
    """The cyclic garbage collector paused: tens of thousands of small containers are made
    while scanning or searching and none is garbage, so it would only walk them again and
    again (it doubled a scan's time; a full collection cost a 100,000-run search 0.12 s)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def max_added(cached: int) -> int:
    """How many runs may be kept beside a cache of ``cached`` runs before it is rewritten."""
    return max(256, cached // 64)


def _unchanged(
    cache: Cache, added: list[Added], stats: recordstats.Stats, paths: list[str]
) -> tuple[list[str], list[str]] | None:
    """If the listing ``stats`` is exactly the cache's runs with the ``added`` ones at their
    places, every stat as kept: the paths of the cached runs, and of the added ones."""
    names, packed, width = stats.names, stats.packed, SIG.size
    if not added:
        return (paths, []) if names == cache.ids and packed == cache.sigs else None
    places = [a.position for a in added]
    if (
        len(names) != cache.count + len(added)
        or places != sorted(set(places))
        or not 0 <= places[0] <= places[-1] < len(names)
        or any(
            names[a.position] != a.run_id
            or packed[a.position * width : (a.position + 1) * width] != a.sig
            for a in added
        )
        or not _rest_is_cached(cache, stats, places)
    ):
        return None
    cached_paths = list(
        itertools.chain.from_iterable(paths[a:b] for a, b in _between(places, len(names)))
    )
    return cached_paths, [paths[p] for p in places]


def _new_places(cache: Cache, stats: recordstats.Stats) -> list[int] | None:
    """The places in the listing ``stats`` of the runs ``cache`` does not hold, if every
    other listed run is its row of the cache, in order, with the stats it was cached with
    (runs were only added: a scan then reads just those); else None."""
    known = cache.positions
    new = [i for i, name in enumerate(stats.names) if name not in known]
    if len(stats.names) - len(new) != cache.count or not _rest_is_cached(cache, stats, new):
        return None
    return new


def _rest_is_cached(cache: Cache, stats: recordstats.Stats, places: list[int]) -> bool:
    """Whether the listing ``stats`` without the runs at ``places`` (ascending) is exactly
    the cache's runs, in order, each with the stats it was cached with."""
    names, packed, width = stats.names, stats.packed, SIG.size
    spans = _between(places, len(names))
    if list(itertools.chain.from_iterable(names[a:b] for a, b in spans)) != cache.ids:
        return False
    return b"".join(packed[a * width : b * width] for a, b in spans) == cache.sigs


def _between(places: list[int], count: int) -> list[tuple[int, int]]:
    """The spans of ``range(count)`` between the ascending ``places``."""
    return list(zip([0, *(p + 1 for p in places)], [*places, count], strict=True))


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
        "rec": {**{k: getattr(info, k) for k in REC_FIELDS}, "user": info.user_id},
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


def read_only_index_cache(root: Path) -> Path:
    """Where the run index of a store opened read-only is cached: in the user's cache
    folder, one file per store folder (a site build never writes into the store)."""
    name = hashlib.sha256(os.fsencode(root.resolve())).hexdigest()[:32]
    return user_cache_dir() / "runs-index" / f"{name}.marshal"
