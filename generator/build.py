"""``build_site``: the named two-phase build (gather, then write), incremental and deterministic."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import logging
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from mltrail.store import FileStore

from . import datafiles, modelviews, pages, urls
from .config import CONFIG_FILE, SiteBuildError, SiteConfig, load_config, report
from .contexts import SiteInfo
from .filters import FILTERS, highlight_css
from .gather import ExperimentRecord, SiteData, gather_site
from .models import gather_registry
from .modelwrite import ModelSetup, write_model_pages
from .runpages import Progress, RenderSetup, RunJob, page_key, render_run_pages
from .themes import Theme, load_theme, make_environment, page_assets, static_files
from .themes import theme_digest as compute_theme_digest
from .write import Manifest, PageResult, PageWriter, clean_output, remove_stale, render

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BuildSummary:
    output: Path
    pages_written: int
    pages_unchanged: int
    files_written: int
    files_removed: int
    site_bytes: int
    seconds: float

    def describe(self) -> str:
        size = self.site_bytes / 1_000_000
        return (
            f"Built {self.output}: {self.pages_written} pages written, "
            f"{self.pages_unchanged} unchanged, {self.files_removed} files removed, "
            f"{self.seconds:.1f} s, {size:.1f} MB."
        )


@dataclass(frozen=True)
class _Build:
    """The gathered inputs of one build."""

    store: FileStore
    config: SiteConfig
    theme: Theme
    env: jinja2.Environment
    site: SiteData
    info: SiteInfo
    statics: dict[str, Path]
    digest: str  # generator, theme and config: every page depends on them


def environment(theme: Theme) -> jinja2.Environment:
    env = make_environment(theme)
    env.filters.update(FILTERS)
    return env


def build_site(
    store: Path | str | FileStore,
    out: Path | str,
    *,
    ref: str | None = None,
    base_url: str | None = None,
    theme: str | None = None,
    config: Path | str | None = None,
    clean: bool = False,
    strict: bool = False,
    progress: Progress | None = None,
) -> BuildSummary:
    """Build the static site of ``store`` (at ``ref``, if given) into ``out``."""
    started = time.perf_counter()
    root = (store.root if isinstance(store, FileStore) else Path(store)).resolve()
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with _snapshot(root, ref, out_dir) as snapshot:
        live = FileStore(root) if ref else None
        fs = FileStore(snapshot)
        config_path = Path(config).resolve() if config else _default_config(snapshot)
        overrides = {"base_url": base_url, "theme": theme}
        cfg = load_config(config_path, overrides=overrides, strict=strict, store=snapshot)
        build = _gather(fs, cfg, strict, history=(root, ref or "HEAD"))
        if clean:
            clean_output(out_dir)
        artifact_store = (live or fs).artifact_store_path
        results, removed = _write(build, out_dir, artifact_store, progress)
    return _summary(out_dir, results, removed, time.perf_counter() - started)


@contextlib.contextmanager
def _snapshot(root: Path, ref: str | None, out: Path) -> Iterator[Path]:
    """The store folder itself, or a temporary export of it at ``ref`` (git archive)."""
    if ref is None:
        yield root
        return
    from mltrail import git

    with tempfile.TemporaryDirectory(prefix=".mltrail-ref-", dir=out.parent) as tmp:
        exported = git.export_tree(root, ref, Path(tmp))
        if not exported.is_dir():
            raise SiteBuildError(f"The store {root} did not exist at {ref!r}; pick a later one.")
        yield exported


def _default_config(root: Path) -> Path | None:
    path = root / CONFIG_FILE
    return path if path.is_file() else None


def _gather(fs: FileStore, cfg: SiteConfig, strict: bool, history: tuple[Path, str]) -> _Build:
    """Read everything the pages show; ``history``: the store folder in its git work tree
    and the revision whose history the model pages show."""
    theme = load_theme(cfg.theme, cfg.custom_dir)
    statics = static_files(theme)
    css, js = page_assets(list(statics))
    site, issues = gather_site(fs, cfg)
    report(issues, strict)
    site = dataclasses.replace(site, registry=gather_registry(fs, *history))
    has_models = bool(site.registry.models)
    info = pages.site_info(cfg, css, js, has_models)
    digest = _digest(
        _code_digest(),
        _version("mltrail"),
        compute_theme_digest(theme),
        cfg.fingerprint(),
        [css, js],
        has_models,  # the navigation links the Models index
    )
    return _Build(fs, cfg, theme, environment(theme), site, info, statics, digest)


def _code_digest() -> str:
    """The generator's own source: a new version re-renders every page."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _write(
    b: _Build, out: Path, artifact_store: Path, progress: Progress | None
) -> tuple[list[PageResult], int]:
    old = Manifest.load(out)
    results = [_assets(b, out), _chart_specs(b, out, old)]
    results += _site_pages(b, out)
    results += [_experiment(b, out, old, r) for r in b.site.experiments]
    results += [_experiment_alias(out, a, h) for a, h in b.site.experiment_aliases.items()]
    jobs = []
    for run_id in b.site.runs:
        digest = _run_digest(b, run_id)
        fresh = old.fresh(out, page_key(run_id), digest)
        if fresh is not None:
            results.append(fresh)
        else:
            jobs.append(RunJob(run_id, digest))
    setup = RenderSetup(b.store.root, artifact_store, out, b.theme, b.info, b.site)
    results += render_run_pages(setup, jobs, progress)
    models = ModelSetup(b.env, out, old, b.store, artifact_store, b.site, b.info, b.digest)
    results += write_model_pages(models)
    removed = remove_stale(out, old, results)
    old.save(out, results)
    return results, removed


def _assets(b: _Build, out: Path) -> PageResult:
    writer = PageWriter(out, "assets", "")
    for rel, src in b.statics.items():
        writer.copy(f"{urls.ASSETS}/{rel}", src)
    writer.write(pages.HIGHLIGHT_CSS, highlight_css().encode())
    logo = pages.logo_path(b.config)
    if logo and b.config.logo:
        writer.copy(logo, b.config.logo)
    return writer.result()


def _chart_specs(b: _Build, out: Path, old: Manifest) -> PageResult:
    """Chart specs change only with the chart code (Altair runs only then)."""
    source = Path(__file__).with_name("charts.py").read_bytes()
    digest = _digest(hashlib.sha256(source).hexdigest(), _version("altair"))
    fresh = old.fresh(out, "assets:chart-specs", digest)
    if fresh is not None:
        return fresh
    from .charts import chart_specs_js

    writer = PageWriter(out, "assets:chart-specs", digest)
    writer.write(urls.CHART_SPECS, chart_specs_js().encode())
    return writer.result()


def _site_pages(b: _Build, out: Path) -> list[PageResult]:
    """Home, compare, 404 and the search index: cheap, so always rendered (and compared)."""
    pairs = [
        ("page:index", urls.INDEX, "index.html", pages.home_page(b.site, b.info)),
        ("page:compare", urls.COMPARE, "compare.html", pages.compare_page(b.site, b.info)),
        ("page:404", urls.NOT_FOUND, "404.html", pages.not_found_page(b.info)),
    ]
    results = []
    for key, path, template, ctx in pairs:
        writer = PageWriter(out, key, "")
        writer.write(path, render(b.env, [template], ctx))
        results.append(writer.result())
    writer = PageWriter(out, "data:search", "")
    entries = datafiles.search_entries(b.site) + modelviews.search_entries(b.site.registry)
    writer.write(urls.SEARCH, datafiles.data_script("searchIndex", entries))
    results.append(writer.result())
    return results


def _experiment(b: _Build, out: Path, old: Manifest, record: ExperimentRecord) -> PageResult:
    exp = record.experiment
    key = f"page:experiment:{exp.experiment_id}"
    digest = _digest(
        b.digest,
        [exp.experiment_id, exp.name, exp.description, sorted(exp.tags.items())],
        [record.primary_metric, record.lower_is_better],
        [[r.info.run_id, b.site.signatures[r.info.run_id]] for r in record.runs],
    )
    fresh = old.fresh(out, key, digest)
    if fresh is not None:
        return fresh
    ctx = pages.experiment_page(record, b.site, b.info)
    slug = exp.name if _safe_slug(exp.name) else exp.experiment_id
    html = render(b.env, [f"experiment-{slug}.html", "experiment.html"], ctx)
    writer = PageWriter(out, key, digest)
    writer.write(urls.experiment_page(exp.experiment_id), html)
    payload = datafiles.experiment_payload(record)
    writer.write(
        urls.experiment_data(exp.experiment_id), datafiles.data_script("experimentData", payload)
    )
    return writer.result()


def _experiment_alias(out: Path, alias: str, head: str) -> PageResult:
    """The page of an experiment id merged into ``head`` sends its visitors there."""
    writer = PageWriter(out, f"page:experiment-alias:{alias}", "")
    writer.write(urls.experiment_page(alias), pages.redirect_html(urls.experiment_page(head)))
    return writer.result()


def _safe_slug(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "-_." for c in name) and ".." not in name


def _run_digest(b: _Build, run_id: str) -> str:
    """The inputs of a run page (plain joined text: this runs once per run, per build)."""
    site = b.site
    run = site.runs[run_id]
    parent = run.data.tags.get("mlflow.parentRunId")

    def link(rid: str) -> str:
        other = site.runs[rid].info
        return f"{rid}\1{other.run_name}\1{other.status}"

    parts = [
        b.digest,
        run_id,
        site.signatures[run_id],
        site.experiment(run.info.experiment_id).experiment.name,
        link(parent) if parent and parent in site.runs else "",
        *(link(c) for c in site.children.get(run_id, ())),
        *modelviews.run_models_digest(site.registry, run_id),
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()


def _summary(out: Path, results: list[PageResult], removed: int, seconds: float) -> BuildSummary:
    page_results = [r for r in results if r.key.startswith("page:")]
    written = sum(1 for r in page_results if r.written)
    return BuildSummary(
        output=out,
        pages_written=written,
        pages_unchanged=len(page_results) - written,
        files_written=sum(r.written for r in results),
        files_removed=removed,
        site_bytes=sum(size for r in results for size in r.files.values()),
        seconds=seconds,
    )
