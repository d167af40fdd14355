"""Signatures of store folders: cheap digests that change whenever a record changes.

A reader that keeps something derived from a run or a model (a site page, a cache)
compares signatures to know whether to derive it again. The rule of what counts lives
here, beside the writers it depends on, so readers never re-implement it.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from mltrail.store import layout
from mltrail.store.index import RunIndex, max_added
from mltrail.store.indexfile import RECORD_FILES, read_capped, seal, unseal, write_quietly
from mltrail.store.inputs import INPUTS_FILE

#: The record files a caller that passes their stats has already taken.
_RECORDS = frozenset(RECORD_FILES)


#: The entries directly in a run folder as a signature last listed them, kept while the
#: folder's own (inode, mtime) stay: (inode, mtime_ns, names, kinds: b"d" or b"f" each).
Listing = tuple[int, int, tuple[str, ...], bytes]
#: A folder as (an ``lstat`` relative to its open parent folder, its name there).
Within = tuple[Callable[[str], os.stat_result], str]


def folder_signature(
    path: str,
    ended: bool = False,
    records: bytes | None = None,
    files: list[str] | None = None,
    listing: Listing | None = None,
    at: Within | None = None,
) -> str:
    """A digest of the relative name, size and modification time of every file under ``path``.

    Cheap (stats only, no reads). For an ``ended`` run, its histories folder counts by its
    own stat only: mltrail appends to an ended run's history only through
    ``FileStore.after_write``, which rewrites ``run.yaml`` too, so the files need not be
    stat-ed one by one (a store of 10,000 runs holds 50,000 of them). ``records``: the
    stats of the run's record files that the run index has just taken, packed, reused.
    ``files``, when given, receives the names of the files directly in ``path`` (links
    followed, as ``os.path.isfile``) other than those records: seen on the way.
    ``listing``: the entries directly in ``path``, known unchanged (``run_signatures``),
    instead of listing the folder again; each is stat-ed all the same. ``at``: ``path``
    as a name in its open parent folder (``_parents``), for cheaper stats.
    """
    entries: list[str] = []
    skip = _RECORDS if records is not None else frozenset()
    stack: list[str] = []
    top = _listed(path) if listing is None else zip(listing[2], listing[3], strict=True)
    lstat, prefix = (os.lstat, path) if at is None else (at[0], at[1])
    for name, kind in top:  # kind: b"d" a folder, b"f" a file, b"l" a link or other
        if kind == _DIR and not (ended and name == layout.METRICS_DIR):
            stack.append(f"{path}{os.sep}{name}")
            continue
        if kind != _DIR and name in skip:
            continue
        if files is not None and (
            kind == _FILE or (kind == _OTHER and os.path.isfile(f"{path}{os.sep}{name}"))
        ):
            files.append(name)
        with contextlib.suppress(FileNotFoundError):
            st = lstat(f"{prefix}{os.sep}{name}")
            entries.append(f"{name}\0{st.st_size}\0{st.st_mtime_ns}")
    base = len(path) + 1
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as it:
                for dirent in it:
                    if dirent.is_dir(follow_symlinks=False):
                        stack.append(dirent.path)
                        continue
                    st = dirent.stat(follow_symlinks=False)
                    entries.append(f"{dirent.path[base:]}\0{st.st_size}\0{st.st_mtime_ns}")
        except FileNotFoundError:
            continue
    entries.sort()
    return _digest(records, entries)


def _digest(records: bytes | None, entries: list[str]) -> str:
    """A signature: the records' packed stats, then each file's entry (name, size, mtime)
    in name order."""
    digest = hashlib.sha256(b"" if records is None else records + b"\n")
    digest.update("\n".join(entries).encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


#: Stats relative to an open folder: the kernel then walks one or two names, not the
#: whole path (2.1 against 3.5 µs a stat of a run folder at 100,000 runs).
_BY_FOLDER = os.stat in os.supports_dir_fd


@contextlib.contextmanager
def _parents() -> Iterator[Callable[[str], Within | None]]:
    """``within(path)``: ``path`` in its parent folder, opened and kept open while the
    paths asked about stay in it (None where that cannot be: then stats take the whole
    path). One folder is open at a time: a store may hold thousands of shard folders,
    and a process only a few hundred descriptors; the runs come shard by shard."""
    current: list[Any] = [None, None, None]  # parent, its descriptor, its lstat

    def within(path: str) -> Within | None:
        parent, _, name = path.rpartition(os.sep)
        if parent != current[0]:
            _close()
            current[:] = [parent, *_open(parent)]
        lstat = current[2]
        return None if lstat is None else (lstat, name)

    def _open(parent: str) -> tuple[int | None, Callable[[str], os.stat_result] | None]:
        if not _BY_FOLDER or not parent:
            return None, None
        try:  # not through a link: then the whole path is walked, as without this
            fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError:
            return None, None
        return fd, functools.partial(os.lstat, dir_fd=fd)

    def _close() -> None:
        if current[1] is not None:
            os.close(current[1])
        current[:] = [None, None, None]

    try:
        yield within
    finally:
        _close()


_DIR, _FILE, _OTHER = 100, 102, 108  # b"d", b"f", b"l" as bytes iterate


def _listed(path: str) -> list[tuple[str, int]]:
    """The entries directly in ``path`` and their kinds (none if it is gone)."""
    try:
        with os.scandir(path) as it:
            return [(e.name, _kind(e)) for e in it]
    except FileNotFoundError:
        return []


def _kind(entry: os.DirEntry[str]) -> int:
    if entry.is_symlink():
        return _OTHER
    if entry.is_dir(follow_symlinks=False):
        return _DIR
    return _FILE if entry.is_file(follow_symlinks=False) else _OTHER


def listing_of(path: str, trust_before: int) -> Listing | None:
    """The listing of the folder ``path`` to keep: None if it holds a link or anything but
    plain files and folders, or changed too recently to be trusted (same clock tick)."""
    try:
        st = os.lstat(path)
        if st.st_mtime_ns >= trust_before:
            return None
        found = _listed(path)
        if os.lstat(path).st_mtime_ns != st.st_mtime_ns:
            return None  # changed while being listed
    except FileNotFoundError:
        return None
    if any(kind == _OTHER for _, kind in found):
        return None
    found.sort()  # in name order, so that runs with the same entries share one listing
    names = tuple(name for name, _ in found)
    return st.st_ino, st.st_mtime_ns, names, bytes(kind for _, kind in found)


def run_signatures(
    folders: Mapping[str, str],
    index: RunIndex,
    runs: Iterable[tuple[str, bool]],
    inputs: set[str] | None = None,
    listings: Mapping[str, Listing] | None = None,
    changes: dict[str, Listing | None] | None = None,
) -> dict[str, str]:
    """Run id → signature of its folder, for the (run id, ended) ``runs`` just read
    through ``index``; ``folders``: run id → folder (``layout.iter_run_folders``).
    ``inputs``, when given, receives the ids of the runs whose folder holds an inputs
    record (seen while listing the folder: no stat more per run).

    ``listings``: the run folders' listings kept from an earlier pass (``FolderListings``);
    a folder whose own (inode, mtime) are those of its listing is not listed again, only
    stat-ed (a stat costs a third of a listing). ``changes`` receives, per run whose
    listing to keep is not the one given, the new one (or None: keep none)."""
    signatures = {}
    files: list[str] | None = None if inputs is None else []
    trust_before = time.time_ns() - layout.RACY_NS
    with _parents() as within:
        for run_id, ended in runs:
            folder = folders[run_id]
            at = within(folder)
            records = index.record_signature(run_id)
            old = None if listings is None else listings.get(run_id)
            if ended and old is not None and at is not None and records is not None:
                signature = _plain_ended(old, records, at)
                if signature is not None:
                    signatures[run_id] = signature
                    continue
            listing = None
            if listings is not None:
                listing = _kept_listing(folder, old, trust_before, run_id, changes, at)
            signatures[run_id] = folder_signature(folder, ended, records, files, listing, at)
            if files:
                if INPUTS_FILE in files:
                    assert inputs is not None
                    inputs.add(run_id)
                files.clear()
    return signatures


#: The listing of an ended run's folder as mltrail leaves it: its records and histories.
_PLAIN = tuple(sorted((*RECORD_FILES, layout.METRICS_DIR)))
_PLAIN_KINDS = bytes(_DIR if name == layout.METRICS_DIR else _FILE for name in _PLAIN)


def _plain_ended(old: Listing, records: bytes, at: Within) -> str | None:
    """What ``folder_signature`` gives an ended run's folder whose kept listing ``old`` is
    still its own and holds only the records and the histories folder (nearly every run
    of a big store), without its general steps: 40% of the time of signing it. None for
    any other folder."""
    if old[2] != _PLAIN or old[3] != _PLAIN_KINDS:
        return None
    lstat, name = at
    try:
        st = lstat(name)
        if (st.st_ino, st.st_mtime_ns) != old[:2]:
            return None
        histories = lstat(f"{name}{os.sep}{layout.METRICS_DIR}")
    except FileNotFoundError:
        return None
    return _digest(records, [f"{layout.METRICS_DIR}\0{histories.st_size}\0{histories.st_mtime_ns}"])


def _kept_listing(
    folder: str,
    old: Listing | None,
    trust_before: int,
    run_id: str,
    changes: dict[str, Listing | None] | None,
    at: Within | None = None,
) -> Listing | None:
    """The listing of ``folder`` to use: ``old`` while the folder's (inode, mtime) are its
    own, else a new one (recorded in ``changes``), or None if it cannot be kept."""
    try:
        st = os.lstat(folder) if at is None else at[0](at[1])
    except FileNotFoundError:
        st = None
    if old is not None and st is not None and (st.st_ino, st.st_mtime_ns) == old[:2]:
        return old
    new = listing_of(folder, trust_before)
    if changes is not None and (new is not None or old is not None):
        changes[run_id] = new
    return new


class FolderListings:
    """The run folders' listings kept between passes, in a file beside the run index's
    cache (``.folders.marshal``), signed with the same key (``marshal`` never reads bytes
    someone else wrote): a missing, damaged or foreign file only means listing again."""

    _MAGIC = b"mltrail-run-folders\n"
    _VERSION = 1

    def __init__(self, index: RunIndex) -> None:
        self._index = index
        self.path = index.path and index.path.with_name(index.path.stem + ".folders.marshal")
        self.known: dict[str, Listing] = self._read()

    def _read(self) -> dict[str, Listing]:
        data = None if self.path is False else read_capped(self.path)
        payload = None if data is None else unseal(data, self._MAGIC, self._index.sign)
        if payload is None:
            return {}
        try:
            head = marshal.loads(payload)
            return dict(head["runs"]) if head["version"] == self._VERSION else {}
        except (EOFError, ValueError, TypeError, KeyError):
            return {}

    def update(self, changes: Mapping[str, Listing | None], present: Iterable[str]) -> None:
        """Apply a pass's ``changes`` and forget runs not ``present`` any more; saved
        once they are many (``max_added``): until then, the few folders they concern
        are listed again by each pass, which costs less than writing the file."""
        known = dict(self.known)
        for run_id, listing in changes.items():
            if listing is None:
                known.pop(run_id, None)
            else:
                known[run_id] = listing
        wanted = set(present)
        gone = [run_id for run_id in known if run_id not in wanted]
        for run_id in gone:
            del known[run_id]
        self.known = known
        if self.path is False or len(changes) + len(gone) <= max_added(len(known)):
            return
        # entries the same in many folders are written once (marshal refers to an object
        # written before): the file of 100,000 runs shrinks from 11 to 6.6 MB
        shared: dict[tuple[tuple[str, ...], bytes], tuple[tuple[str, ...], bytes]] = {}
        runs = {}
        for run_id, (ino, mtime, names, kinds) in known.items():
            names, kinds = shared.setdefault((names, kinds), (names, kinds))
            runs[run_id] = (ino, mtime, names, kinds)
        payload = marshal.dumps({"version": self._VERSION, "runs": runs})
        write_quietly(self.path, seal(self._MAGIC, payload, self._index.sign))
