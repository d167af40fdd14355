"""Markdown from the store (descriptions, ``.md`` artifacts) → sanitized HTML.

Rendered with ``markdown`` and cleaned by ``nh3`` (ammonia) with an allow-list: no
scripts, no event handlers, no style attributes, only http(s)/mailto and relative URLs.
Relative URLs can be rebased (a Markdown artifact's images live beside it, not beside
the page that shows it); ``/``-rooted and protocol-relative URLs are dropped, since
the site never links outside itself by such paths.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import markdown as md
import nh3
from markupsafe import Markup

_EXTENSIONS = ("tables", "fenced_code", "sane_lists")
_TAGS = frozenset(
    {
        *("a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl"),
        *("dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd"),
        *("li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub"),
        *("summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul"),
    }
)
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"align"},
    "th": {"align"},
    "ol": {"start"},
    "abbr": {"title"},
}
_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def render_markdown(
    text: str,
    *,
    link_base: str = "",
    top_heading: int = 2,
    links: Callable[[str], str | None] | None = None,
) -> Markup:
    """``text`` as safe HTML; relative links and images are prefixed with ``link_base``,
    or, when ``links`` is given, replaced by what it returns (None: the link is dropped).

    Headings are shifted so that ``#`` becomes ``<h{top_heading}>`` (a page has one h1).
    """
    if not text.strip():
        return Markup("")
    html = md.markdown(
        text,
        extensions=[*_EXTENSIONS, "toc"],
        extension_configs={"toc": {"baselevel": top_heading}},
        output_format="html",
    )

    def rebase(element: str, attribute: str, value: str) -> str | None:
        if attribute not in ("href", "src"):
            return value
        return _rebase_url(value, link_base, links)

    clean = nh3.clean(
        html,
        tags=set(_TAGS),
        attributes={k: set(v) for k, v in _ATTRIBUTES.items()},
        attribute_filter=rebase,
        url_schemes=set(_URL_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(clean)  # safe: sanitized by nh3 just above


def _rebase_url(
    value: str, base: str, links: Callable[[str], str | None] | None = None
) -> str | None:
    url = value.strip()
    if url.startswith("#"):
        return url
    if url.startswith(("/", "\\")):
        return None  # /-rooted or protocol-relative: never in this site
    parts = urlsplit(url)
    if parts.scheme:
        return url if parts.scheme.lower() in _URL_SCHEMES else None
    return links(url) if links is not None else base + url
