"""What a store may point at: files inside its own folders, and links a browser only follows.

A store is shared (clones, pull requests built by CI), so its site config and themes are
treated as hostile input: a path is resolved (``..`` and symlinks followed) before it is
checked to stay inside the folder it belongs to, and a link must be a relative path or an
``http(s)://`` URL, judged the way a browser parses it.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

#: A URL scheme as a browser reads it (case-insensitive), before the first ``:``.
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_WEB_SCHEMES = ("http", "https")
#: Control characters, which a browser strips or drops from a URL (so they could hide a
#: scheme), and the backslash it reads as ``/`` (so ``\\host`` is another site).
_REFUSED = re.compile(r"[\x00-\x1f\x7f\\]")


class OutsideError(ValueError):
    """A path resolves outside the folder it must stay in (the message says where)."""


def resolve_inside(path: Path, root: Path) -> Path:
    """``path`` resolved (``..`` and symlinks followed); OutsideError if not inside ``root``.

    Example:
        >>> resolve_inside(Path("/srv/store/logo.png"), Path("/srv/store")).name
        'logo.png'
    """
    real = path.resolve()
    base = root.resolve()
    if real != base and base not in real.parents:
        shown = f"{path} resolves to {real}," if real != path.absolute() else f"{path} is"
        raise OutsideError(f"{shown} outside {base}")
    return real


def web_link(url: str) -> str | None:
    """``url`` if a browser would read it as a relative path or an http(s) URL, else None.

    Refused: any other scheme in any case (``javascript:``, ``data:``, ``vbscript:``),
    a path from the host's root (``/x``) or another host (``//evil``), backslashes,
    control characters and spaces at either end. An http(s) scheme is lower-cased.

    Example:
        >>> web_link("HTTPS://example.com/x"), web_link("docs/a.html"), web_link("JaVaScRiPt:x")
        ('https://example.com/x', 'docs/a.html', None)
    """
    if not url or url != url.strip() or _REFUSED.search(url):
        return None
    scheme = _SCHEME.match(url)
    if scheme is None:
        return None if url.startswith("/") else url
    name = scheme.group(1).lower()
    rest = url[scheme.end() :]
    if name not in _WEB_SCHEMES or not rest.startswith("//") or not urlsplit(rest).netloc:
        return None
    return f"{name}:{rest}"


def relative_folder(text: str) -> str | None:
    """``text`` as a normal relative POSIX path (``"."`` for the folder itself), or None
    when it is absolute, leaves its folder (``..``) or holds a backslash or a control
    character. Only the text is judged: nothing is looked up.

    Example:
        >>> relative_folder("./docs/guide/"), relative_folder("."), relative_folder("../x")
        ('docs/guide', '.', None)
        >>> relative_folder("/etc"), relative_folder("a/../../b")
        (None, None)
    """
    if not text.strip() or text.startswith("/") or _REFUSED.search(text):
        return None
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if ".." in parts:
        return None
    return "/".join(parts) or "."


def join_folder(folder: str, relative: str) -> str:
    """Two normal relative POSIX paths (see :func:`relative_folder`) joined.

    Example:
        >>> join_folder(".", "docs"), join_folder("sub", "."), join_folder("sub", "docs")
        ('docs', 'sub', 'sub/docs')
    """
    if folder == ".":
        return relative
    return folder if relative == "." else f"{folder}/{relative}"
