"""PUBLISH: builds the static site from a store snapshot (docs/SITE.md).

``build_site(store, out, ...)`` gathers the store into records, then writes the pages,
data files and assets; it returns a :class:`BuildSummary`.
"""

from .pipeline import BuildSummary, build_site

__all__ = ["BuildSummary", "build_site"]
