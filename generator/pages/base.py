"""What every page kind shares: the page context base, the build's gathered inputs, and
the plan/write contract a page kind fulfils.

A page kind (``pages.home``, ``pages.run``, ...) is one module holding its context type
(a frozen dataclass whose every field is documented with :func:`doc`: a template sees
the fields as top-level names, STYLE.md §9), the function that builds that context, the
digest of its inputs for incremental builds and its template candidates. It exposes one
:class:`PageKind`; ``pages.KINDS`` lists them in build order.

Conventions of contexts: every ``url`` is relative to the site root and already quoted;
a template writes ``{{ root }}{{ x.url }}``. Times are milliseconds since the Unix epoch
(format them with the ``datetime`` and ``duration`` filters); ``*_html`` fields are
sanitized Markup, safe to insert as they are.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Generic, TypeVar

import jinja2

from mltrail.store import FileStore

from .. import urls
from ..config import SiteConfig
from ..gather.modelfiles import ModelFilesCache
from ..gather.site import SiteData
from ..output.files import PageResult, PageWriter
from ..theme.loader import Theme

T = TypeVar("T")
P = TypeVar("P", bound="PageContext")
#: Called with (done, total) while run pages are written.
Progress = Callable[[int, int], None]

HIGHLIGHT_CSS = "assets/highlight.css"
LOGO = "assets/logo"
VENDOR_SCRIPTS = (
    "assets/vendor/vega.min.js",
    "assets/vendor/vega-lite.min.js",
    "assets/vendor/vega-embed.min.js",
    urls.CHART_SPECS,
)


def doc(text: str) -> Any:
    """A dataclass field with its documentation (required for every context field)."""
    return field(metadata={"doc": text})


@dataclass(frozen=True)
class NavItem:
    title: str = doc("link text")
    url: str = doc("http(s) URL, or a path relative to the site root")
    external: bool = doc("True for an http(s) URL (use as is, without root)")


@dataclass(frozen=True)
class SiteInfo:
    title: str = doc("site title (config `title`)")
    description: str = doc("site description (config `description`)")
    logo: str | None = doc("logo path relative to the root, or None")
    base_url: str | None = doc("absolute URL of the site root (config `base_url`), or None")
    nav: tuple[NavItem, ...] = doc("extra navigation links (config `nav`)")
    stylesheets: tuple[str, ...] = doc("stylesheet paths relative to the root, in order")
    scripts: tuple[str, ...] = doc("script paths relative to the root (mltrail.js first)")
    models_url: str | None = doc("the Models index page, None when the store has no models")
    projects_url: str | None = doc("the Projects index page, None when the site has no projects")
    datasets_url: str | None = doc("the Datasets index page, None when no run logged a dataset")


@dataclass(frozen=True)
class PageContext:
    site: SiteInfo = doc("site-wide settings and assets")
    page_kind: str = doc(
        "home, experiment, run, compare, 404, models, model, model-version, projects, project,"
        " datasets, dataset"
    )
    page_path: str = doc("this page's path relative to the root")
    root: str = doc('relative prefix back to the site root, e.g. "../../"')
    title: str = doc("the page's own title")

    def as_dict(self) -> dict[str, Any]:
        """The template's top-level names (shallow: nested records stay objects)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def make_page(cls: type[P], info: SiteInfo, kind: str, path: str, title: str, **own: Any) -> P:
    """A page context of type ``cls``: the common fields, then the page's own."""
    return cls(
        site=info, page_kind=kind, page_path=path, root=urls.root_of(path), title=title, **own
    )


def site_info(
    config: SiteConfig,
    stylesheets: tuple[str, ...],
    scripts: tuple[str, ...],
    has_models: bool = False,
    has_projects: bool = False,
    has_datasets: bool = False,
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
        projects_url=urls.href(urls.PROJECTS) if has_projects else None,
        datasets_url=urls.href(urls.DATASETS) if has_datasets else None,
    )


def logo_path(config: SiteConfig) -> str | None:
    return LOGO + config.logo.suffix.lower() if config.logo else None


def digest(*parts: Any) -> str:
    """The digest of a page's inputs (JSON of ``parts``): the page is rendered again only
    when it changes."""
    text = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass(frozen=True)
class Build:
    """The gathered inputs of one build: what every page kind plans and writes from."""

    store: FileStore
    config: SiteConfig
    theme: Theme
    env: jinja2.Environment
    site: SiteData
    info: SiteInfo
    #: Theme static files: path under ``assets/`` → source file.
    statics: dict[str, Path]
    #: Generator, theme and config: every page depends on them.
    digest: str
    #: Where the blobs of large artifacts are (the live store's, for a ``--ref`` build).
    artifact_store: Path
    #: Model folders read for this build, shared by model and version pages.
    model_files: ModelFilesCache
    #: Experiment id → digest of each chunk of its runs (``experiment.all_chunk_digests``).
    chunk_digests: Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Job(Generic[T]):
    """One page (with its data files) to write: its manifest key, the digest of its
    inputs ("": always rendered, then compared byte for byte) and what it is about."""

    key: str
    digest: str
    subject: T


@dataclass(frozen=True)
class Jobs(Generic[T]):
    """A part's pages as columns, one row each: what a plan of 100,000 run pages returns,
    so that a :class:`Job` is made only for a page to write, not for every page kept."""

    keys: Sequence[str]
    digests: Sequence[str]
    subjects: Sequence[T]

    @staticmethod
    def of(jobs: Iterable[Job[T]]) -> Jobs[T]:
        """``jobs`` as columns (as they are if they already are)."""
        if isinstance(jobs, Jobs):
            return jobs
        listed = list(jobs)
        return Jobs(
            [j.key for j in listed], [j.digest for j in listed], [j.subject for j in listed]
        )

    def job(self, row: int) -> Job[T]:
        return Job(self.keys[row], self.digests[row], self.subjects[row])

    def __iter__(self) -> Iterator[Job[T]]:
        return map(self.job, range(len(self.keys)))


WriteOne = Callable[[Build, Job[T], PageWriter], None]
WriteAll = Callable[[Build, Sequence[Job[T]], Path, Progress | None], list[PageResult]]


@dataclass(frozen=True, kw_only=True)
class Part(Generic[T]):
    """One kind of output: ``plan`` lists its pages with their digests; ``write`` renders
    one stale page into its writer (``write_all``, when given, writes them all at once)."""

    plan: Callable[[Build], Iterable[Job[T]]]
    write: WriteOne[T]
    write_all: WriteAll[T] | None = None

    def write_stale(
        self, b: Build, jobs: Sequence[Job[T]], out: Path, progress: Progress | None
    ) -> list[PageResult]:
        if self.write_all is not None:
            return self.write_all(b, jobs, out, progress)
        results = []
        for job in jobs:
            writer = PageWriter(out, job.key, job.digest)
            self.write(b, job, writer)
            results.append(writer.result())
        return results


@dataclass(frozen=True, kw_only=True)
class PageKind(Part[T]):
    """A kind of HTML page: its ``page_kind`` name, context type and theme template."""

    name: str
    context: type[PageContext]
    #: The theme's template (``run.html``); ``candidates`` may try a per-page one first.
    template: str

    def candidates(self, slug: str | None = None) -> list[str]:
        """``run-<id>.html`` then ``run.html``: a theme may override one page."""
        if slug is None:
            return [self.template]
        stem = self.template.removesuffix(".html")
        return [f"{stem}-{slug}.html", self.template]
