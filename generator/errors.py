"""The generator's error: the site cannot be built as asked."""

from __future__ import annotations

from mltrail.errors import MltrailError


class SiteBuildError(MltrailError):
    """The site cannot be built as asked (config, theme, template or page problem)."""
