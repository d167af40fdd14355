"""MLflow interoperability: ``mltrail import mlflow`` and ``mltrail export mlflow``.

mltrail never imports MLflow: its stores are read as files (a file store), with
``sqlite3`` (a SQLite database) or over HTTP (a tracking server), and written back as
an MLflow file store. See docs/INTEROP.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mltrail.interop.importer import Progress, import_source
from mltrail.interop.records import Source, SourceError
from mltrail.interop.report import ImportReport

if TYPE_CHECKING:
    from mltrail.store import FileStore

__all__ = ["ImportReport", "SourceError", "import_mlflow", "open_source"]


def open_source(text: str) -> Source:
    """The MLflow store ``text`` names: a file store folder (a path or ``file://`` URI),
    a ``sqlite:///`` database, or an ``http(s)://`` tracking server.

    Raises:
        SourceError: it is none of these, or cannot be read.
    """
    if text.startswith(("http://", "https://")):
        from mltrail.interop.rest import RestSource

        return RestSource(text)
    if text.startswith("sqlite:"):
        from mltrail.interop.sqlite import SqliteSource

        return SqliteSource(text)
    if "://" in text and not text.startswith("file://"):
        raise SourceError(
            f"{text}: not an MLflow store mltrail reads; give an mlruns/ folder, a "
            "sqlite:/// database or an http(s):// tracking server."
        )
    from urllib.parse import unquote, urlparse

    from mltrail.interop.filestore import FileStoreSource

    path = Path(unquote(urlparse(text).path)) if text.startswith("file://") else Path(text)
    if path.is_file():
        raise SourceError(
            f"{text}: a file, not an MLflow store; for a SQLite database write sqlite:///{path}."
        )
    return FileStoreSource(path)


def import_mlflow(
    store: FileStore,
    source: str,
    experiments: Sequence[str] = (),
    progress: Progress | None = None,
) -> ImportReport:
    """Import the MLflow store ``source`` (see :func:`open_source`) into ``store``.

    Args:
        store: the mltrail store written to.
        source: the MLflow store read.
        experiments: only these experiments (by name), and then no registry.
        progress: called with (runs done, runs in all) as the import goes.

    Returns:
        What came across and what could not, with why.

    Example:
        >>> import mltrail, mltrail.interop
        >>> try:
        ...     mltrail.interop.import_mlflow(mltrail.Client().store, "no/such/mlruns")
        ... except mltrail.interop.SourceError as e:
        ...     print(e)
        no/such/mlruns: no such folder (an MLflow file store is a folder).
    """
    opened = open_source(source)
    try:
        return import_source(store, opened, experiments, progress)
    finally:
        opened.close()
