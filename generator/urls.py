"""The output layout (docs/SITE.md): where each page and data file goes, and its link.

``*_path`` functions return a file's path relative to the site root (POSIX, not
quoted: the name on disk); ``href`` turns such a path into a relative link.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath
from urllib.parse import quote

from mltrail.validation import key_file_name

INDEX = "index.html"
NOT_FOUND = "404.html"
SEARCH = "search.js"
COMPARE = "compare/index.html"
CHART_SPECS = "assets/chart-specs.js"
#: A run page's scripts in one file (``pages.bundles``): one tag on each of many pages.
RUN_SCRIPTS = "assets/bundles/run.js"
ASSETS = "assets"
MANIFEST = ".mltrail-build.json"
MODELS = "models/index.html"
PROJECTS = "projects/index.html"
DATASETS = "datasets/index.html"

#: Artifact suffixes a browser would run as active content: copied as ``<name>.txt``.
ACTIVE_SUFFIXES = frozenset({".html", ".htm", ".xhtml", ".svg", ".xml", ".js", ".mjs"})


def experiment_dir(experiment_id: str) -> str:
    return f"experiments/{experiment_id}"


def experiment_page(experiment_id: str) -> str:
    return f"{experiment_dir(experiment_id)}/{INDEX}"


def experiment_data(experiment_id: str) -> str:
    return f"{experiment_dir(experiment_id)}/runs.js"


def experiment_part(experiment_id: str, chunk: int, field: int) -> str:
    """Field `field` of chunk `chunk` of an experiment's run columns (next to ``runs.js``)."""
    return f"{experiment_dir(experiment_id)}/runs-{chunk}-{field}.js"


def experiment_search_part(experiment_id: str, chunk: int) -> str:
    """The search entries of chunk `chunk` of an experiment's runs."""
    return f"{experiment_dir(experiment_id)}/search-{chunk}.js"


def run_dir(run_id: str) -> str:
    return f"runs/{run_id}"


def run_page(run_id: str) -> str:
    return f"{run_dir(run_id)}/{INDEX}"


def run_data(run_id: str) -> str:
    return f"{run_dir(run_id)}/data.js"


def metric_csv(run_id: str, key: str) -> str:
    """A metric's CSV copy, named as its history file in the store (``a:b`` as ``a%3Ab``)."""
    return f"{run_dir(run_id)}/metrics/{key_file_name(key, '.csv')}"


def artifact(run_id: str, path: str) -> str:
    """Where artifact ``path`` of a run is copied (active content gets ``.txt`` added)."""
    suffix = PurePosixPath(path).suffix.lower()
    extra = ".txt" if suffix in ACTIVE_SUFFIXES else ""
    return f"{run_dir(run_id)}/artifacts/{path}{extra}"


def model_dir(slug: str) -> str:
    """A registered model's folder (``slug``: ``gather.registry.site_slug``)."""
    return f"models/{slug}"


def model_page(slug: str) -> str:
    return f"{model_dir(slug)}/{INDEX}"


def version_page(slug: str, page: str) -> str:
    """A model version's page (``page``: ``v3``, or ``v3-<version id>`` for a duplicate)."""
    return f"{model_dir(slug)}/{page}/{INDEX}"


def dataset_page(slug: str) -> str:
    """A dataset digest's page (``slug``: ``gather.inputs.dataset_slug``)."""
    return f"datasets/{slug}.html"


def project_page(slug: str) -> str:
    """A project's page (``slug``: ``gather.projects.project_slug``, or ``repository``)."""
    return f"projects/{slug}/{INDEX}"


_ANCHOR_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def entry_point_anchor(name: str) -> str:
    """The id of an entry point's section on its project page: ``ep-<name>`` for a plain
    name, else ``eph-<digest>`` (the two forms cannot collide: the third letter differs).

    Example:
        >>> entry_point_anchor("main"), entry_point_anchor("a b")[:4]
        ('ep-main', 'eph-')
    """
    return plain_or_hashed(name, _ANCHOR_NAME, "ep-", "eph-")


def plain_or_hashed(
    name: str, plain: re.Pattern[str], prefix: str, hashed_prefix: str, size: int = 16
) -> str:
    """``prefix + name`` when ``plain`` matches all of it, else ``hashed_prefix`` and the
    first ``size`` hex digits of its SHA-256 (the prefixes must differ before either ends,
    so the two forms never collide)."""
    if plain.fullmatch(name):
        return prefix + name
    return hashed_prefix + hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:size]


def depth(path: str) -> int:
    return path.count("/")


def root_of(path: str) -> str:
    """The relative prefix that leads from the page at ``path`` back to the site root."""
    return "../" * depth(path)


def href(target: str, root: str = "") -> str:
    """A link to the site file ``target`` from a page whose root prefix is ``root``."""
    return root + quote(target, safe="/")


def relative_href(target: str, page: str) -> str:
    """A link to ``target`` from the page at ``page`` (both relative to the site root)."""
    return href(target, root_of(page))
