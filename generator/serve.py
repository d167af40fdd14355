"""``mltrail ui``: build the site, serve it on loopback, rebuild when the store changes.

The server is the standard library's ``http.server`` in a thread; the main thread polls
the store (a walk of file sizes and times: no reads) and rebuilds incrementally when
it changes. A failed rebuild is logged and the last good site stays up.

Only requests naming the server in their ``Host`` header are answered (see
:class:`HostCheck`): a web page the user opens elsewhere cannot point its own domain at
127.0.0.1 (DNS rebinding) and read the dashboard.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import ipaddress
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mltrail.errors import MltrailError

from . import urls
from .pipeline import BuildSummary, build_site

log = logging.getLogger(__name__)


_LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class HostCheck:
    """Which ``Host`` headers a server bound to ``address`` (as given, and as bound) answers.

    Always the address itself with the port; on loopback also ``localhost``,
    ``127.0.0.1`` and ``[::1]``; on all interfaces (``0.0.0.0``, ``::``) any IP address,
    ``localhost`` and this machine's names. A domain name only resolves to the server by
    the user's choice, so a page of another site can never pass.
    """

    names: tuple[str, ...]
    port: int
    any_ip: bool = False

    @staticmethod
    def for_address(given: str, bound: str, port: int) -> HostCheck:
        names = {_bare(given), _bare(bound)}
        ips = [_ip(n) for n in names]
        if any(ip is not None and ip.is_loopback for ip in ips) or "localhost" in names:
            names.update(_LOOPBACK_NAMES)
        any_ip = any(ip is not None and ip.is_unspecified for ip in ips)
        if any_ip:
            names.update(("localhost", socket.gethostname().lower(), socket.getfqdn().lower()))
        return HostCheck(tuple(sorted(names)), port, any_ip)

    def allows(self, header: str | None) -> bool:
        """Whether a request with this ``Host`` header (None: without one) is answered."""
        if not header:
            return False
        name, _, port = header.strip().lower().rpartition(":")
        if not name or "]" in port:  # no port given: the default one
            name, port = header.strip().lower(), "80"
        if port != str(self.port):
            return False
        name = _bare(name)
        ip = _ip(name)
        return name in self.names or (self.any_ip and ip is not None)


def _bare(name: str) -> str:
    """A host name without IPv6 brackets or a final dot, lower-cased."""
    return name.lower().removeprefix("[").removesuffix("]").removesuffix(".")


def _ip(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name)
    except ValueError:
        return None


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Static files of the site; the site's own 404 page; quiet logging; a Host check."""

    def parse_request(self) -> bool:
        if not super().parse_request():
            return False
        assert isinstance(self.server, _Server)
        hosts = self.headers.get_all("Host") or []
        if len(hosts) == 1 and self.server.hosts.allows(hosts[0]):
            return True
        log.warning("Refused a request naming another host (Host: %r)", hosts)
        self._refuse()
        return False

    def _refuse(self) -> None:
        """403, a short plain message, and the connection closed."""
        body = (
            b"Forbidden: this is mltrail ui's local server; it answers only requests for "
            b"its own address (the Host header named another).\n"
        )
        self.close_connection = True
        self.send_response(403)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

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


class _Server(http.server.ThreadingHTTPServer):
    """The HTTP server, with the Host check of the address it is bound to."""

    def __init__(self, address: tuple[str, int], handler: Callable[..., _Handler]) -> None:
        super().__init__(address, handler)
        bound, port = self.server_address[:2]
        name = bound.decode() if isinstance(bound, bytes) else str(bound)
        self.hosts = HostCheck.for_address(address[0], name, port)


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


class Rebuilder:
    """Builds the site of ``store`` into ``out`` again whenever its inputs change."""

    def __init__(
        self,
        store: Path,
        out: Path,
        *,
        watch: Iterable[Path] = (),
        build: Callable[[], BuildSummary] | None = None,
    ) -> None:
        self.watch = (store, *watch)
        self._build = build or functools.partial(build_site, store, out)
        self._fingerprint = ""

    def rebuild(self) -> BuildSummary:
        self._fingerprint = tree_fingerprint(self.watch)
        return self._build()

    def check(self) -> BuildSummary | None:
        """Rebuild if the store changed since the last build; None if it did not."""
        if tree_fingerprint(self.watch) == self._fingerprint:
            return None
        try:
            return self.rebuild()
        except MltrailError as e:
            log.error("Rebuild failed (the last good site is still served): %s", e)
            return None

    def poll(
        self, on_rebuild: Callable[[BuildSummary], None], stop: threading.Event | None = None
    ) -> None:
        """Check until ``stop`` is set; the pause adapts to how long a check takes on a
        big store (at least a second, four times the last check)."""
        stop = stop or threading.Event()
        while not stop.is_set():
            started = time.monotonic()
            summary = self.check()
            if summary is not None:
                on_rebuild(summary)
            stop.wait(max(1.0, 4 * (time.monotonic() - started)))


def rebuild_in_background(store: Path, out: Path) -> threading.Event:
    """Build the site of ``store`` into ``out`` now, then keep it current from a daemon
    thread (``mltrail server --site``); set the returned event to stop it."""
    rebuilder = Rebuilder(store, out)
    rebuilder.rebuild()
    stop = threading.Event()
    thread = threading.Thread(
        target=rebuilder.poll,
        args=(lambda s: log.info("site rebuilt: %s", s.describe()), stop),
        name="mltrail-site",
        daemon=True,
    )
    thread.start()
    return stop


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
        self.rebuilder = Rebuilder(store, out, watch=watch, build=build)
        handler = functools.partial(_Handler, directory=str(out))
        self.httpd = _Server((host, port), handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}/{urls.INDEX}"

    def rebuild(self) -> BuildSummary:
        return self.rebuilder.rebuild()

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
        return self.rebuilder.check()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join()

    def watch_forever(self, on_rebuild: Callable[[BuildSummary], None]) -> None:
        """Poll until Ctrl-C (see :meth:`Rebuilder.poll`), then stop serving."""
        try:
            self.rebuilder.poll(on_rebuild)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


def default_output(store: Path) -> Path:
    """Where ``mltrail ui`` keeps the site of ``store`` (a user cache, outside the store)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    key = hashlib.sha256(str(store.resolve()).encode()).hexdigest()[:16]
    return cache / "mltrail" / "sites" / key
