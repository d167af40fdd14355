"""The stats that tell the run index whether a run's record changed, taken shard by shard.

A search of a big store spends most of its time here: three ``stat`` calls per run,
~3 µs each on a virtual machine, 0.9 s for 100,000 runs.  Python threads do not help
(the interpreter's lock changes hands at every call), so for a big store the caller
cuts the shards into one run per core, hands all but the first to helper processes
running this very file (``python -I -S recordstats.py``) and takes the first itself.

This module imports only the standard library, and nothing from the store it is run
on decides what it executes: it only lists folders and takes stats.
"""

from __future__ import annotations

import array
import contextlib
import functools
import logging
import os
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from stat import S_ISDIR
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import subprocess

log = logging.getLogger(__name__)

#: (inode, mtime, size) of one record file; a missing one counts as (0, 0, -1).
_ONE = "Qqq"
_MISSING = (0, 0, -1)
#: Flags of ``Stats.kinds``: a folder with its first record file, or without it.
RECORD, NO_RECORD = 1, 0


def packer(files: int) -> struct.Struct:
    """The packed layout of the stats of ``files`` record files (one fixed-size slot)."""
    return struct.Struct("<" + _ONE * files)


class Stats(NamedTuple):
    """The run folders of some shards, in listing order, with their record stats."""

    #: per shard, how many run folders it holds (the shards' order is the caller's)
    counts: list[int]
    names: list[str]
    #: per folder, RECORD or NO_RECORD (a run being made, or a damaged one)
    kinds: bytes
    #: per folder, its packed stats (zeros for NO_RECORD)
    packed: bytes


def run_shards(runs_dir: str) -> list[str]:
    """The shard folders of a store's ``runs`` folder, sorted ([] if it has none)."""
    try:
        with os.scandir(runs_dir) as entries:
            return sorted(e.path for e in entries if _is_own_folder(e))
    except FileNotFoundError:
        return []


def shard_folders(shard: str | int) -> Iterator[os.DirEntry[str]]:
    """The run folders of one shard, given by path or open descriptor (hidden entries,
    plain files and links are not runs)."""
    with os.scandir(shard) as entries:
        for e in entries:
            if _is_own_folder(e):
                yield e


def _is_own_folder(e: os.DirEntry[str]) -> bool:
    """A plain, visible folder: a hidden one is being made, and a linked one would lead
    out of the store (mltrail never links store folders)."""
    return not e.name.startswith(".") and e.is_dir(follow_symlinks=False)


def take(shards: Sequence[str], files: Sequence[str]) -> Stats:
    """The stats of ``files`` (names inside a run folder; the first one must exist for
    the folder to be a readable run) in every run folder of ``shards``."""
    pack = packer(len(files)).pack
    first, *others = ("/" + f for f in files)
    zeros = bytes(packer(len(files)).size)
    counts: list[int] = []
    names: list[str] = []
    kinds = bytearray()
    packed: list[bytes] = []
    for shard in shards:
        before = len(names)
        with _shard(shard) as (folders, stat):
            for folder in folders:
                try:
                    st = stat(folder + first)
                except FileNotFoundError:
                    if not _is_folder(stat, folder):
                        continue  # a folder removed meanwhile
                    names.append(folder)
                    kinds.append(NO_RECORD)
                    packed.append(zeros)
                    continue
                sig = [st.st_ino, st.st_mtime_ns, st.st_size]
                for name in others:
                    try:
                        st = stat(folder + name)
                    except FileNotFoundError:
                        sig += _MISSING
                    else:
                        sig += (st.st_ino, st.st_mtime_ns, st.st_size)
                names.append(folder)
                kinds.append(RECORD)
                packed.append(pack(*sig))
        counts.append(len(names) - before)
    return Stats(counts, names, bytes(kinds), b"".join(packed))


#: Stats relative to an open shard folder: the kernel then walks one or two names per
#: stat instead of the whole path (~12% fewer seconds). Not on every system (Windows).
_BY_FOLDER = os.stat in os.supports_dir_fd and os.scandir in os.supports_fd


@contextlib.contextmanager
def _shard(shard: str) -> Iterator[tuple[list[str], Callable[[str], os.stat_result]]]:
    """The run folders of a shard ([] if it was removed meanwhile) and a ``stat`` of a
    path relative to the shard (``/``-separated)."""
    if not _BY_FOLDER:
        try:
            folders = [e.name for e in shard_folders(shard)]
        except FileNotFoundError:
            folders = []
        yield folders, lambda rel: os.stat(os.path.join(shard, rel))
        return
    try:
        fd = os.open(shard, os.O_RDONLY | os.O_DIRECTORY)
    except (FileNotFoundError, NotADirectoryError):
        yield [], os.stat
        return
    try:
        folders = [e.name for e in shard_folders(fd)]
        yield folders, functools.partial(os.stat, dir_fd=fd)
    finally:
        os.close(fd)


def _is_folder(stat: Callable[[str], os.stat_result], rel: str) -> bool:
    try:
        return S_ISDIR(stat(rel).st_mode)
    except FileNotFoundError:
        return False


# ------------------------------------------------------------ as a helper process
_HEAD = struct.Struct("<QQ")  # folders, bytes of the names


def encode(stats: Stats) -> bytes:
    names = "\0".join(stats.names).encode("utf-8", "surrogateescape")
    counts = array.array("Q", stats.counts).tobytes()
    return b"".join(
        [_HEAD.pack(len(stats.names), len(names)), counts, names, stats.kinds, stats.packed]
    )


def decode(data: bytes, shards: int, files: int) -> Stats:
    """What ``encode`` wrote for ``shards`` shards; ValueError if it does not add up."""
    if len(data) < _HEAD.size:
        raise ValueError("the helper's stats are cut short")
    folders, size = _HEAD.unpack_from(data)
    at = _HEAD.size
    counts = array.array("Q")
    counts.frombytes(data[at : at + 8 * shards])
    at += 8 * shards
    text = data[at : at + size].decode("utf-8", "surrogateescape")
    names = text.split("\0") if folders else []
    at += size
    kinds, at = data[at : at + folders], at + folders
    packed = data[at:]
    if (
        len(counts) != shards
        or sum(counts) != folders
        or len(names) != folders
        or len(kinds) != folders
        or len(packed) != folders * packer(files).size
    ):
        raise ValueError("the helper's stats do not add up")
    return Stats(counts.tolist(), names, kinds, packed)


#: The most processes one listing is split between (beyond, the disk is the limit).
MOST_PROCESSES = 4
#: The calling process's share of the shards against a helper's 1: it reads the run
#: index's cache (~0.1 s at 100,000 runs) while the helpers take their stats.
OWN_SHARE = 0.9


def take_in_parallel(shards: Sequence[str], files: Sequence[str], processes: int) -> Stats:
    """What ``take`` returns, ``shards`` cut into ``processes`` runs of shards: this process
    takes the first while helper processes take the others (a helper that cannot start
    or fails costs only time: this process takes its shards too)."""
    return start(shards, files, processes)()


def start(shards: Sequence[str], files: Sequence[str], processes: int) -> Callable[[], Stats]:
    """``take_in_parallel`` begun: the helpers are started; calling the result takes this
    process's part and collects theirs (the caller may do other work in between)."""
    import subprocess

    # this process also reads the run cache meanwhile: it takes a little less
    weights = [0.0, OWN_SHARE] + [1.0] * (processes - 1)
    total = sum(weights)
    cuts, at = [], 0.0
    for w in weights:
        at += w
        cuts.append(round(len(shards) * at / total))
    parts = [shards[cuts[k] : cuts[k + 1]] for k in range(processes)]
    helpers: list[subprocess.Popen[bytes] | None] = []
    for part in parts[1:]:
        try:
            helpers.append(
                subprocess.Popen(
                    helper_command(part, files),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            )
        except OSError as e:
            log.debug("cannot start a helper to take record stats: %s", e)
            helpers.append(None)

    def finish() -> Stats:
        try:
            taken = [take(parts[0], files)]
            for part, helper in zip(parts[1:], helpers, strict=True):
                taken.append(_answer(helper, part, files))
        except BaseException:  # an unreadable shard, Ctrl-C: no helper outlives the search
            for helper in helpers:
                if helper is not None:
                    helper.kill()
                    helper.communicate()
            raise
        return Stats(
            [n for t in taken for n in t.counts],
            [name for t in taken for name in t.names],
            b"".join(t.kinds for t in taken),
            b"".join(t.packed for t in taken),
        )

    return finish


def _answer(
    helper: subprocess.Popen[bytes] | None, shards: Sequence[str], files: Sequence[str]
) -> Stats:
    """The stats a helper took of ``shards``; taken here if it could not."""
    if helper is not None:
        out, err = helper.communicate()
        try:
            if helper.returncode:
                raise ValueError(f"exit status {helper.returncode}: {err[-500:]!r}")
            return decode(out, len(shards), len(files))
        except ValueError as e:
            log.debug("a record stats helper failed (%s); taking them here", e)
    return take(shards, files)


def helper_command(shards: Sequence[str], files: Sequence[str]) -> list[str]:
    """The command of a helper process: this file, run by this interpreter isolated from
    the environment (``-I``: no ``PYTHON*`` variables, no current folder on the path)."""
    return [sys.executable, "-I", "-S", __file__, str(len(files)), *files, *shards]


def cores() -> int:
    """The cores this process may use, up to ``MOST_PROCESSES``: how many processes a
    big store's per-run work is worth sharing between."""
    found = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(found or 1, MOST_PROCESSES))


def processes() -> int:
    """How many processes a listing may be split between: ``cores()``; 1 if a helper cannot
    run this file (the program is not a Python interpreter but embeds one, or this module
    is not a plain file)."""
    program = os.path.basename(sys.executable or "").lower()
    if not (program.startswith("python") and os.path.isfile(__file__)):
        return 1
    return cores()


def main(argv: list[str]) -> int:
    """``recordstats.py N FILE... SHARD...``: the stats, encoded, on stdout."""
    files = int(argv[0])
    sys.stdout.buffer.write(encode(take(argv[1 + files :], argv[1 : 1 + files])))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
