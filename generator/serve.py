"""``mltrail ui``: build the site, serve it on loopback, rebuild when the store changes.

The server is the standard library's ``http.server`` in a thread; the main thread polls
the store (a walk of file sizes and times: no reads) and rebuilds incrementally when
it changes. A failed rebuild is logged and the last good site stays up.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from generator import urls
from generator.build import BuildSummary, build_site
from mltrail.errors import MltrailError

log = logging.getLogger(__name__)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files of the site; the site's own 404 page; quiet logging."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        page = Path(self.directory) / urls.NOT_FOUND
        if code != 404 or not page.is_file():
            super().send_error(code, message, explain)
            return
        body = page.read_bytes()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def tree_fingerprint(paths: Iterable[Path]) -> str:
    """A digest of the names, sizes and times of every file under ``paths``.

    Folders and files whose names start with ``.`` (``.git``, ``.cache``, temporary
    writes) are skipped.
    """
    h = hashlib.sha256()
    for base in paths:
        if base.is_file():
            st = base.stat()
            h.update(f"{base}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
            continue
        for root, dirs, files in os.walk(base):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith("."):
                    continue
                try:
                    st = os.stat(os.path.join(root, name))
                except FileNotFoundError:
                    continue
                h.update(f"{root}/{name}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


class SiteServer:
    """A built site served over HTTP, rebuilt by :meth:`check` when its inputs change."""

    def __init__(
        self,
        store: Path,
        out: Path,
        *,
        host: str = "127.0.0.1",
        port: int = 5000,
        watch: Iterable[Path] = (),
        build: Callable[[], BuildSummary] | None = None,
    ) -> None:
        self.store = store
        self.out = out
        self.watch = (store, *watch)
        self._build = build or functools.partial(build_site, store, out)
        self._fingerprint = ""
        handler = functools.partial(_Handler, directory=str(out))
        self.httpd = http.server.ThreadingHTTPServer((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/{urls.INDEX}"

    def rebuild(self) -> BuildSummary:
        self._fingerprint = tree_fingerprint(self.watch)
        return self._build()

    def start(self) -> BuildSummary:
        """Build, then serve in a background thread."""
        summary = self.rebuild()
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, name="mltrail-ui", daemon=True
        )
        self._thread.start()
        return summary

    def check(self) -> BuildSummary | None:
        """Rebuild if the store changed since the last build; None if it did not."""
        if tree_fingerprint(self.watch) == self._fingerprint:
            return None
        try:
            return self.rebuild()
        except MltrailError as e:
            log.error("Rebuild failed (the last good site is still served): %s", e)
            return None

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def watch_forever(self, on_rebuild: Callable[[BuildSummary], None]) -> None:
        """Poll until Ctrl-C; the pause adapts to how long a poll takes on a big store."""
        try:
            while True:
                started = time.monotonic()
                summary = self.check()
                if summary is not None:
                    on_rebuild(summary)
                time.sleep(max(1.0, 4 * (time.monotonic() - started)))
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


def default_output(store: Path) -> Path:
    """Where ``mltrail ui`` keeps the site of ``store`` (a user cache, outside the store)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:16]
    return cache / "mltrail" / "sites" / key
