"""Jinja filters of the site's templates, and the presentation helpers they share.

Times are formatted in UTC so that the same store gives the same bytes anywhere
(``<time datetime=...>`` carries the exact instant for the client to localize).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup

_SHA = re.compile(r"[0-9a-fA-F]{7,64}")
_SCP_LIKE = re.compile(r"^(?:[\w.-]+@)?([\w.-]+):(?!//)(.+)$")
_WEB_HOSTS = {
    "github.com": "{base}/commit/{sha}",
    "gitlab.com": "{base}/-/commit/{sha}",
    "bitbucket.org": "{base}/commits/{sha}",
}


def datetime_utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def iso_time(ms: int | None) -> str:
    if ms is None:
        return ""
    moment = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def duration(ms: int | None) -> str:
    """850ms, 12.3s, 4m 05s, 2h 03m, 3d 4h (as the client code writes them)."""
    if ms is None:
        return "—"
    if ms < 1000:
        return f"{ms}ms"
    s = ms / 1000
    if s < 60:
        return f"{s:.1f}s"
    m = int(s // 60)
    if m < 60:
        return f"{m}m {int(s % 60):02d}s"
    h = m // 60
    if h < 24:
        return f"{h}h {m % 60:02d}m"
    return f"{h // 24}d {h % 24}h"


def number(value: float | int | None) -> str:
    """At most 6 significant digits; NaN and infinities spelled out."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if value != 0 and (abs(value) < 1e-4 or abs(value) >= 1e15):
        return f"{value:.4e}"
    return f"{float(f'{value:.6g}')!r}"


def filesize(size: int | None) -> str:
    if size is None:
        return ""
    amount = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if amount < 1024 or unit == "GB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    return f"{size} B"  # pragma: no cover


def short_sha(sha: str | None) -> str:
    return (sha or "")[:8]


def commit_url(repo_url: str | None, sha: str | None) -> str | None:
    """The web page of commit ``sha`` when ``repo_url`` is on GitHub, GitLab or Bitbucket."""
    if not repo_url or not sha or not _SHA.fullmatch(sha):
        return None
    parts = urlsplit(repo_url)
    if parts.scheme in ("https", "http", "ssh", "git"):
        host, path = (parts.hostname or "").lower(), parts.path
    else:
        match = _SCP_LIKE.match(repo_url)
        if match is None:
            return None
        host, path = match.group(1).lower(), match.group(2)
    template = _WEB_HOSTS.get(host)
    path = path.strip("/").removesuffix(".git")
    segments = [s for s in path.split("/") if s]
    if template is None or len(segments) < 2 or any(s in (".", "..") for s in segments):
        return None
    base = f"https://{host}/" + "/".join(quote(s, safe="") for s in segments)
    return template.format(base=base, sha=sha.lower())


def highlight(text: str, lexer_name: str) -> Markup:
    """``text`` as highlighted HTML (Pygments escapes it); plain ``<pre>`` for "text"."""
    from pygments import highlight as pyg_highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lexer_name, stripnl=False, ensurenl=False)
    except ClassNotFound:
        lexer = get_lexer_by_name("text", stripnl=False, ensurenl=False)
    return Markup(pyg_highlight(text, lexer, HtmlFormatter(cssclass="highlight")))


def highlight_css() -> str:
    """Stylesheet of the highlighting classes: a light style, and a dark one on request."""
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style="default").get_style_defs(".highlight")
    dark = HtmlFormatter(style="monokai").get_style_defs(".highlight")
    indented = "\n".join("  " + line for line in dark.splitlines())
    return f"{light}\n@media (prefers-color-scheme: dark) {{\n{indented}\n}}\n"


FILTERS: dict[str, Callable[..., Any]] = {
    "datetime": datetime_utc,
    "isotime": iso_time,
    "duration": duration,
    "number": number,
    "filesize": filesize,
    "short_sha": short_sha,
}
