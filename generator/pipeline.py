"""``build_site``: snapshot → gather → plan → write, incremental and deterministic.

1. **snapshot**: the store folder, or a temporary export of it at ``--ref``.
2. **gather**: the config, the theme and every record the pages show (``gather/``).
3. **plan**: each part (``pages.PARTS``) lists its pages with the digest of their inputs;
   a page whose digest and files are in the last build's manifest is kept as it is.
4. **write**: the stale pages are rendered and written (``output/``), files no page owns
   any more are removed, and the manifest is saved.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import operator
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mltrail.store import FileStore

from .config import CONFIG_FILE, SiteConfig, load_config, report
from .errors import SiteBuildError
from .gather.inputs import gather_datasets
from .gather.modelfiles import ModelFilesCache
from .gather.projects import gather_projects
from .gather.registry import gather_registry
from .gather.site import gather_site
from .output.files import Manifest, PageResult, clean_output, remove_stale
from .pages import PARTS
from .pages.assets import version
from .pages.base import Build, Job, Jobs, Part, Progress, digest, site_info
from .pages.experiment import all_chunk_digests
from .theme.loader import load_theme, page_assets, static_files, theme_digest
from .theme.render import environment

#: GitHub Pages publishes sites of at most 1 GB; a bigger site gets a warning.
PAGES_LIMIT_BYTES = 1_000_000_000


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

    def size_warning(self) -> str | None:
        """A warning when the site is larger than GitHub Pages publishes, else None."""
        if self.site_bytes <= PAGES_LIMIT_BYTES:
            return None
        return (
            f"{self.output} holds {self.site_bytes / 1_000_000:.1f} MB, more than the "
            f"{PAGES_LIMIT_BYTES / 1_000_000_000:g} GB GitHub Pages publishes: deploying it "
            "there will fail. Publish it on another static host, or make the site smaller "
            '(docs/TEAMS.md, "Publishing the dashboard on GitHub Pages").'
        )


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
    with _snapshot(root, ref, out_dir) as snapshot, _collector_paused() as resume:
        config_path = Path(config).resolve() if config else _default_config(snapshot)
        overrides = {"base_url": base_url, "theme": theme}
        cfg = load_config(config_path, overrides=overrides, strict=strict, store=snapshot)
        # Read only: a build writes nothing into the store, not even a cache.
        fs = FileStore.open_read_only(snapshot, keep_cache=ref is None)
        artifact_store = (FileStore.open_read_only(root) if ref else fs).artifact_store_path
        before = _LastBuild(out_dir, clean)
        build = _gather(fs, cfg, strict, (root, ref or "HEAD"), artifact_store, before.read)
        if clean:
            clean_output(out_dir)
        old, present = before.read()
        kept, stale = _plan(build, old, present)
        resume()
        written = _write(build, stale, out_dir, progress)
        new = old.updated(kept, written)
        removed = remove_stale(out_dir, old, kept, written)
        new.save(out_dir)
    return _summary(out_dir, new, written, removed, time.perf_counter() - started)


class _LastBuild:
    """The last build's manifest and which of its pages are still in the output folder,
    read once: while the gather waits for the run folders' signatures (``read`` is its
    ``meanwhile``), when this process would otherwise sit idle (0.24 s of a rebuild at
    100,000 runs). With ``clean``, there is none: the folder is emptied."""

    def __init__(self, out: Path, clean: bool) -> None:
        self._out = out
        self._clean = clean
        self._read: tuple[Manifest, list[bool]] | None = None

    def read(self) -> tuple[Manifest, list[bool]]:
        if self._read is None:
            old = Manifest() if self._clean else Manifest.load(self._out)
            self._read = old, old.present(self._out)
        return self._read


@contextlib.contextmanager
def _collector_paused() -> Iterator[Callable[[], None]]:
    """Python's cyclic garbage collector paused while a build gathers and plans, then
    (on ``resume()``) running again over new objects only, until the build ends.

    Gathering and planning make ~10 objects per run and no garbage cycles; left on, the
    collector walked them all again and again (8 full collections, 1.5 s of a 5 s
    rebuild at 100,000 runs). What they made is frozen (``gc.freeze``) before pages are
    rendered, which does make cycles, so collections there skip it, in forked workers
    too (their pages of memory stay shared); it is unfrozen at the end, for a
    long-lived process (``mltrail ui``) to collect as usual."""
    enabled = gc.isenabled()
    gc.disable()

    def resume() -> None:
        gc.freeze()
        if enabled:
            gc.enable()

    try:
        yield resume
    finally:
        gc.unfreeze()
        if enabled:
            gc.enable()


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


def _gather(
    fs: FileStore,
    cfg: SiteConfig,
    strict: bool,
    history: tuple[Path, str],
    artifacts: Path,
    meanwhile: Callable[[], object] | None = None,
) -> Build:
    """Read everything the pages show; ``history``: the store folder in its git work tree
    and the revision whose history the model pages show; ``meanwhile``: work for this
    process while helpers sign the run folders (``gather_site``)."""
    theme = load_theme(cfg.theme, cfg.custom_dir)
    statics = static_files(theme)
    css, js = page_assets(list(statics))
    site, issues = gather_site(fs, cfg, meanwhile)
    report(issues, strict)
    site = replace(
        site,
        registry=gather_registry(fs, *history),
        projects=gather_projects(site.runs, *history),
        datasets=gather_datasets(fs, [r for r in site.runs.newest_ids() if r in site.with_inputs]),
    )
    has_models = bool(site.registry.models)
    has_projects = bool(site.projects.entries)
    has_datasets = bool(site.datasets.entries)
    inputs = digest(
        _code_digest(),
        version("mltrail"),
        theme_digest(theme),
        cfg.fingerprint(),
        [css, js],
        has_models,  # the navigation links the Models index
        has_projects,  # the Projects index
        has_datasets,  # and the Datasets index
    )
    return Build(
        store=fs,
        config=cfg,
        theme=theme,
        env=environment(theme),
        site=site,
        info=site_info(cfg, css, js, has_models, has_projects, has_datasets),
        statics=statics,
        digest=inputs,
        artifact_store=artifacts,
        model_files=ModelFilesCache(fs, artifacts),
        chunk_digests=all_chunk_digests(site),
    )


def _code_digest() -> str:
    """The generator's own source: a new version re-renders every page."""
    h = hashlib.sha256()
    package = Path(__file__).parent
    for path in sorted(package.rglob("*.py")):
        h.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


Stale = list[tuple[Part[Any], list[Job[Any]]]]


def _plan(b: Build, old: Manifest, present: list[bool]) -> tuple[list[int], Stale]:
    """The manifest rows of the pages kept from the last build (``present``: per row,
    whether its page is still there), and per part the pages to write."""
    kept: list[int] = []
    stale: Stale = []
    for part in PARTS:
        planned = Jobs.of(part.plan(b))
        rows, to_write = old.split(present, planned.keys, planned.digests)
        kept += rows
        stale.append((part, [planned.job(at) for at in to_write]))
    return kept, stale


def _write(b: Build, stale: Stale, out: Path, progress: Progress | None) -> list[PageResult]:
    return [r for part, jobs in stale for r in part.write_stale(b, jobs, out, progress)]


def _summary(
    out: Path, built: Manifest, written: list[PageResult], removed: int, seconds: float
) -> BuildSummary:
    """``built``: every page of the site; ``written``: those rendered by this build."""
    pages = sum(map(operator.methodcaller("startswith", "page:"), built.keys))
    pages_written = sum(1 for r in written if r.written and r.key.startswith("page:"))
    return BuildSummary(
        output=out,
        pages_written=pages_written,
        pages_unchanged=pages - pages_written,
        files_written=sum(r.written for r in written),
        files_removed=removed,
        site_bytes=sum(built.sizes),
        seconds=seconds,
    )
