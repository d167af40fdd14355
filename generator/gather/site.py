"""Gather: read a store snapshot into frozen records. Nothing here renders.

Two levels keep rebuilds cheap: :func:`gather_site` reads every run from the store's
run index (records and metric summaries, no histories) and derives the aggregates;
:func:`gather_run` (in ``gather.run``) reads one run's histories, artifacts and
source record, only for a run page about to be rendered.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mltrail.entities import Experiment, LifecycleStage, Run, ViewType
from mltrail.store import FileStore

from ..config import ConfigIssue, SiteConfig
from .inputs import DatasetsData
from .projects import ProjectsData
from .registry import RegistryData

RECENT_RUNS = 10
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
    #: Active runs, newest first (start time, then id).
    runs: tuple[Run, ...]
    primary_metric: str | None
    lower_is_better: bool
    best: Best | None
    #: The latest start or end time of its runs (ms), None without runs.
    last_activity: int | None
    columns: Columns


@dataclass(frozen=True)
class SiteData:
    experiments: tuple[ExperimentRecord, ...]
    runs: Mapping[str, Run]
    #: Parent run id → its children's ids (oldest first).
    children: Mapping[str, tuple[str, ...]]
    #: The newest runs of the site, newest first.
    recent: tuple[Run, ...]
    #: Run id → digest of the names, sizes and times of every file in its folder.
    signatures: Mapping[str, str]
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


def newest_first(runs: Sequence[Run]) -> tuple[Run, ...]:
    return tuple(sorted(runs, key=lambda r: (-r.info.start_time, r.info.run_id)))


def gather_site(store: FileStore, config: SiteConfig) -> tuple[SiteData, list[ConfigIssue]]:
    """Every active experiment and run of ``store``, and the config warnings they raise."""
    experiments = store.experiments.list(ViewType.ACTIVE_ONLY)
    shown = {e.experiment_id for e in experiments}
    runs = newest_first(
        [
            r
            for r in store.all_runs()
            if r.info.lifecycle_stage == LifecycleStage.ACTIVE and r.info.experiment_id in shown
        ]
    )
    by_experiment: dict[str, list[Run]] = {e.experiment_id: [] for e in experiments}
    for run in runs:  # newest first within each experiment too (the sort is stable)
        by_experiment[run.info.experiment_id].append(run)
    records = tuple(
        _experiment_record(e, by_experiment[e.experiment_id], config)
        for e in sorted(experiments, key=lambda e: (e.name.lower(), e.experiment_id))
    )
    site = SiteData(
        experiments=records,
        runs={r.info.run_id: r for r in sorted(runs, key=lambda r: r.info.run_id)},
        children=_children(runs),
        recent=runs[:RECENT_RUNS],
        signatures=store.run_signatures(runs),
        experiment_aliases={
            alias: head for alias, head in store.experiments.aliases().items() if head in shown
        },
    )
    return site, _config_warnings(config, records)


def _experiment_record(exp: Experiment, runs: list[Run], config: SiteConfig) -> ExperimentRecord:
    settings = config.settings_for(exp.name)
    ordered = tuple(runs)  # gather_site passes them newest first
    metric = settings.primary_metric or default_primary_metric(ordered)
    lower = settings.lower_is_better
    if lower is None:
        lower = bool(metric and _LOWER_IS_BETTER.search(metric.rsplit("/", 1)[-1]))
    times = [t for r in ordered for t in (r.info.start_time, r.info.end_time) if t is not None]
    return ExperimentRecord(
        experiment=exp,
        runs=ordered,
        primary_metric=metric,
        lower_is_better=lower,
        best=best_run(ordered, metric, lower) if metric else None,
        last_activity=max(times) if times else None,
        columns=Columns(
            params=tuple(sorted({k for r in ordered for k in r.data.params})),
            metrics=tuple(sorted({k for r in ordered for k in r.data.metrics})),
            tags=tuple(sorted({k for r in ordered for k in user_tags(r)})),
        ),
    )


def default_primary_metric(runs: tuple[Run, ...]) -> str | None:
    """The metric key logged by the most runs (ties: alphabetical), None without metrics."""
    counts = Counter(k for r in runs for k in r.data.metrics)
    if not counts:
        return None
    return min(counts, key=lambda k: (-counts[k], k))


def best_run(runs: tuple[Run, ...], metric: str, lower_is_better: bool) -> Best | None:
    """The run with the best finite latest value of ``metric`` (ties: the older run)."""
    best: Best | None = None
    for run in reversed(runs):  # oldest first, so the older run wins a tie
        value = run.data.metrics.get(metric)
        if value is None or not math.isfinite(value):
            continue
        better = best is None or (value < best.value if lower_is_better else value > best.value)
        if better:
            best = Best(run.info.run_id, run.info.run_name, value)
    return best


def _children(runs: Sequence[Run]) -> dict[str, tuple[str, ...]]:
    ids = {r.info.run_id for r in runs}
    found: dict[str, list[Run]] = {}
    for run in runs:
        parent = run.data.tags.get("mlflow.parentRunId")
        if parent in ids:
            found.setdefault(parent, []).append(run)
    return {
        parent: tuple(r.info.run_id for r in reversed(newest_first(kids)))
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
