"""Serialize read-modify-write of store records across threads and processes.

A record such as ``params.yaml`` is replaced whole, so two writers that each read it,
change it and write it back lose one change unless the three steps run one writer at
a time.  ``hold(root, key)`` is that critical section: a lock shared by every thread
(a re-entrant thread lock) and every process on this machine (``flock`` on a file in
the store's git-ignored ``.cache/locks/``).

Keys hash onto a fixed number of lock files, so the folder never grows with the store;
two records that share a file only wait for each other a little longer.  A thread may
hold several keys, and the same one again (re-entrant).  Clones on other machines are
reconciled at merge time instead (see docs/FORMAT.md, "Concurrent writers").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from mltrail.store import layout

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: threads are serialized, processes are not
    fcntl = None  # type: ignore[assignment]

#: How many lock files a store has at most (``.cache/locks/00.lock`` ... ``3f.lock``).
STRIPES = 64
LOCKS_DIR = "locks"
_OPEN_FLAGS = os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class _Stripe:
    """One lock file of one store: a thread lock, and the flock while any thread holds it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.thread_lock = threading.RLock()
        self.depth = 0  # guarded by thread_lock
        self.fd: int | None = None

    def acquire(self) -> None:
        self.thread_lock.acquire()
        try:
            if self.depth == 0 and fcntl is not None:
                self.fd = _open_lock_file(self.path)
                fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.depth += 1
        except BaseException:
            self._close()
            self.thread_lock.release()
            raise

    def release(self) -> None:
        self.depth -= 1
        if self.depth == 0:
            self._close()  # closing the descriptor drops the flock
        self.thread_lock.release()

    def _close(self) -> None:
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


_stripes: dict[str, _Stripe] = {}
_stripes_lock = threading.Lock()


def _reset_after_fork() -> None:
    """A forked child starts with no lock held, whatever its parent's threads held."""
    global _stripes_lock
    _stripes.clear()
    _stripes_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def _open_lock_file(path: str) -> int:
    try:
        return os.open(path, _OPEN_FLAGS, 0o644)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        return os.open(path, _OPEN_FLAGS, 0o644)


def _stripe(root: Path, key: str) -> _Stripe:
    number = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=2).digest()
    name = f"{int.from_bytes(number, 'big') % STRIPES:02x}.lock"
    path = os.path.join(os.fspath(root), layout.CACHE_DIR, LOCKS_DIR, name)
    stripe = _stripes.get(path)
    if stripe is None:
        with _stripes_lock:
            stripe = _stripes.setdefault(path, _Stripe(path))
    return stripe


@contextlib.contextmanager
def hold(root: Path, key: str) -> Iterator[None]:
    """Run the ``with`` body while no other thread or process holds ``key`` in ``root``.

    Args:
        root: the store root (the lock files live in its ``.cache/locks/``).
        key: what is being changed, e.g. a record's path relative to the root.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> with hold(root, "runs/ab/x/params.yaml"):
        ...     with hold(root, "runs/ab/x/params.yaml"):  # re-entrant
        ...         pass
    """
    stripe = _stripe(root, key)
    stripe.acquire()
    try:
        yield
    finally:
        stripe.release()


def hold_record(root: Path, record: Path) -> contextlib.AbstractContextManager[None]:
    """``hold`` keyed by a record file's path inside the store."""
    try:
        key = record.relative_to(root).as_posix()
    except ValueError:
        key = os.fspath(record)
    return hold(root, key)
