"""The copyable snippets of the model pages: the one place their text lives.

mltrail has no serve command yet, so the serve snippet runs MLflow's server on the model
folder (it is in MLflow's format). When ``mltrail models serve`` lands, change
``SERVE`` and ``SERVE_NOTE`` here and nothing else.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from .base import doc


@dataclass(frozen=True)
class Snippet:
    id: str = doc("id of the element holding the code (unique in the page)")
    title: str = doc("what it does")
    language: str = doc("python or shell")
    code: str = doc("the text to copy")


LOAD = """import mltrail
model = mltrail.pyfunc.load_model({uri})"""
SERVE = "mlflow models serve -m {folder} --env-manager local"
SERVE_NOTE = (
    "mltrail has no serve command yet. The model folder is in MLflow's format, so MLflow "
    "serves it: run this in the store's folder, where the path leads, with mlflow installed."
)


def _python_text(text: str) -> str:
    """A double-quoted Python string literal (JSON's form is one)."""
    return json.dumps(text, ensure_ascii=False)


def load_snippet(
    snippet_id: str, name: str, version: int | None = None, alias: str = ""
) -> Snippet:
    """Code loading ``models:/<name>/<version>`` or ``models:/<name>@<alias>``."""
    uri = f"models:/{name}@{alias}" if alias else f"models:/{name}/{version}"
    title = f"Load alias @{alias}" if alias else f"Load version {version}"
    return Snippet(snippet_id, title, "python", LOAD.format(uri=_python_text(uri)))


def serve_snippet(snippet_id: str, version: int, folder: str) -> Snippet:
    """The command serving the model folder ``folder`` (relative to the store root)."""
    return Snippet(
        snippet_id, f"Serve version {version}", "shell", SERVE.format(folder=shlex.quote(folder))
    )


def version_snippets(
    name: str, version: int, aliases: tuple[str, ...], folder: str | None
) -> tuple[Snippet, ...]:
    """Load by number, load by each alias, serve: ids ``snippet-1``, ``snippet-2`` ..."""
    found = [load_snippet("", name, version)]
    found += [load_snippet("", name, alias=a) for a in aliases]
    if folder is not None:
        found.append(serve_snippet("", version, folder))
    return tuple(
        Snippet(f"snippet-{i}", s.title, s.language, s.code) for i, s in enumerate(found, 1)
    )
