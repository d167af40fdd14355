"""The site's runs as rows of the store's run index: a run is built only when a page
that shows it is written, and what every build needs of all runs (their order, the
aggregates of each experiment, the inputs of the pages' digests) is read from the
index's columns.

A rebuild after one new run in a store of 100,000 runs writes three pages; building
100,000 ``Run`` objects only to find the other pages unchanged was most of its time.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from mltrail.entities import Run
from mltrail.search_syntax import ATTRIBUTE
from mltrail.store.index import RunRows
from mltrail.store.indexfile import DamagedCache

log = logging.getLogger(__name__)


class SiteRuns(Mapping[str, Run]):
    """Run id → run (built on first use) of the rows ``newest`` (the site's runs, newest
    first); runs of an experiment merged into another (``aliases``) join that one.
    ``folders``: run id → its folder, as the index's scan listed them (``RunRows.folders``);
    ``read``: run id → the run read from its files (``FileStore.get_run``), for an entry
    of the index's cache found damaged when it is first built."""

    def __init__(
        self,
        rows: RunRows,
        newest: Sequence[int],
        aliases: Mapping[str, str],
        folders: Mapping[str, str],
        read: Callable[[str], Run],
    ) -> None:
        self.rows = rows
        self.folders = folders
        self._read = read
        self._aliases = aliases
        self._getters: dict[tuple[str, str], Callable[[int], Any]] = {}
        self._built: dict[int, Run] = {}
        run_id = self.getter(ATTRIBUTE, "run_id")
        #: The rows of the site's runs, newest first (start time, then id).
        self.newest = list(newest)
        # by id (a run listed twice: its last row, newest first, as a dict of runs did)
        self._row = dict(sorted(((run_id(i), i) for i in self.newest), key=lambda p: p[0]))

    def getter(self, entity: str, key: str) -> Callable[[int], Any]:
        """Row → the run's value of ``entity`` ``key`` (``RunRows.values``), made once."""
        get = self._getters.get((entity, key))
        if get is None:
            get = self._getters[(entity, key)] = self.rows.values(entity, key)
        return get

    def value(self, run_id: str, entity: str, key: str) -> Any:
        """Run ``run_id``'s value of ``entity`` ``key`` without building the run (its
        experiment id is the one it joined, for a merged experiment)."""
        if entity == ATTRIBUTE and key == "experiment_id":
            return self.experiment_id(self._row[run_id])
        return self.getter(entity, key)(self._row[run_id])

    def rows_by_id(self) -> Iterable[tuple[str, int]]:
        """(run id, row) of every run, by id."""
        return self._row.items()

    def row(self, run_id: str) -> int:
        return self._row[run_id]

    def experiment_id(self, row: int) -> str:
        """The experiment of ``row``'s run (the one it joined, for a merged experiment)."""
        found = self.getter(ATTRIBUTE, "experiment_id")(row)
        return self._aliases.get(found, found)

    def where(self, entity: str, key: str, value: Any) -> list[str]:
        """The ids of the runs whose ``entity`` ``key`` is ``value``, by id."""
        get = self.getter(entity, key)
        return [run_id for run_id, row in self._row.items() if get(row) == value]

    def newest_ids(self) -> list[str]:
        """Every run id once, newest run first."""
        run_id = self.getter(ATTRIBUTE, "run_id")
        return list(dict.fromkeys(map(run_id, self.newest)))

    def at(self, row: int) -> Run:
        """The run of ``row``."""
        run = self._built.get(row)
        if run is None:
            try:
                run = self._joined(self.rows.run(row))
            except DamagedCache as e:  # a disk error since the scan: its files are right
                run_id = self.getter(ATTRIBUTE, "run_id")(row)
                log.warning("the run index's entry of run %s is damaged (%s)", run_id, e)
                run = self._read(run_id)
            self._built[row] = run
        return run

    def _joined(self, run: Run) -> Run:
        joined = self._aliases.get(run.info.experiment_id)
        if joined is None:
            return run
        return dataclasses.replace(run, info=dataclasses.replace(run.info, experiment_id=joined))

    def __getitem__(self, run_id: str) -> Run:
        return self.at(self._row[run_id])

    def __contains__(self, run_id: object) -> bool:
        return run_id in self._row

    def __iter__(self) -> Iterator[str]:
        return iter(self._row)

    def __len__(self) -> int:
        return len(self._row)


class RunSequence(Sequence[Run]):
    """Some of the site's runs, in the order of ``rows``; each built when read."""

    def __init__(self, runs: SiteRuns, rows: Sequence[int]) -> None:
        self._runs = runs
        self.rows = rows

    @overload
    def __getitem__(self, i: int) -> Run: ...

    @overload
    def __getitem__(self, i: slice) -> RunSequence: ...

    def __getitem__(self, i: int | slice) -> Run | RunSequence:
        if isinstance(i, slice):
            return RunSequence(self._runs, self.rows[i])
        return self._runs.at(self.rows[i])

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def ids(self) -> list[str]:
        """The runs' ids, without building them."""
        run_id = self._runs.getter(ATTRIBUTE, "run_id")
        return [run_id(i) for i in self.rows]
