"""Build each page's typed context (``generator.contexts``) from the gathered records."""

from __future__ import annotations

import html
from typing import Any, TypeVar

from mltrail.entities import Experiment, Run

from . import urls
from .config import SiteConfig
from .contexts import (
    ArtifactView,
    ComparePage,
    ExperimentLink,
    ExperimentPage,
    ExperimentSummary,
    ExperimentView,
    HomePage,
    MetricRow,
    NavItem,
    NotFoundPage,
    PageContext,
    RunLink,
    RunPage,
    RunRow,
    RunView,
    SiteInfo,
    SourceView,
)
from .filters import commit_url, highlight
from .gather import ExperimentRecord, SiteData, user_tags
from .markdown import render_markdown
from .modelviews import model_summaries, run_logged_models, run_versions
from .rundetail import ArtifactNode, RunDetail

P = TypeVar("P", bound=PageContext)
NOSCRIPT_RUNS = 100
HIGHLIGHT_CSS = "assets/highlight.css"
LOGO = "assets/logo"
VENDOR_SCRIPTS = (
    "assets/vendor/vega.min.js",
    "assets/vendor/vega-lite.min.js",
    "assets/vendor/vega-embed.min.js",
    urls.CHART_SPECS,
)


def site_info(
    config: SiteConfig,
    stylesheets: tuple[str, ...],
    scripts: tuple[str, ...],
    has_models: bool = False,
) -> SiteInfo:
    nav = tuple(
        NavItem(n.title, n.url, external=n.url.startswith(("http://", "https://")))
        for n in config.nav
    )
    return SiteInfo(
        title=config.title,
        description=config.description,
        logo=logo_path(config),
        base_url=config.base_url,
        nav=nav,
        stylesheets=tuple(urls.href(f"{urls.ASSETS}/{s}") for s in stylesheets),
        scripts=tuple(urls.href(f"{urls.ASSETS}/{s}") for s in scripts),
        models_url=urls.href(urls.MODELS) if has_models else None,
    )


def logo_path(config: SiteConfig) -> str | None:
    return LOGO + config.logo.suffix.lower() if config.logo else None


def _page(cls: type[P], info: SiteInfo, kind: str, path: str, title: str, **fields: Any) -> P:
    """A page context of type ``cls``: the common fields, then the page's own."""
    return cls(
        site=info, page_kind=kind, page_path=path, root=urls.root_of(path), title=title, **fields
    )


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


def home_page(site: SiteData, info: SiteInfo) -> HomePage:
    records = {r.experiment.experiment_id: r for r in site.experiments}
    return _page(
        HomePage,
        info,
        "home",
        urls.INDEX,
        "Experiments",
        experiments=tuple(experiment_summary(r, site) for r in site.experiments),
        recent_runs=tuple(run_row(r, records[r.info.experiment_id]) for r in site.recent),
        run_count=len(site.runs),
        search_script=urls.href(urls.SEARCH),
        models=model_summaries(site.registry),
    )


def experiment_page(record: ExperimentRecord, site: SiteData, info: SiteInfo) -> ExperimentPage:
    exp = record.experiment
    view = ExperimentView(
        link=experiment_link(exp),
        description_html=render_markdown(exp.description),
        tags=tuple(sorted((k, v) for k, v in exp.tags.items() if not k.endswith(".note.content"))),
        summary=experiment_summary(record, site),
    )
    return _page(
        ExperimentPage,
        info,
        "experiment",
        urls.experiment_page(exp.experiment_id),
        exp.name,
        experiment=view,
        runs=tuple(run_row(r, record) for r in record.runs[:NOSCRIPT_RUNS]),
        data_script=urls.href(urls.experiment_data(exp.experiment_id)),
        chart_scripts=VENDOR_SCRIPTS,
    )


def run_page(detail: RunDetail, site: SiteData, info: SiteInfo) -> RunPage:
    run = detail.run
    rid = run.info.run_id
    record = site.experiment(run.info.experiment_id)
    parent_id = run.data.tags.get("mlflow.parentRunId")
    return _page(
        RunPage,
        info,
        "run",
        urls.run_page(rid),
        run.info.run_name or rid,
        run=RunView(
            link=run_link(run),
            experiment=experiment_link(record.experiment),
            start=run.info.start_time,
            end=run.info.end_time,
            duration=None if run.info.end_time is None else run.info.end_time - run.info.start_time,
            user=run.info.user_id,
            description_html=render_markdown(detail.description, top_heading=3),
        ),
        source=_source_view(detail),
        params=tuple(sorted(run.data.params.items())),
        metrics=_metric_rows(run),
        tags=tuple(sorted(user_tags(run).items())),
        parent=run_link(site.runs[parent_id]) if parent_id and parent_id in site.runs else None,
        children=tuple(run_link(site.runs[c]) for c in site.children.get(rid, ())),
        artifacts=tuple(_artifact_view(rid, n) for n in detail.artifacts),
        data_script=urls.href(urls.run_data(rid)),
        chart_scripts=VENDOR_SCRIPTS,
        highlight_css=urls.href(HIGHLIGHT_CSS),
        logged_models=run_logged_models(run, site.registry, detail.artifacts),
        model_versions=run_versions(site.registry, rid),
    )


def _source_view(detail: RunDetail) -> SourceView:
    src = detail.source
    return SourceView(
        script=src.name,
        type=src.type,
        host=src.host,
        python=src.python,
        platform=src.platform,
        commit=src.git_commit,
        commit_url=commit_url(src.git_repo_url, src.git_commit),
        branch=src.git_branch,
        repo_url=src.git_repo_url,
        dirty=src.git_dirty,
        diff_html=highlight(detail.diff, "diff") if detail.diff is not None else None,
    )


def _metric_rows(run: Run) -> tuple[MetricRow, ...]:
    rid = run.info.run_id
    return tuple(
        MetricRow(
            key, s.latest, s.min, s.max, s.count, s.step, urls.href(urls.metric_csv(rid, key))
        )
        for key, s in sorted(run.data.metric_summaries.items())
    )


def _artifact_view(run_id: str, node: ArtifactNode) -> ArtifactView:
    preview = node.preview
    html = None
    if preview is not None and preview.kind == "markdown":
        folder = node.path.rpartition("/")[0]
        base = urls.href(urls.artifact(run_id, folder + "/" if folder else ""))
        link_base = base.removeprefix(urls.run_dir(run_id) + "/")
        html = render_markdown(preview.text, link_base=link_base, top_heading=4)
    elif preview is not None and preview.kind == "text":
        html = highlight(preview.text, preview.lexer)
    available = node.is_dir or node.source is not None
    return ArtifactView(
        name=node.name,
        path=node.path,
        is_dir=node.is_dir,
        size=node.size,
        url=urls.href(urls.artifact(run_id, node.path)) if available else None,
        download_name=node.name,
        preview=preview.kind if preview else None,
        preview_html=html,
        rows=preview.rows if preview else (),
        truncated=preview.truncated if preview else False,
        children=tuple(_artifact_view(run_id, c) for c in node.children),
    )


def compare_page(site: SiteData, info: SiteInfo) -> ComparePage:
    return _page(
        ComparePage,
        info,
        "compare",
        urls.COMPARE,
        "Compare runs",
        experiments=tuple(experiment_link(r.experiment) for r in site.experiments),
        chart_scripts=VENDOR_SCRIPTS,
    )


def not_found_page(info: SiteInfo) -> NotFoundPage:
    return _page(NotFoundPage, info, "404", urls.NOT_FOUND, "Page not found")


def redirect_html(target: str) -> bytes:
    """A page that sends its visitor to the site file ``target`` (kept links keep working)."""
    link = html.escape(urls.href(target, "../../"), quote=True)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="refresh" content="0; url={link}">'
        f'<link rel="canonical" href="{link}"><title>Moved</title></head>\n'
        f'<body><p>This experiment is now <a href="{link}">here</a>.</p></body></html>\n'
    ).encode()
