"""The copyable snippets of the model pages: the one place their text lives.

A version is loaded by its registry URI in Python, served by ``mltrail models serve`` and,
when it was saved with an input example, asked for predictions with ``curl``: the example's
request body (``serving_input_example.json``) inline when it is short, else sent from its
file in the model folder (a path from the store's folder, where the note says to run them).
Everything from the store is quoted for its language (a Python string literal, a shell
word); the templates escape it for HTML.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass

from ..gather.modelfiles import ModelFiles
from .base import doc


@dataclass(frozen=True)
class Snippet:
    id: str = doc("id of the element holding the code (unique in the page)")
    title: str = doc("what it does")
    language: str = doc("python or shell")
    code: str = doc("the text to copy")


LOAD = """import mltrail
model = mltrail.pyfunc.load_model({uri})"""
#: The port of the serve and curl snippets (``mltrail models serve``'s default).
PORT = 5000
SERVE = "mltrail models serve -m {uri} -p {port}"
QUERY = (
    "curl -X POST http://127.0.0.1:{port}/invocations "
    "-H 'Content-Type: application/json' --data {data}"
)
#: A request body up to this many characters is written into the curl command; a longer
#: one is sent from its file (``--data @path``).
INLINE_BODY_CHARS = 400
SERVE_NOTE = (
    "Run the commands in the store's folder (or give mltrail models serve --store PATH), "
    "with mltrail installed. The request sends the version's input example, from its file "
    "in the model folder when it is long."
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


def serve_snippet(snippet_id: str, name: str, version: int) -> Snippet:
    """The command serving ``models:/<name>/<version>`` on :data:`PORT`."""
    uri = shlex.quote(f"models:/{name}/{version}")
    return Snippet(
        snippet_id, f"Serve version {version}", "shell", SERVE.format(uri=uri, port=PORT)
    )


def query_snippet(snippet_id: str, version: int, body: str, file: str) -> Snippet:
    """``curl`` sending the request ``body`` (one line of JSON) to the served version: inline
    when short, else from ``file`` (its path from the store's folder)."""
    data = body if len(body) <= INLINE_BODY_CHARS else f"@{file}"
    code = QUERY.format(port=PORT, data=shlex.quote(data))
    return Snippet(snippet_id, f"Predict with version {version}", "shell", code)


def version_snippets(
    name: str,
    version: int,
    aliases: tuple[str, ...],
    folder: str | None,
    files: ModelFiles | None = None,
) -> tuple[Snippet, ...]:
    """Load by number, load by each alias, serve, predict (when ``files`` has a request
    example): ids ``snippet-1``, ``snippet-2`` ..."""
    found = [load_snippet("", name, version)]
    found += [load_snippet("", name, alias=a) for a in aliases]
    if folder is not None:
        found.append(serve_snippet("", name, version))
        if files is not None and files.serving_example and files.serving_example_path:
            file = f"{folder.rstrip('/')}/{files.serving_example_path}"
            found.append(query_snippet("", version, files.serving_example, file))
    return tuple(
        Snippet(f"snippet-{i}", s.title, s.language, s.code) for i, s in enumerate(found, 1)
    )
