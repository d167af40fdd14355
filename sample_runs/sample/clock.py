"""Determinism: the stand-ins for everything the libraries take from the outside world.

``deterministic(clock)`` swaps them in for the duration of the generation only; nothing
in mltrail changes.  Each stand-in replaces one source of time or randomness:

* ``time.time`` (run, experiment, registry and deletion times; zip entry times): the
  simulated clock;
* ``secrets`` as mltrail's store layout and run-name generator use it (run, experiment
  and registry version ids; run names): a seeded ``random.Random``;
* ``uuid`` and ``datetime`` as the MLmodel file uses them (``model_uuid``,
  ``utc_time_created``): a seeded UUID4 source and the simulated clock;
* ``time.localtime`` as ``zipfile`` uses it (the entry times of a skops file): UTC, so
  the machine's time zone does not show;
* skops' object ids (``id()``, a memory address, names the arrays inside a skops file
  and tags every object of its schema): numbered in the order skops meets the objects,
  which keeps "same object, same id" and is all the loader relies on;
* the run's source record (script, host, platform, Python, git commit): a fixed one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import time
import types
import uuid
import zipfile
from collections.abc import Iterator
from typing import Any
from unittest import mock

from mltrail.models import mlmodel, requirements
from mltrail.store import layout
from mltrail.tracking import context, names

from sample.common import SEED, SOURCE


class SimulatedClock:
    """Stands in for ``time.time``: a time that moves only when ``advance`` is called."""

    def __init__(self, start_ms: int) -> None:
        self.ms = start_ms

    def time(self) -> float:
        return self.ms / 1000

    def advance(self, seconds: float) -> int:
        self.ms += round(seconds * 1000)
        return self.ms

    def at(self, ms: int) -> None:
        if ms < self.ms:
            raise ValueError("the simulated clock cannot go back")
        self.ms = ms


class SeededSecrets:
    """Stands in for the ``secrets`` module where mltrail draws ids and run names."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def randbelow(self, n: int) -> int:
        return self._rng.randrange(n)


class SeededUuid:
    """Stands in for the ``uuid`` module where a library draws random UUIDs."""

    UUID = uuid.UUID

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def uuid4(self) -> uuid.UUID:
        return uuid.UUID(bytes=self._rng.randbytes(16), version=4)


def clock_datetime(clock: SimulatedClock) -> types.SimpleNamespace:
    """Stands in for the ``datetime`` module: ``datetime.now()`` reads the clock."""

    class ClockDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> ClockDatetime:  # type: ignore[override]
            return cls.fromtimestamp(clock.time(), tz)

    return types.SimpleNamespace(datetime=ClockDatetime, UTC=dt.UTC, timezone=dt.timezone)


def numbered_memoize(self: Any, obj: Any) -> int:
    """skops' ``SaveContext.memoize`` with ids numbered in order instead of ``id(obj)``.

    Like the original, it keeps ``obj`` alive in the memo for the whole save, so one
    object always gets one number and two objects never share one.
    """
    entry = self.memo.get(id(obj))
    if entry is None:
        entry = self.memo[id(obj)] = (len(self.memo) + 1, obj)
    return int(entry[0])


def _skops_patches(seed: int) -> list[Any]:
    try:
        import skops.io._general as skops_general
        import skops.io._utils as skops_utils
    except ImportError:  # no skops: the models are not in skops format anyway
        return []
    return [
        mock.patch.object(skops_utils.SaveContext, "memoize", numbered_memoize),
        mock.patch.object(skops_general, "uuid", SeededUuid(seed)),
    ]


BUILD_TOOLS = {"pip": "26.3", "setuptools": "65.5.0"}


def _fixed_build_tools(version: Any) -> Any:
    """``requirements._version`` with the build tools' versions fixed (``BUILD_TOOLS``)."""
    return lambda name: BUILD_TOOLS.get(name) or version(name)


@contextlib.contextmanager
def deterministic(clock: SimulatedClock) -> Iterator[None]:
    """Fix the clock, the randomness and the source record (see the module docstring)."""
    seeded = SeededSecrets(SEED)
    zip_time = types.SimpleNamespace(time=clock.time, localtime=time.gmtime)
    patches = [
        mock.patch("time.time", clock.time),
        mock.patch.object(layout, "secrets", seeded),
        mock.patch.object(names, "secrets", seeded),
        mock.patch.object(context, "source_record", lambda store_path: (dict(SOURCE), "")),
        # Separate seeds: a model logged or not leaves the run ids as they are.
        mock.patch.object(mlmodel, "uuid", SeededUuid(SEED + 1)),
        mock.patch.object(mlmodel, "dt", clock_datetime(clock)),
        mock.patch.object(zipfile, "time", zip_time),
        *_skops_patches(SEED + 2),
        # python_env.yaml and conda.yaml name the build tools; a fresh venv's pip is
        # older than a developer's, and the sample must not depend on which one ran.
        mock.patch.object(requirements, "_version", _fixed_build_tools(requirements._version)),
    ]
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        yield
