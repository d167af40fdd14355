"""``--site``: the store's static site, served from its built folder at ``/``."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import unquote

from mltrail.server.asgi import ENDPOINT_NOT_FOUND, ApiError, Response


def answer(root: Path, path: str) -> Response:
    """The file of the site at URL ``path`` (a folder's ``index.html``); 404 outside it."""
    base = root.resolve()
    target = (base / unquote(path).lstrip("/")).resolve()
    if target != base and base not in target.parents:
        raise ApiError(f"No page {path}.", 404, ENDPOINT_NOT_FOUND)
    if target.is_dir():
        target = target / "index.html"
    if not target.is_file():
        raise ApiError(f"No page {path}.", 404, ENDPOINT_NOT_FOUND)
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return Response(200, target.read_bytes(), kind.encode())
