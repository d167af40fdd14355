"""Render a page context with the theme's Jinja environment (sandboxed, strict)."""

from __future__ import annotations

import traceback
from typing import Any, Protocol

import jinja2
from jinja2.sandbox import SecurityError

from ..errors import SiteBuildError
from .filters import FILTERS
from .loader import Theme, make_environment


class Renderable(Protocol):
    """What a template is rendered from: a page context (``pages.base.PageContext``)."""

    @property
    def page_path(self) -> str: ...

    def as_dict(self) -> dict[str, Any]: ...


def environment(theme: Theme) -> jinja2.Environment:
    """The Jinja environment of ``theme``, with the site's filters."""
    env = make_environment(theme)
    env.filters.update(FILTERS)
    return env


#: What a broken (or hostile) template can raise while it renders.
_RENDER_ERRORS = (
    jinja2.TemplateError,
    TypeError,
    ValueError,
    LookupError,
    AttributeError,
    ArithmeticError,
    RecursionError,
)


def render(env: jinja2.Environment, candidates: list[str], ctx: Renderable) -> bytes:
    """Render the first existing template of ``candidates``; any failure fails the build.

    A template that tries what the sandbox forbids (Python internals, unsafe calls) fails
    with a one-line error naming that template's file and line.
    """
    try:
        template = env.select_template(candidates)
        return template.render(ctx.as_dict()).encode("utf-8")
    except SecurityError as e:
        raise SiteBuildError(
            f"Cannot render {ctx.page_path}: the template {_where(e)} tried what a theme may "
            f"not do ({str(e).rstrip('.')}); templates render in a sandbox "
            "(see docs/SITE.md, Themes)."
        ) from e
    except _RENDER_ERRORS as e:
        raise SiteBuildError(
            f"Cannot render {ctx.page_path} from {candidates[0]} ({_where(e)}): "
            f"{type(e).__name__}: {e}"
        ) from e


def _where(e: Exception) -> str:
    """``file:line`` of the template the error ``e`` comes from (the innermost one)."""
    if isinstance(e, jinja2.TemplateSyntaxError):
        return f"{e.filename}:{e.lineno}"
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if not f.filename.endswith(".py") and not f.filename.startswith("<")
    ]  # Jinja names the frames of template code after the template's file
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown template"
