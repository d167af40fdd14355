"""Helpers of the end-to-end site tests: a static HTTP server, watched Chromium pages.

``Pages.open(base, path)`` opens a page of a site in Debian's Chromium and watches it:
a console error, a page error, a failed request (or a response of status 400 and
above), a request outside ``base`` (the site's own folder or URL) and any dialog (a
payload that ran) are problems; the ``pages`` fixture fails the test at teardown on
any the test did not take off the list.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_STORE = ROOT / "sample_runs" / "store"
#: Where the sample site is put, below a temp folder that is served: a project site.
SUBPATH = "sub/project/"

CLASSIFICATION = "breast-cancer-classification"
REGRESSION = "diabetes-regression"
CURVES = "training-curves"


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, threading.Thread]:
    """An ``http.server`` for ``folder`` on 127.0.0.1 (a free port), running in a thread."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    return httpd, thread


def sample_copy(folder: Path) -> Path:
    """A copy of the sample store in ``folder`` (outside any git repository), to build.

    In place, the model pages would show the registry's history from this repository's
    own log, which changes with every commit (and with a shallow clone); a store outside
    git shows none, so the site's bytes depend on the store's files only."""
    store = folder / "store"
    shutil.copytree(SAMPLE_STORE, store, ignore=shutil.ignore_patterns(".cache"))
    return store


def site_base(site: Path) -> str:
    """The ``file://`` URL of a site folder, ending in ``/``."""
    return site.as_uri() + "/"


@dataclass
class Watch:
    """What went wrong on the pages of one test; ``allowed`` is the site's URL prefix."""

    allowed: str = ""
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    #: Problems a test expects (e.g. an image the hostile Markdown keeps): never recorded,
    #: however late the browser reports them.
    ignored: list[Callable[[str], bool]] = field(default_factory=list)

    def attach(self, page: Any) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda err: self.problem(f"page error: {err}"))
        page.on("requestfailed", self._failed)
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("dialog", self._dialog)

    def problem(self, text: str) -> None:
        """Record ``text`` as a problem of the page, unless the test expects it."""
        if not any(expected(text) for expected in self.ignored):
            self.problems.append(text)

    def _console(self, message: Any) -> None:
        if message.type == "error":
            self.problem(f"console error: {message.text} ({message.location})")

    def _failed(self, request: Any) -> None:
        if request.failure == "net::ERR_ABORTED":
            return  # cancelled by the page navigating away (a missing file is ERR_FILE_NOT_FOUND)
        self.problem(f"failed request: {request.url} ({request.failure})")

    def _request(self, request: Any) -> None:
        self.requests.append(request.url)
        if not request.url.startswith(self.allowed):
            self.problem(f"request outside {self.allowed}: {request.url}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.problem(f"HTTP {response.status}: {response.url}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        self.problems.append(f"dialog opened (a script ran): {dialog.type} {dialog.message!r}")
        dialog.dismiss()


class Pages:
    """Opens watched pages in one browser context."""

    def __init__(self, context: Any, watch: Watch) -> None:
        self.context = context
        self.watch = watch

    def open(self, base: str, path: str) -> Any:
        """Open ``base + path`` (``path`` may end in ``?query``); only ``base`` may be asked."""
        self.watch.allowed = base
        page = self.context.new_page()
        self.watch.attach(page)
        page.goto(base + path)
        return page


def draw_charts(page: Any, selector: str) -> int:
    """Bring each chart holder matching ``selector`` into view and wait until it is done.

    Charts are drawn when they come near the viewport; a holder is done when it has
    Vega's marks or a note saying why not. Returns how many have marks.
    """
    holders = page.locator(selector)
    for i in range(holders.count()):
        holder = holders.nth(i)
        holder.scroll_into_view_if_needed()
        page.wait_for_function(
            "(el) => el.querySelector('.marks, .mt-note')", arg=holder.element_handle()
        )
    return int(
        page.eval_on_selector_all(
            selector, "els => els.filter((e) => e.querySelector('.marks')).length"
        )
    )


def settle(page: Any) -> None:
    """Scroll to the end (lazy images start loading) and wait until every image is done."""
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_function("Array.from(document.images).every((img) => img.complete)")
