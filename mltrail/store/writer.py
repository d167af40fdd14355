"""The write path of one run: what ``log_*`` calls turn into on disk.

Every call that returns has handed its bytes to the OS (``os.write`` or a rename):
a crash of the process after it cannot lose it.  Nothing is buffered in memory.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mltrail import validation
from mltrail.errors import InvalidParameterValue
from mltrail.store import formats, layout, locks

# Read access too: reopening a history first repairs a tail cut short by a crash.
_O_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class RunWriter:
    """Appends metrics and updates params/tags of one run directory.

    Params and tags are small records rewritten whole; every change re-reads the file
    under ``locks.hold_record``, so writers in other threads and processes (distributed
    training logging into one run) never lose each other's keys.
    """

    def __init__(self, root: Path, run_path: Path, run_id: str) -> None:
        """``root``: the store root, whose ``.cache/locks`` serialize record rewrites."""
        self.root = root
        self.run_path = run_path
        self.run_id = run_id
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()

    # -- metrics: the hot path ------------------------------------------------------
    def log_metric(self, key: str, value: Any, step: Any = None, timestamp: Any = None) -> None:
        if value.__class__ is not float:
            value = validation.metric_value(key, value)
        if step is None:
            step = 0
        elif step.__class__ is not int:
            step = validation.metric_step(key, step)
        if timestamp is None:
            timestamp = int(time.time() * 1000)
        elif timestamp.__class__ is not int:
            timestamp = validation.metric_timestamp(key, timestamp)
        fd = self._fds.get(key)
        if fd is None:
            fd = self._open_metric(key)
        os.write(fd, f"{timestamp}\t{value!r}\t{step}\n".encode())

    def _open_metric(self, key: str) -> int:
        validation.validate_key("metric", key)
        with self._lock:
            fd = self._fds.get(key)
            if fd is not None:
                return fd
            path = layout.metric_path(self.run_path, key)
            try:
                fd = os.open(path, _O_FLAGS, 0o644)
            except FileNotFoundError:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, _O_FLAGS, 0o644)
            formats.repair_tail(fd)
            self._fds[key] = fd
            return fd

    # -- params and tags: small records, changed under a lock ---------------------------
    def log_params(self, params: dict[str, Any]) -> None:
        checked = {}
        for key, value in params.items():
            validation.validate_key("param", key)
            checked[key] = validation.validate_param_value(key, value)
        with self._record(layout.PARAMS_FILE) as (stored, write):
            for key, text in checked.items():
                old = stored.get(key)
                if old is not None and str(old) != text:
                    raise InvalidParameterValue(
                        f"Param {key!r} of run {self.run_id} is already {old!r}; it cannot "
                        f"change to {text!r} (params are immutable; log it under another key "
                        "or start a new run)."
                    )
            if any(stored.get(k) != v for k, v in checked.items()):
                write({**stored, **checked})

    def set_tags(self, tags: dict[str, str]) -> None:
        with self._record(layout.TAGS_FILE) as (stored, write):
            if any(stored.get(k) != v for k, v in tags.items()):
                write({**stored, **tags})

    def delete_tag(self, key: str) -> bool:
        with self._record(layout.TAGS_FILE) as (stored, write):
            if key not in stored:
                return False
            write({k: v for k, v in stored.items() if k != key})
            return True

    @contextlib.contextmanager
    def _record(
        self, name: str
    ) -> Iterator[tuple[dict[str, Any], Callable[[dict[str, Any]], None]]]:
        """The record ``name`` as it is on disk now, and a function that replaces it."""
        path = self.run_path / name
        with locks.hold_record(self.root, path):
            yield formats.read_mapping(path), lambda data: formats.write_yaml(path, data)

    def open_histories(self) -> dict[str, int]:
        """Metric key -> the descriptor its history is open on (valid until ``close``)."""
        with self._lock:
            return dict(self._fds)

    def close(self) -> None:
        with self._lock:
            fds, self._fds = self._fds, {}
        for fd in fds.values():
            os.close(fd)
