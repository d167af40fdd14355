"""Which store the API talks to, and facts about the running process.

The tracking URI is chosen by ``set_tracking_uri``, else ``MLTRAIL_TRACKING_URI``,
else the nearest store found by walking up from the working directory, else a new
``./runs`` store (created on first use, as MLflow creates ``./mlruns``).
"""

from __future__ import annotations

import atexit
import functools
import getpass
import os
import platform
import socket
import sys
import threading
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mltrail.errors import InvalidParameterValue, StoreError

_explicit_uri: str | None = None
_stores: dict[Path, Any] = {}
#: The same stores by the absolute path they were asked for (before symlinks resolve).
_stores_by_given: dict[str, Any] = {}
_stores_lock = threading.Lock()


#: URI schemes of MLflow's tracking backends (``postgresql+psycopg2`` counts as postgresql).
_MLFLOW_BACKENDS = frozenset(
    {"sqlite", "postgresql", "postgres", "mysql", "mssql", "http", "https", "databricks"}
)


def _without_password(text: str, parts: Any) -> str:
    """``text`` (a URI) with any password replaced by ``***`` (it is shown in an error)."""
    if parts.password is None:
        return text
    return text.replace(f":{parts.password}@", ":***@", 1)


def uri_to_path(uri: str | os.PathLike[str]) -> Path:
    """A store folder from a path or ``file://`` URI; any other scheme is an error."""
    text = os.fspath(uri)
    if not text:
        raise InvalidParameterValue(
            "Empty tracking URI: give a store folder path or a file:// URI."
        )
    parts = urlsplit(text)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidParameterValue(
                f"Unsupported tracking URI {text!r}: file URIs must be local."
            )
        return Path(unquote(parts.path)).expanduser().absolute()
    if parts.scheme and len(parts.scheme) > 1:
        scheme = parts.scheme.lower().split("+")[0]
        if scheme in _MLFLOW_BACKENDS:
            shown = _without_password(text, parts)
            raise InvalidParameterValue(
                f"Unsupported tracking URI {shown!r}: mltrail stores are folders in git, not "
                "MLflow databases or servers; bring those runs into a store with "
                f"`mltrail import mlflow {shown}`, then use the store's path (such as ./runs); "
                "`mltrail server` serves a store to clients that speak only MLflow's REST API."
            )
        raise InvalidParameterValue(
            f"Unsupported tracking URI {text!r}: mltrail stores are folders; "
            "use a path such as ./runs or a file:// URI."
        )
    return Path(text).expanduser().absolute()


def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    global _explicit_uri
    uri_to_path(uri)
    _explicit_uri = os.fspath(uri)


def reset_tracking_uri() -> None:
    global _explicit_uri
    _explicit_uri = None


def store_root(create: bool = True) -> Path:
    """The root of the store in use (see the module docstring for the order)."""
    from mltrail.store import find_store, layout

    uri = _explicit_uri or os.environ.get("MLTRAIL_TRACKING_URI")
    if uri:
        return uri_to_path(uri)
    found = find_store(Path.cwd())
    if found is not None:
        return found
    if not create:
        raise StoreError(
            "No mltrail store here or in any parent folder; create one with `mltrail init`."
        )
    return Path.cwd() / layout.DEFAULT_STORE_DIRNAME


def get_tracking_uri() -> str:
    return store_root().as_uri()


def get_store(root: Path | None = None, create: bool = True) -> Any:
    """The FileStore for ``root`` (default: the one in use), opened once per process."""
    from mltrail.store import FileStore, init_store, is_store

    given = os.path.abspath(root or store_root(create))
    store = _stores_by_given.get(given)  # skips resolve()'s stat per path component
    if store is not None:
        return store
    path = Path(given).resolve()
    with _stores_lock:
        store = _stores.get(path)
        if store is None:
            store = FileStore(path) if is_store(path) or not create else init_store(path)[0]
            _stores[path] = store
        _stores_by_given[given] = store
    return store


def flush_all(timeout: float | None = None) -> bool:
    """Wait for every store's background commits (called at exit)."""
    return all([s.flush(timeout) for s in list(_stores.values())])


def close_all() -> None:
    for store in list(_stores.values()):
        store.close()


def current_user() -> str:
    env = os.environ.get("MLTRAIL_USER")
    if env:
        return env
    return _login()


@functools.cache
def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


@functools.lru_cache(maxsize=8)
def source_record(store_path: Path) -> tuple[dict[str, Any], str]:
    """What a run records of its source, and the uncommitted diff (computed once)."""
    from mltrail import git

    script = Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0] not in ("", "-c") else None
    where = script.parent if script is not None and script.is_file() else Path.cwd()
    info = git.source_info(where, exclude=store_path)
    name = (
        str(script)
        if script is not None and script.is_file()
        else (sys.argv[0] if sys.argv else "")
    )
    repo = git.find_repo_root(where)
    if script is not None and repo is not None and script.is_relative_to(repo):
        name = script.relative_to(repo).as_posix()
    rec: dict[str, Any] = {
        "name": name or "<interactive>",
        "type": "LOCAL",
        "host": socket.gethostname(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    if info is not None:
        rec.update(
            git_commit=info.commit,
            git_branch=info.branch,
            git_repo_url=info.remote_url,
            git_dirty=info.dirty,
        )
    return rec, info.diff if info is not None and info.dirty else ""


atexit.register(close_all)
