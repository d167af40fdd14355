"""Records several pages show (links, run rows, experiment summaries) and their builders."""

from __future__ import annotations

from dataclasses import dataclass

from mltrail.entities import Experiment, Run

from .. import urls
from ..gather.projects import ProjectEntry
from ..gather.site import ExperimentRecord, SiteData
from .base import doc


@dataclass(frozen=True)
class ExperimentLink:
    id: str = doc("experiment id")
    name: str = doc("experiment name")
    url: str = doc("its page")


@dataclass(frozen=True)
class RunLink:
    id: str = doc("run id")
    name: str = doc("run name")
    url: str = doc("its page")
    status: str = doc("RUNNING, SCHEDULED, FINISHED, FAILED or KILLED")


@dataclass(frozen=True)
class ProjectLink:
    title: str = doc("the project's name: its repository's or folder's, then its sub-folder")
    url: str = doc("its page")


@dataclass(frozen=True)
class ExperimentSummary:
    link: ExperimentLink = doc("id, name and page of the experiment")
    run_count: int = doc("number of active runs")
    last_activity: int | None = doc("latest run start or end (ms), None without runs")
    primary_metric: str | None = doc("the metric that ranks runs, None without metrics")
    lower_is_better: bool = doc("whether a lower primary metric is better")
    best_value: float | None = doc("best latest value of the primary metric, or None")
    best_run: RunLink | None = doc("the run with that value, or None")


@dataclass(frozen=True)
class RunRow:
    link: RunLink = doc("id, name, page and status of the run")
    experiment: ExperimentLink = doc("its experiment")
    start: int = doc("start time (ms)")
    end: int | None = doc("end time (ms), None while running")
    duration: int | None = doc("end - start (ms), None while running")
    user: str = doc("who ran it")
    primary_value: float | None = doc("latest value of the experiment's primary metric")


def experiment_link(exp: Experiment) -> ExperimentLink:
    return ExperimentLink(
        exp.experiment_id, exp.name, urls.href(urls.experiment_page(exp.experiment_id))
    )


def run_link(run: Run) -> RunLink:
    info = run.info
    return RunLink(
        info.run_id,
        info.run_name or info.run_id,
        urls.href(urls.run_page(info.run_id)),
        info.status,
    )


def project_link(entry: ProjectEntry) -> ProjectLink:
    return ProjectLink(entry.title, urls.href(urls.project_page(entry.slug)))


def run_row(run: Run, record: ExperimentRecord) -> RunRow:
    info = run.info
    metric = record.primary_metric
    return RunRow(
        link=run_link(run),
        experiment=experiment_link(record.experiment),
        start=info.start_time,
        end=info.end_time,
        duration=None if info.end_time is None else info.end_time - info.start_time,
        user=info.user_id,
        primary_value=run.data.metrics.get(metric) if metric else None,
    )


def experiment_summary(record: ExperimentRecord, site: SiteData) -> ExperimentSummary:
    best = record.best
    return ExperimentSummary(
        link=experiment_link(record.experiment),
        run_count=len(record.runs),
        last_activity=record.last_activity,
        primary_metric=record.primary_metric,
        lower_is_better=record.lower_is_better,
        best_value=best.value if best else None,
        best_run=run_link(site.runs[best.run_id]) if best else None,
    )
