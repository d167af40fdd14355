"""The run index's cache files: their layout, signing, writing and reading.

``runs-index.marshal`` is laid out so that a search reads little of it: a header naming
its parts, then the run ids, their record stats, one column per searchable value (a run
attribute, a param, a tag, a metric's latest value) and each run's whole entry as its
own :mod:`marshal` blob.  A search decodes the columns its filter and order name, then
builds only the runs it returns.  Every part and every entry carries a digest keyed
with this user's key (``marshal`` must never see bytes from others), checked when it is
first decoded; a version mismatch or damage means a rebuild.

``runs-index.added.marshal`` holds the runs added since that file was written (their
place in the listing, record stats and entries), signed the same way and naming the
signature of the file it extends: one left from an older file is not used.  When to
use which is ``index.RunIndex``'s business.
"""

from __future__ import annotations

import array
import functools
import hmac
import logging
import marshal
import os
import secrets
import struct
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple

from mltrail.entities import MetricSummary, Run, RunData, RunInfo
from mltrail.search_syntax import ATTRIBUTE, METRIC, PARAM, TAG
from mltrail.store import formats, layout, recordstats

log = logging.getLogger(__name__)

CACHE_FILE = "runs-index.marshal"
#: The suffix of the file of runs added since the cache file was written.
ADDED_SUFFIX = ".added.marshal"
CACHE_VERSION = 4
MAGIC = b"mltrail-runs-index\n"
ADDED_MAGIC = b"mltrail-runs-index-added\n"
DIGEST_SIZE = 32
PART_DIGEST_SIZE = 16
KEY_SIZE = 32
HEAD = struct.Struct("<Q")  # the header's length
#: A larger cache file is not read (it would be ~1 KiB per run): a rebuild instead.
MAX_CACHE_BYTES = 1 << 30

#: The files whose stats tell whether a run changed (see ``recordstats``).
RECORD_FILES = (layout.RUN_FILE, layout.PARAMS_FILE, layout.TAGS_FILE)
#: (inode, mtime, size) of each of ``RECORD_FILES``, packed: one fixed-size slot per run.
SIG = recordstats.packer(len(RECORD_FILES))

#: The run.yaml fields ``runs.assemble_run`` reads that are RunInfo's under the same name.
REC_FIELDS = [
    "run_id",
    "run_name",
    "experiment_id",
    "status",
    "start_time",
    "end_time",
    "lifecycle_stage",
]
#: RunInfo's fields kept as columns (``run_id`` and ``artifact_uri`` come from the scan).
INFO_COLUMNS = {k: k for k in REC_FIELDS if k != "run_id"} | {"user_id": "user"}


class DamagedCache(ValueError):
    """A part of a signed cache file whose bytes changed after it was written (a disk
    error): the caller forgets the cache (``RunIndex.forget``) and asks again."""


class Cache:
    """A cache file's content: ``count`` runs, their ids and packed signatures, their
    columns and entries (each decoded, after its digest is checked, on first use)."""

    def __init__(
        self,
        data: bytes,
        body: int,
        parts: dict[str, tuple[int, int, bytes]],
        digest: Callable[..., bytes],
        full: frozenset[str] | None = None,
    ) -> None:
        self.data = data
        self._view = memoryview(data)
        self._body = body
        self._parts = parts
        #: The columns every run has a value of (None: not known, a cache written before)
        self._full = full
        self._digest = digest
        self._decoded: dict[str, Any] = {}
        self._sound: set[str] = set()  # the parts whose digest was checked
        self._built: dict[int, Run] = {}
        self.ids: list[str] = self._part("ids")
        self.count = len(self.ids)
        self.sigs: bytes = self._part("sigs")
        offsets = array.array("q")
        offsets.frombytes(self._part("offsets"))
        self._offsets = offsets
        self._entry_digests: bytes = self._part("digests")
        if len(offsets) != self.count + 1 or len(self.sigs) != self.count * SIG.size:
            raise ValueError("inconsistent parts")

    @classmethod
    def parse(cls, data: bytes, digest: Callable[..., bytes]) -> Cache | None:
        view = memoryview(data)
        at = len(MAGIC)
        if view[:at] != MAGIC:
            return None
        try:
            signed = view[at : at + DIGEST_SIZE]
            (size,) = HEAD.unpack_from(view, at + DIGEST_SIZE)
            start = at + DIGEST_SIZE + HEAD.size
            header = view[start : start + size]
            if len(header) != size or not hmac.compare_digest(signed, digest(header)):
                return None
            head = marshal.loads(header)
            if not isinstance(head, dict) or head.get("version") != CACHE_VERSION:
                return None
            full = head.get("full")  # older caches do not say
            if full is not None and not all(isinstance(n, str) for n in full):
                return None
            known = None if full is None else frozenset(full)
            return cls(data, start + size, head["parts"], digest, known)
        except (EOFError, ValueError, TypeError, KeyError, struct.error):
            return None

    @classmethod
    def empty(cls, digest: Callable[..., bytes]) -> Cache:
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
    ) -> Cache:
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
            parts[name] = (at, len(blob), digest(blob, PART_DIGEST_SIZE))
            chunks.append(blob)
            at += len(blob)
        parts["entries"] = (at, offsets[-1], b"")
        chunks.extend(entries)
        # which columns every run has: counting a key's runs then reads no column
        full = sorted(f"column:{name}" for name, (rows, _) in columns.items() if rows is None)
        header = marshal.dumps({"version": CACHE_VERSION, "parts": parts, "full": full})
        data = b"".join([MAGIC, digest(header), HEAD.pack(len(header)), header, *chunks])
        made = cls.parse(data, digest)
        assert made is not None
        return made

    @property
    def signed(self) -> bytes:
        """The digest that signs this cache's header (it names the whole file)."""
        return bytes(self._view[len(MAGIC) : len(MAGIC) + DIGEST_SIZE])

    def _span(self, name: str) -> memoryview:
        offset, size, _ = self._parts[name]
        return self._view[self._body + offset : self._body + offset + size]

    def _part(self, name: str) -> Any:
        """Part ``name`` decoded (its digest checked first); ValueError if it is damaged."""
        return marshal.loads(self._checked(name))

    def _checked(self, name: str) -> memoryview:
        """The bytes of part ``name``, its digest checked (once); DamagedCache if it does
        not match."""
        span = self._span(name)
        if name not in self._sound:
            if not hmac.compare_digest(self._parts[name][2], self._digest(span, PART_DIGEST_SIZE)):
                raise DamagedCache(f"part {name} does not match its digest")
            self._sound.add(name)
        return span

    @functools.cached_property
    def positions(self) -> dict[str, int]:
        """Run id → its row (made once per cache: every scan of an unchanged store asks)."""
        return {run_id: i for i, run_id in enumerate(self.ids)}

    def signature(self, run_id: str) -> bytes | None:
        """The packed stats (``SIG``) of a cached run's record files."""
        at = self.positions.get(run_id)
        return None if at is None else self.sigs[at * SIG.size : (at + 1) * SIG.size]

    def every_run_has(self, entity: str, key: str) -> bool:
        """Whether every cached run has a value of ``entity`` ``key`` (without decoding the
        column, where the cache file says)."""
        name = f"column:{entity}\0{key}"
        if self._full is not None and name not in self._decoded:
            if name not in self._full or name not in self._parts:
                return False
            # checked now all the same (hashing is a tenth of decoding): a damaged column
            # is found while the caller can still read the runs again (DamagedCache)
            self._checked(name)
            return True
        return isinstance(self.column(entity, key), list)

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
        want = self._entry_digests[i * PART_DIGEST_SIZE : (i + 1) * PART_DIGEST_SIZE]
        if not hmac.compare_digest(want, self._digest(span, PART_DIGEST_SIZE)):
            raise DamagedCache(f"entry {i} does not match its digest")
        return span

    def run(self, i: int, artifact_uri: str) -> Run:
        run = self._built.get(i)
        if run is None:
            run = cached_run(artifact_uri, *marshal.loads(self.entry(i)))
            self._built[i] = run
        return run

    def rewritten(self, order: list[int | tuple[str, bytes, dict[str, Any]]]) -> Cache:
        """A cache of the rows ``order`` names: a row of this one, or (run id, packed
        signature, entry) of a run read from its files."""
        width, d = SIG.size, PART_DIGEST_SIZE
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
        return Cache.build(ids, b"".join(sigs), entries, digests, columns, self._digest)

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
            for name, value in column_values(e):
                if value is not None:
                    dense.setdefault(name, [None] * count)[row] = value
        columns: dict[str, tuple[list[int] | None, list[Any]]] = {}
        for name, values in dense.items():
            if None not in values:
                columns[name] = (None, values)
            elif rows := [row for row, v in enumerate(values) if v is not None]:
                columns[name] = (rows, [values[row] for row in rows])
        return columns


class Added(NamedTuple):
    """A run added since the cache file was written, kept in its ``.added`` file."""

    run_id: str
    #: Its place in the store's listing (``recordstats.Stats.names``) when it was kept.
    position: int
    #: Its record stats, packed (``SIG``).
    sig: bytes
    #: Its entry, as the cache holds one: (rec, params, tags, metrics).
    entry: tuple[Any, ...]

    @classmethod
    def of(cls, position: int, run_id: str, sig: bytes, entry: dict[str, Any]) -> Added:
        return cls(run_id, position, sig, tuple(entry[k] for k in ENTRY_KEYS))

    def as_entry(self) -> dict[str, Any]:
        return dict(zip(ENTRY_KEYS, self.entry, strict=True))

    def run(self, uri: str, path: str) -> Run:
        return cached_run(f"{uri}/{path_tail(path)}", *self.entry)

    @staticmethod
    def file_of(added: list[Added], cache: Cache, digest: Callable[..., bytes]) -> bytes:
        """The ``.added`` file holding ``added``, the runs added to ``cache``."""
        runs = list(map(tuple, added))  # marshal takes plain tuples only
        head = {"version": CACHE_VERSION, "extends": cache.signed, "runs": runs}
        return seal(ADDED_MAGIC, marshal.dumps(head), digest)

    @staticmethod
    def parse_all(data: bytes, cache: Cache, digest: Callable[..., bytes]) -> list[Added]:
        """The runs of an ``.added`` file; none if it is damaged, too large, not signed
        with this user's key or extends another cache than ``cache``."""
        payload = unseal(data, ADDED_MAGIC, digest)
        if payload is None:
            return []
        try:
            head = marshal.loads(payload)
            if head["version"] != CACHE_VERSION or head["extends"] != cache.signed:
                return []
            return [Added(*run) for run in head["runs"]]
        except (EOFError, ValueError, TypeError, KeyError):
            return []


ENTRY_KEYS = ("rec", "params", "tags", "metrics")


def seal(magic: bytes, payload: bytes, digest: Callable[..., bytes]) -> bytes:
    """A small derived file: ``magic``, the keyed digest of ``payload``, then ``payload``."""
    return b"".join([magic, digest(payload), payload])


def unseal(data: bytes, magic: bytes, digest: Callable[..., bytes]) -> memoryview | None:
    """The payload of a file made by :func:`seal`; None unless it starts with ``magic``,
    is at most ``MAX_CACHE_BYTES`` and its digest is this user's (unread otherwise)."""
    view = memoryview(data)
    at = len(magic) + DIGEST_SIZE
    if view[: len(magic)] != magic or len(data) > MAX_CACHE_BYTES:
        return None
    return view[at:] if hmac.compare_digest(view[len(magic) : at], digest(view[at:])) else None


def read_capped(path: Path) -> bytes | None:
    """A derived file's bytes, at most one more than ``MAX_CACHE_BYTES``; None if unreadable."""
    try:
        with open(path, "rb") as f:
            return f.read(MAX_CACHE_BYTES + 1)
    except OSError:
        return None


def write_quietly(path: Path, data: bytes) -> None:
    """Write a derived file whole (by rename); one that cannot be written is only slower."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        formats.write_atomic(path, data)
    except OSError as e:
        log.debug("cannot write %s: %s", path, e)


def cached_run(
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


def column_values(entry: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    """(column name, value) of each searchable value of a cache entry."""
    rec = entry["rec"]
    for column, field in INFO_COLUMNS.items():
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


def user_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/mltrail`` (default ``~/.cache/mltrail``): this user's caches,
    outside every store."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mltrail"


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
        if len(key) == KEY_SIZE:
            return key
        break
    log.debug("cannot keep a cache key in %s; using one for this process", path)
    return secrets.token_bytes(KEY_SIZE)


def _new_key(folder: Path, path: Path) -> bytes | None:
    """A new key, in place whole (hard-linked from a private file: never seen half
    written); None if another process made one first; random if none can be kept."""
    key = secrets.token_bytes(KEY_SIZE)
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
