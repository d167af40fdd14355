"""Gather: read a store snapshot into frozen records. Nothing here renders.

Two levels keep rebuilds cheap: :func:`gather_site` reads every run from the store's
run index (records and metric summaries, no histories) and derives the aggregates;
:func:`gather_run` (in ``gather.run``) reads one run's histories, artifacts and
source record, only for a run page about to be rendered.
"""

from __future__ import annotations

import functools
import itertools
import logging
import math
import operator
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from mltrail import search
from mltrail.entities import Experiment, LifecycleStage, Run, RunStatus, ViewType
from mltrail.search_syntax import ATTRIBUTE, METRIC, PARAM, TAG
from mltrail.store import FileStore
from mltrail.store.index import RunRows
from mltrail.store.indexfile import DamagedCache

from ..config import ConfigIssue, SiteConfig
from . import folders
from .inputs import DatasetsData
from .projects import ProjectsData
from .registry import RegistryData
from .runtable import RunSequence, SiteRuns

log = logging.getLogger(__name__)

RECENT_RUNS = 10
PARENT_TAG = "mlflow.parentRunId"
_LOWER_IS_BETTER = re.compile(r"(loss|err|error|rmse|mse|mae|perplexity)$", re.IGNORECASE)


@dataclass(frozen=True)
class Best:
    run_id: str
    run_name: str
    value: float


@dataclass(frozen=True)
class Columns:
    params: tuple[str, ...]
    metrics: tuple[str, ...]
    tags: tuple[str, ...]


@dataclass(frozen=True)
class ExperimentRecord:
    experiment: Experiment
    #: Active runs, newest first (start time, then id); each built when read.
    runs: RunSequence
    primary_metric: str | None
    lower_is_better: bool
    best: Best | None
    #: The latest start or end time of its runs (ms), None without runs.
    last_activity: int | None
    columns: Columns


@dataclass(frozen=True)
class SiteData:
    experiments: tuple[ExperimentRecord, ...]
    #: Run id → run, built when read; values of all runs by column (``runtable``).
    runs: SiteRuns
    #: Parent run id → its children's ids (oldest first).
    children: Mapping[str, tuple[str, ...]]
    #: The newest runs of the site, newest first.
    recent: tuple[Run, ...]
    #: Run id → digest of the names, sizes and times of every file in its folder.
    signatures: Mapping[str, str]
    #: The runs whose folder holds an inputs record (datasets, models used).
    with_inputs: frozenset[str] = frozenset()
    #: The model registry (``gather.registry.gather_registry``), empty by default.
    registry: RegistryData = field(default_factory=RegistryData)
    #: Experiment id merged into another of its name (two clones) → the id it joined.
    experiment_aliases: Mapping[str, str] = field(default_factory=dict)
    #: The projects of the runs and the store's repository (``gather.projects``).
    projects: ProjectsData = field(default_factory=ProjectsData)
    #: The datasets the runs used (``gather.inputs.gather_datasets``).
    datasets: DatasetsData = field(default_factory=DatasetsData)

    @functools.cached_property
    def _by_id(self) -> dict[str, ExperimentRecord]:
        return {e.experiment.experiment_id: e for e in self.experiments}

    def experiment(self, experiment_id: str) -> ExperimentRecord:
        return self._by_id[experiment_id]


def user_tags(run: Run) -> dict[str, str]:
    """The run's tags without MLflow's system tags (those are shown as fields)."""
    return {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")}


def gather_site(
    store: FileStore, config: SiteConfig, meanwhile: Callable[[], object] | None = None
) -> tuple[SiteData, list[ConfigIssue]]:
    """Every active experiment and run of ``store``, and the config warnings they raise;
    ``meanwhile`` is called while helpers sign the run folders, to use the wait.

    The runs stay rows of the store's run index (``gather.runtable``): the aggregates
    come from its columns, and a run is built only when a page shows it. A part of the
    index's cache found damaged on the way (a disk error) is forgotten and read again."""
    try:
        return _gather_site(store, config, meanwhile)
    except DamagedCache as e:
        log.warning("the run index's cache is damaged (%s); reading the runs again", e)
        store.index.forget()
        return _gather_site(store, config, meanwhile)


def _gather_site(
    store: FileStore, config: SiteConfig, meanwhile: Callable[[], object] | None
) -> tuple[SiteData, list[ConfigIssue]]:
    experiments = store.experiments.list(ViewType.ACTIVE_ONLY)
    shown = {e.experiment_id for e in experiments}
    aliases = store.experiments.aliases()
    rows = store.run_rows()
    runs = _site_runs(store, rows, rows.folders(), aliases, shown)
    status = runs.getter(ATTRIBUTE, "status")
    ended = {s: RunStatus.is_terminated(s) for s in set(map(status, runs.newest))}
    # in the rows' order, which is the folders' on disk: the kernel then finds each
    # folder's entries near the last one's (signing newest first cost 10% more)
    in_place = sorted(runs.newest)
    ids = map(runs.getter(ATTRIBUTE, "run_id"), in_place)
    signed = list(zip(ids, map(ended.__getitem__, map(status, in_place)), strict=True))
    with folders.signing(store, signed, runs.folders) as pending:  # taken meanwhile
        by_experiment = _by_experiment(runs, [e.experiment_id for e in experiments])
        keys = _KeyCounts(runs, by_experiment)
        records = tuple(
            _experiment_record(e, runs, by_experiment[e.experiment_id], keys, config)
            for e in sorted(experiments, key=lambda e: (e.name.lower(), e.experiment_id))
        )
        children = _children(runs)
        recent = tuple(runs.at(row) for row in runs.newest[:RECENT_RUNS])
        if meanwhile is not None:
            meanwhile()
        signatures, with_inputs = pending.result()
    site = SiteData(
        experiments=records,
        runs=runs,
        children=children,
        recent=recent,
        signatures=signatures,
        with_inputs=frozenset(with_inputs),
        experiment_aliases={alias: head for alias, head in aliases.items() if head in shown},
    )
    return site, _config_warnings(config, records)


def _site_runs(
    store: FileStore,
    rows: RunRows,
    where: Mapping[str, str],
    aliases: Mapping[str, str],
    shown: set[str],
) -> SiteRuns:
    """The active runs of the ``shown`` experiments, newest first (start time, then id)."""
    everything = range(len(rows))
    experiment = list(map(rows.values(ATTRIBUTE, "experiment_id"), everything))
    active = map(operator.eq, map(rows.values(ATTRIBUTE, "lifecycle_stage"), everything),
                 itertools.repeat(LifecycleStage.ACTIVE))  # fmt: skip
    joined = map(shown.__contains__, map(aliases.get, experiment, experiment))
    keep = set(itertools.compress(everything, map(operator.and_, active, joined)))
    picked = search.select(rows, None, None, where=keep.__contains__)  # search's order
    return SiteRuns(rows, picked, aliases, where, store.get_run)


def _by_experiment(runs: SiteRuns, experiment_ids: list[str]) -> dict[str, list[int]]:
    """Experiment id → the rows of its runs, newest first (those of a merged experiment
    join the one they were merged into)."""
    found: dict[str, list[int]] = {exp_id: [] for exp_id in experiment_ids}
    of = list(map(runs.experiment_id, runs.newest))
    # a stable sort by experiment keeps each one's runs newest first
    by = sorted(range(len(of)), key=of.__getitem__)
    for exp_id, positions in itertools.groupby(by, key=of.__getitem__):
        found[exp_id] = list(map(runs.newest.__getitem__, positions))
    return found


class _KeyCounts:
    """Per param, metric and tag key: how many runs of each experiment have a value of it
    (counted from the index's columns; a key every run has is not counted run by run)."""

    def __init__(self, runs: SiteRuns, by_experiment: Mapping[str, list[int]]) -> None:
        self._runs = runs
        self._experiment_at: list[str | None] = [None] * len(runs.rows)
        for exp_id, rows in by_experiment.items():
            for row in rows:
                self._experiment_at[row] = exp_id
        self._all = Counter({e: len(rows) for e, rows in by_experiment.items() if rows})
        self.counts = {
            entity: {key: self._count(entity, key) for key in sorted(runs.rows.keys(entity))}
            for entity in (PARAM, METRIC, TAG)
        }

    def _count(self, entity: str, key: str) -> Counter[str]:
        rows = self._runs.rows.rows_with(entity, key)
        if isinstance(rows, range):
            return self._all
        at = self._experiment_at
        return Counter(e for row in rows if (e := at[row]) is not None)

    def of(self, entity: str, experiment_id: str) -> dict[str, int]:
        """Key → how many runs of the experiment have a value of it (those that do)."""
        return {
            key: n for key, counts in self.counts[entity].items() if (n := counts[experiment_id])
        }


def _experiment_record(
    exp: Experiment, runs: SiteRuns, rows: list[int], keys: _KeyCounts, config: SiteConfig
) -> ExperimentRecord:
    settings = config.settings_for(exp.name)
    exp_id = exp.experiment_id
    metric_counts = keys.of(METRIC, exp_id)
    metric = settings.primary_metric or _most_logged(metric_counts)
    lower = settings.lower_is_better
    if lower is None:
        lower = bool(metric and _LOWER_IS_BETTER.search(metric.rsplit("/", 1)[-1]))
    start = runs.getter(ATTRIBUTE, "start_time")
    end = runs.getter(ATTRIBUTE, "end_time")
    # over whole columns, C calls only: a loop per run was 0.2 s of a 100,000-run rebuild
    last_activity = max(
        filter(_is_set, itertools.chain(map(start, rows), map(end, rows))), default=None
    )
    return ExperimentRecord(
        experiment=exp,
        runs=RunSequence(runs, rows),
        primary_metric=metric,
        lower_is_better=lower,
        best=_best_row(runs, rows, metric, lower) if metric else None,
        last_activity=last_activity,
        columns=Columns(
            params=tuple(sorted(keys.of(PARAM, exp_id))),
            metrics=tuple(sorted(metric_counts)),
            tags=tuple(sorted(k for k in keys.of(TAG, exp_id) if not k.startswith("mlflow."))),
        ),
    )


def _most_logged(counts: Mapping[str, int]) -> str | None:
    """The metric key logged by the most runs (ties: alphabetical), None without metrics."""
    return min(counts, key=lambda k: (-counts[k], k)) if counts else None


def _best_row(runs: SiteRuns, rows: list[int], metric: str, lower_is_better: bool) -> Best | None:
    """The run of ``rows`` (newest first) with the best finite latest value of ``metric``
    (ties: the older run), read from the metric's column."""
    values = list(map(runs.getter(METRIC, metric), rows))
    finite = list(filter(math.isfinite, filter(_is_set, values)))
    if not finite:
        return None
    value = min(finite) if lower_is_better else max(finite)
    at = len(values) - 1 - values[::-1].index(value)  # the oldest run of that value
    run = runs.at(rows[at])
    return Best(run.info.run_id, run.info.run_name, values[at])


#: Whether a column's value is there (not None), as a C call.
_is_set = functools.partial(operator.is_not, None)


def _children(runs: SiteRuns) -> dict[str, tuple[str, ...]]:
    parent_of = runs.getter(TAG, PARENT_TAG)
    start = runs.getter(ATTRIBUTE, "start_time")
    run_id = runs.getter(ATTRIBUTE, "run_id")
    site_rows = set(runs.newest)
    found: dict[str, list[tuple[int, str]]] = {}
    for row in runs.rows.rows_with(TAG, PARENT_TAG):
        parent = parent_of(row)
        if row in site_rows and parent in runs:
            found.setdefault(parent, []).append((start(row), run_id(row)))
    return {  # oldest first: newest first (start time, then id), reversed
        parent: tuple(rid for _, rid in sorted(kids, key=lambda k: (-k[0], k[1]))[::-1])
        for parent, kids in sorted(found.items())
    }


def _config_warnings(
    config: SiteConfig, records: tuple[ExperimentRecord, ...]
) -> list[ConfigIssue]:
    file = str(config.source or "mltrail.yaml")
    by_name = {r.experiment.name: r for r in records}
    issues = []
    for name, settings in config.experiments:
        record = by_name.get(name)
        if record is None:
            known = ", ".join(sorted(by_name)) or "none"
            issues.append(
                ConfigIssue("warning", file, f"experiments.{name}", f"no such experiment ({known})")
            )
        elif settings.primary_metric and settings.primary_metric not in record.columns.metrics:
            issues.append(
                ConfigIssue(
                    "warning",
                    file,
                    f"experiments.{name}.primary_metric",
                    f"no run logged {settings.primary_metric!r}",
                )
            )
    return issues
