"""The files every page loads: the theme's static files (and the logo), the chart specs,
and the site-wide search index. Not pages, but planned and written as pages are."""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Iterable
from pathlib import Path

from .. import urls
from ..output import charts, datafiles, runcolumns
from ..output.files import PageWriter
from ..theme.filters import highlight_css
from .base import HIGHLIGHT_CSS, Build, Job, Part, digest, logo_path


def version(dist: str) -> str:
    """The installed version of ``dist`` ("unknown" when it is not installed)."""
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _plan_static(b: Build) -> Iterable[Job[None]]:
    return [Job("assets", "", None)]


def _write_static(b: Build, job: Job[None], writer: PageWriter) -> None:
    for rel, src in b.statics.items():
        writer.copy(f"{urls.ASSETS}/{rel}", src)
    writer.write(HIGHLIGHT_CSS, highlight_css().encode())
    logo = logo_path(b.config)
    if logo and b.config.logo:
        writer.copy(logo, b.config.logo)


def chart_specs_inputs() -> str:
    """The digest of what the chart specs are made from: the chart code and Altair."""
    source = Path(charts.__file__).read_bytes()
    return digest(hashlib.sha256(source).hexdigest(), version("altair"))


def _plan_chart_specs(b: Build) -> Iterable[Job[None]]:
    """Chart specs change only with the chart code (Altair runs only then)."""
    return [Job("assets:chart-specs", chart_specs_inputs(), None)]


def _write_chart_specs(b: Build, job: Job[None], writer: PageWriter) -> None:
    writer.write(urls.CHART_SPECS, charts.chart_specs_js().encode())


def _plan_search(b: Build) -> Iterable[Job[None]]:
    return [Job("data:search", "", None)]


def _write_search(b: Build, job: Job[None], writer: PageWriter) -> None:
    """``search.js``; the runs' entries are in the parts ``pages.experiment`` writes."""
    parts = [
        urls.experiment_search_part(record.experiment.experiment_id, chunk)
        for record in b.site.experiments
        for chunk in range(runcolumns.chunk_count(record))
    ]
    index = datafiles.search_index(b.site, parts)
    writer.write(urls.SEARCH, datafiles.data_script("searchIndex", index))


STATIC = Part(plan=_plan_static, write=_write_static)
CHART_SPECS = Part(plan=_plan_chart_specs, write=_write_chart_specs)
SEARCH = Part(plan=_plan_search, write=_write_search)
