"""The size limit of the local cache of fetched remote blobs (least recently used go first).

Every blob read from a remote artifact store is kept in a content-addressed folder
(``blobs.cache_folder``) so it is downloaded once. Without a limit that folder would
grow with every model ever loaded, so after each download the cache is held under
``MLTRAIL_ARTIFACT_CACHE_MAX_BYTES`` (default 20 GiB; ``0``: no limit) by removing the
blobs used longest ago. A blob's modification time marks its last use (a hit touches
it), and a blob used within the last ten minutes is never removed: another process may
be reading it. Removing a cached blob loses nothing: it is fetched again when needed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

from mltrail.errors import StoreError

log = logging.getLogger(__name__)

ENV_MAX_BYTES = "MLTRAIL_ARTIFACT_CACHE_MAX_BYTES"
DEFAULT_MAX_BYTES = 20 << 30
#: Seconds during which a used blob is kept whatever the limit.
GRACE_SECONDS = 600.0
#: Pruning goes below the limit by this share, so the next download does not prune again.
_HEADROOM = 0.9


def max_bytes() -> int | None:
    """The cache's limit in bytes (None: no limit), from the environment."""
    text = os.environ.get(ENV_MAX_BYTES, "").strip()
    if not text:
        return DEFAULT_MAX_BYTES
    try:
        limit = int(text)
    except ValueError:
        limit = -1
    if limit < 0:
        raise StoreError(
            f"{ENV_MAX_BYTES}={text!r} is not a number of bytes; set it to a whole number "
            "such as 10737418240 (10 GiB), or 0 for no limit."
        )
    return limit or None


def mark_used(blob: Path) -> None:
    """Record that ``blob`` was just used (a read-only shared cache is left as it is)."""
    with contextlib.suppress(OSError):
        os.utime(blob)


def prune(cache: Path, limit: int | None, *, now: float | None = None) -> int:
    """Remove the least recently used blobs of ``cache`` while it holds more than
    ``limit`` bytes; the number of bytes freed."""
    if limit is None:
        return 0
    blobs = list(_cached_blobs(cache))
    total = sum(size for _, size, _ in blobs)
    if total <= limit:
        return 0
    keep_after = (time.time() if now is None else now) - GRACE_SECONDS
    freed = 0
    for used, size, path in sorted(blobs):
        if total - freed <= limit * _HEADROOM or used >= keep_after:
            break
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass  # another process pruned it meanwhile
        except OSError as e:
            log.debug("cannot remove cached blob %s: %s", path, e)
            continue
        freed += size
    if freed:
        log.info("artifact cache %s: removed %d bytes of least recently used blobs", cache, freed)
    return freed


def _cached_blobs(cache: Path) -> list[tuple[float, int, str]]:
    """(last use, size, path) of each blob file under ``cache/sha256/<xx>/``."""
    found: list[tuple[float, int, str]] = []
    try:
        shards = [e.path for e in os.scandir(cache / "sha256") if e.is_dir(follow_symlinks=False)]
    except OSError:
        return found
    for shard in shards:
        try:
            entries = list(os.scandir(shard))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                continue  # a download in progress (".mltrail-*.tmp") or a stray link
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            found.append((st.st_mtime, st.st_size, entry.path))
    return found
