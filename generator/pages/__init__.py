"""The pages of the site, one module per page kind, and the files they share.

Each module holds its page's context type, the function that builds it, the digest of
its inputs (incremental builds) and its template candidates, and exposes one ``KIND``.
To add a page: write such a module and its template, then list it in :data:`PARTS`.
"""

from __future__ import annotations

from typing import Any

from . import (
    assets,
    bundles,
    compare,
    dataset,
    datasets_index,
    experiment,
    home,
    model,
    model_version,
    models_index,
    not_found,
    project,
    projects_index,
    run,
)
from .base import PageKind, Part

#: Every page kind, in build order (a version's page reads its model folder in full,
#: which the model page then reuses).
KINDS: tuple[PageKind[Any], ...] = (
    home.KIND,
    compare.KIND,
    not_found.KIND,
    experiment.KIND,
    run.KIND,
    models_index.KIND,
    model_version.KIND,
    model.KIND,
    projects_index.KIND,
    project.KIND,
    datasets_index.KIND,
    dataset.KIND,
)
#: Everything a build writes: shared files, redirects and the pages.
PARTS: tuple[Part[Any], ...] = (
    assets.STATIC,
    assets.CHART_SPECS,
    bundles.RUN_SCRIPTS,
    assets.SEARCH,
    experiment.ALIASES,
    experiment.CHUNKS,
    *KINDS,
)

__all__ = ["KINDS", "PARTS"]
