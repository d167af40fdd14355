"""Run pages: gather one run in full, build its context, render it, write its files.

Many stale run pages are spread over a process pool (each worker builds its own Jinja
environment and store object once); a few are rendered in this process. A failure in
any page fails the build.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import jinja2

from mltrail.errors import MltrailError
from mltrail.store import FileStore

from . import datafiles, pages, urls
from .config import SiteBuildError
from .contexts import SiteInfo
from .gather import SiteData
from .rundetail import ArtifactNode, gather_run
from .themes import Theme
from .write import PageResult, PageWriter, render

#: Below this many stale run pages, a pool costs more than it saves.
POOL_THRESHOLD = 150
MAX_WORKERS = 8

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class RunJob:
    run_id: str
    digest: str


@dataclass(frozen=True)
class RenderSetup:
    """Everything a (worker) process needs to render run pages; picklable."""

    store_root: Path
    artifact_store: Path
    out: Path
    theme: Theme
    info: SiteInfo
    site: SiteData


class _Renderer:
    def __init__(self, setup: RenderSetup) -> None:
        from .build import environment

        self.setup = setup
        self.env: jinja2.Environment = environment(setup.theme)
        self.store = FileStore(setup.store_root)

    def render(self, job: RunJob) -> PageResult:
        try:
            return self._render(job)
        except MltrailError:
            raise
        except OSError as e:
            raise SiteBuildError(f"Cannot build the page of run {job.run_id}: {e}") from e

    def _render(self, job: RunJob) -> PageResult:
        setup, rid = self.setup, job.run_id
        detail = gather_run(self.store, setup.site.runs[rid], setup.artifact_store)
        ctx = pages.run_page(detail, setup.site, setup.info)
        html = render(self.env, [f"run-{rid}.html", "run.html"], ctx)
        writer = PageWriter(setup.out, page_key(rid), job.digest)
        writer.write(urls.run_page(rid), html)
        writer.write(
            urls.run_data(rid), datafiles.data_script("runData", datafiles.run_payload(detail))
        )
        for history in detail.histories:
            writer.write(urls.metric_csv(rid, history.key), datafiles.history_csv(history))
        for node in _files(detail.artifacts):
            if node.source is not None:
                writer.copy(urls.artifact(rid, node.path), node.source)
        return writer.result()


def page_key(run_id: str) -> str:
    return f"page:run:{run_id}"


def _files(nodes: Sequence[ArtifactNode]) -> Iterator[ArtifactNode]:
    for node in nodes:
        if node.is_dir:
            yield from _files(node.children)
        else:
            yield node


_worker: _Renderer | None = None


def _init_worker(setup: RenderSetup) -> None:
    global _worker
    _worker = _Renderer(setup)


def _render_chunk(jobs: list[RunJob]) -> list[PageResult]:
    assert _worker is not None, "the pool initializer did not run"
    return [_worker.render(job) for job in jobs]


def render_run_pages(
    setup: RenderSetup, jobs: Sequence[RunJob], progress: Progress | None = None
) -> list[PageResult]:
    """Render the run pages of ``jobs``; in a process pool when there are many."""
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if len(jobs) < POOL_THRESHOLD or workers < 2:
        renderer = _Renderer(setup) if jobs else None
        results = []
        for i, job in enumerate(jobs, 1):
            assert renderer is not None
            results.append(renderer.render(job))
            if progress:
                progress(i, len(jobs))
        return results
    return _render_in_pool(setup, list(jobs), workers, progress)


def _render_in_pool(
    setup: RenderSetup, jobs: list[RunJob], workers: int, progress: Progress | None
) -> list[PageResult]:
    size = max(10, min(200, len(jobs) // (workers * 8) or 1))
    chunks = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    # fork on Linux: workers inherit the gathered site for free, and a caller's script
    # is not imported again (forkserver and spawn would need an `if __name__` guard).
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = multiprocessing.get_context(method)
    results: list[PageResult] = []
    with ProcessPoolExecutor(workers, context, initializer=_init_worker, initargs=(setup,)) as pool:
        pending: set[Future[list[PageResult]]] = {pool.submit(_render_chunk, c) for c in chunks}
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    pool.shutdown(cancel_futures=True)
                    raise error
                results.extend(future.result())
            if progress:
                progress(len(results), len(jobs))
    return results
