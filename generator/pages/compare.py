"""The compare page: runs picked on experiment pages, side by side (drawn in the browser)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import urls
from ..output.files import PageWriter
from ..theme.render import render
from .base import VENDOR_SCRIPTS, Build, Job, PageContext, PageKind, doc, make_page
from .parts import ExperimentLink, experiment_link


@dataclass(frozen=True)
class ComparePage(PageContext):
    experiments: tuple[ExperimentLink, ...] = doc("experiments, whose pages select runs")
    chart_scripts: tuple[str, ...] = doc("vega, vega-lite, vega-embed and chart specs")


def context(b: Build) -> ComparePage:
    return make_page(
        ComparePage,
        b.info,
        KIND.name,
        urls.COMPARE,
        "Compare runs",
        experiments=tuple(experiment_link(r.experiment) for r in b.site.experiments),
        chart_scripts=VENDOR_SCRIPTS,
    )


def plan(b: Build) -> Iterable[Job[None]]:
    """Cheap, so always rendered (then compared): no digest."""
    return [Job("page:compare", "", None)]


def write(b: Build, job: Job[None], writer: PageWriter) -> None:
    writer.write(urls.COMPARE, render(b.env, KIND.candidates(), context(b)))


KIND = PageKind(
    name="compare", context=ComparePage, template="compare.html", plan=plan, write=write
)
