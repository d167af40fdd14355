"""The experiment page: its runs in a table and charts (drawn in the browser from
``runs.js``), and the redirect pages of experiment ids merged into another."""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup

from .. import urls
from ..gather.site import ExperimentRecord, SiteData
from ..output import datafiles, runcolumns
from ..output.files import PageWriter
from ..theme.markdown import render_markdown
from ..theme.render import render
from .base import VENDOR_SCRIPTS, Build, Job, PageContext, PageKind, Part, digest, doc, make_page
from .parts import (
    ExperimentLink,
    ExperimentSummary,
    RunRow,
    experiment_link,
    experiment_summary,
    run_row,
)

#: Runs in the table shown without JavaScript (the script shows all).
NOSCRIPT_RUNS = 100


@dataclass(frozen=True)
class ExperimentView:
    link: ExperimentLink = doc("id, name and page")
    description_html: Markup = doc("description, Markdown rendered and sanitized")
    tags: tuple[tuple[str, str], ...] = doc("experiment tags as (key, value), sorted")
    summary: ExperimentSummary = doc("run count, last activity, primary metric, best run")


@dataclass(frozen=True)
class ExperimentPage(PageContext):
    experiment: ExperimentView = doc("the experiment")
    runs: tuple[RunRow, ...] = doc("the newest runs (at most 100) for the noscript table")
    data_script: str = doc("runs.js: the newest runs and where the columns of all are")
    chart_scripts: tuple[str, ...] = doc("vega, vega-lite, vega-embed and chart specs")


def context(b: Build, record: ExperimentRecord) -> ExperimentPage:
    exp = record.experiment
    view = ExperimentView(
        link=experiment_link(exp),
        description_html=render_markdown(exp.description),
        tags=tuple(sorted((k, v) for k, v in exp.tags.items() if not k.endswith(".note.content"))),
        summary=experiment_summary(record, b.site),
    )
    return make_page(
        ExperimentPage,
        b.info,
        KIND.name,
        urls.experiment_page(exp.experiment_id),
        exp.name,
        experiment=view,
        runs=tuple(run_row(r, record) for r in record.runs[:NOSCRIPT_RUNS]),
        data_script=urls.href(urls.experiment_data(exp.experiment_id)),
        chart_scripts=VENDOR_SCRIPTS,
    )


def inputs_digest(b: Build, record: ExperimentRecord) -> str:
    """The experiment's record and settings, and the digest of each chunk of its runs."""
    exp = record.experiment
    return digest(
        b.digest,
        [exp.experiment_id, exp.name, exp.description, sorted(exp.tags.items())],
        [record.primary_metric, record.lower_is_better],
        chunk_digests(b, record),
    )


def chunk_digests(b: Build, record: ExperimentRecord) -> tuple[str, ...]:
    """Per chunk of the experiment's runs (``runcolumns``), the digest of their signatures."""
    return b.chunk_digests[record.experiment.experiment_id]


def all_chunk_digests(site: SiteData) -> dict[str, tuple[str, ...]]:
    """Experiment id → :func:`chunk_digests` (made once per build: the page and its
    chunks both need them, and at 100,000 runs they cost a digest of every signature)."""
    return {
        record.experiment.experiment_id: tuple(
            runcolumns.chunk_digest(runcolumns.chunk_runs(record, chunk).ids, site.signatures)
            for chunk in range(runcolumns.chunk_count(record))
        )
        for record in site.experiments
    }


def plan(b: Build) -> Iterable[Job[ExperimentRecord]]:
    for record in b.site.experiments:
        key = f"page:experiment:{record.experiment.experiment_id}"
        yield Job(key, inputs_digest(b, record), record)


def write(b: Build, job: Job[ExperimentRecord], writer: PageWriter) -> None:
    record = job.subject
    exp = record.experiment
    slug = exp.name if _safe_slug(exp.name) else exp.experiment_id
    writer.write(
        urls.experiment_page(exp.experiment_id),
        render(b.env, KIND.candidates(slug), context(b, record)),
    )
    head = runcolumns.head_payload(record, datafiles.experiment_header(record))
    writer.write(
        urls.experiment_data(exp.experiment_id), datafiles.data_script("experimentData", head)
    )


def _safe_slug(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "-_." for c in name) and ".." not in name


KIND = PageKind(
    name="experiment", context=ExperimentPage, template="experiment.html", plan=plan, write=write
)


def _plan_aliases(b: Build) -> Iterable[Job[tuple[str, str]]]:
    for alias, head in b.site.experiment_aliases.items():
        yield Job(f"page:experiment-alias:{alias}", "", (alias, head))


def _write_alias(b: Build, job: Job[tuple[str, str]], writer: PageWriter) -> None:
    """The page of an experiment id merged into another sends its visitors there."""
    alias, head = job.subject
    writer.write(urls.experiment_page(alias), redirect_html(urls.experiment_page(head)))


def redirect_html(target: str) -> bytes:
    """A page that sends its visitor to the site file ``target`` (kept links keep working)."""
    link = html.escape(urls.href(target, "../../"), quote=True)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url={link}">'
        f'<link rel="canonical" href="{link}"><title>Moved</title></head>\n'
        f'<body><p>This experiment is now <a href="{link}">here</a>.</p></body></html>\n'
    ).encode()


#: Redirects from the ids of experiments merged into another of their name.
ALIASES = Part(plan=_plan_aliases, write=_write_alias)


def _plan_chunks(b: Build) -> Iterable[Job[tuple[ExperimentRecord, int]]]:
    """One job per chunk of each experiment's runs: a new run changes only the last one."""
    for record in b.site.experiments:
        exp = record.experiment
        fields = runcolumns.fields(record) if runcolumns.has_parts(record) else []
        for chunk, runs_digest in enumerate(chunk_digests(b, record)):
            key = f"data:experiment:{exp.experiment_id}:{chunk}"
            yield Job(key, digest(b.digest, exp.name, fields, runs_digest), (record, chunk))


def _write_chunk(b: Build, job: Job[tuple[ExperimentRecord, int]], writer: PageWriter) -> None:
    """A chunk's search entries and, beyond ``HEAD_RUNS`` runs, its column parts."""
    record, chunk = job.subject
    exp = record.experiment
    part = datafiles.run_search_part(exp.name, runcolumns.chunk_runs(record, chunk))
    writer.write(
        urls.experiment_search_part(exp.experiment_id, chunk),
        datafiles.data_script("searchPart", part),
    )
    if not runcolumns.has_parts(record):
        return
    for field, part in runcolumns.chunk_parts(record, chunk):
        writer.write(
            urls.experiment_part(exp.experiment_id, chunk, field),
            datafiles.data_script("experimentColumns", part),
        )


#: The data files of each chunk of an experiment's runs (column parts, search entries).
CHUNKS = Part(plan=_plan_chunks, write=_write_chunk)
