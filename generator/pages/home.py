"""The home page (``index.html``): every experiment, the newest runs, the models."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import urls
from ..output.files import PageWriter
from ..theme.render import render
from .base import Build, Job, PageContext, PageKind, doc, make_page
from .modelparts import ModelSummary, model_summaries
from .parts import ExperimentSummary, RunRow, experiment_summary, run_row


@dataclass(frozen=True)
class HomePage(PageContext):
    experiments: tuple[ExperimentSummary, ...] = doc("every experiment, by name")
    recent_runs: tuple[RunRow, ...] = doc("the 10 newest runs of the site")
    run_count: int = doc("active runs in the site")
    search_script: str = doc("the site-wide search index (search.js)")
    models: tuple[ModelSummary, ...] = doc("registered models by name (empty: no section)")


def context(b: Build) -> HomePage:
    site = b.site
    records = {r.experiment.experiment_id: r for r in site.experiments}
    return make_page(
        HomePage,
        b.info,
        KIND.name,
        urls.INDEX,
        "Experiments",
        experiments=tuple(experiment_summary(r, site) for r in site.experiments),
        recent_runs=tuple(run_row(r, records[r.info.experiment_id]) for r in site.recent),
        run_count=len(site.runs),
        search_script=urls.href(urls.SEARCH),
        models=model_summaries(site.registry),
    )


def plan(b: Build) -> Iterable[Job[None]]:
    """Cheap, so always rendered (then compared): no digest."""
    return [Job("page:index", "", None)]


def write(b: Build, job: Job[None], writer: PageWriter) -> None:
    writer.write(urls.INDEX, render(b.env, KIND.candidates(), context(b)))


KIND = PageKind(name="home", context=HomePage, template="index.html", plan=plan, write=write)
