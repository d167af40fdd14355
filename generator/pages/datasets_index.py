"""The Datasets index (``datasets/index.html``): every dataset digest the runs used, only
when there is one."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .. import urls
from ..output.files import PageWriter
from ..theme.render import render
from .base import Build, Job, PageContext, PageKind, doc, make_page
from .dataset import DatasetView, dataset_view


@dataclass(frozen=True)
class DatasetSummary:
    dataset: DatasetView = doc("the dataset, as its newest run recorded it")
    names: tuple[str, ...] = doc("every name its digest was logged under")
    run_count: int = doc("how many runs used it")
    last_run: int = doc("start time of the newest run that used it (ms)")


@dataclass(frozen=True)
class DatasetsPage(PageContext):
    datasets: tuple[DatasetSummary, ...] = doc("every dataset digest, by name")


def context(b: Build) -> DatasetsPage:
    runs = b.site.runs
    return make_page(
        DatasetsPage,
        b.info,
        KIND.name,
        urls.DATASETS,
        "Datasets",
        datasets=tuple(
            DatasetSummary(
                dataset_view(e.entry),
                e.names,
                len({u.run_id for u in e.uses}),
                runs[e.uses[0].run_id].info.start_time,
            )
            for e in b.site.datasets.entries
        ),
    )


def plan(b: Build) -> Iterable[Job[None]]:
    """Cheap, so always rendered (then compared); none without datasets."""
    return [Job("page:datasets", "", None)] if b.site.datasets.entries else []


def write(b: Build, job: Job[None], writer: PageWriter) -> None:
    writer.write(urls.DATASETS, render(b.env, KIND.candidates(), context(b)))


KIND = PageKind(
    name="datasets", context=DatasetsPage, template="datasets.html", plan=plan, write=write
)
