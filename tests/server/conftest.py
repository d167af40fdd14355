"""A real ``mltrail server`` process over a fresh store, and MLflow client scripts run
against it with the real mlflow 3.17.2 (in subprocesses: mltrail never imports mlflow)."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrail.store import init_store
from tests.conftest import STEERING_ENV_VARS

SCRIPTS = Path(__file__).parent / "scripts"
REPO = Path(__file__).resolve().parents[2]


def _clean_environ() -> dict[str, str]:
    """This process's environment without what steers mltrail or git elsewhere (another
    fixture of the session may have set MLTRAIL_AUTO_COMMIT=0 for its own store)."""
    return {k: v for k, v in os.environ.items() if k not in STEERING_ENV_VARS}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``mltrail server --store STORE ARGS`` on a free port, stopped by ``stop``."""

    def __init__(self, store: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.store = store
        self.port = free_port()
        self.log = store.parent / f"server-{self.port}.log"
        command = [sys.executable, "-m", "mltrail", "server", "--store", str(store),
                   "--port", str(self.port), *args]  # fmt: skip
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO,
                env={**_clean_environ(), **(env or {})},
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the server stopped: {self.log.read_text()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"the server did not start: {self.log.read_text()}")

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """(status, JSON body or text) of one request; ``body`` as bytes or JSON."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, body=data, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        conn.close()
        try:
            return response.status, json.loads(raw)
        except ValueError:
            return response.status, raw.decode("utf-8", "replace")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def run_client(
    server: Server, script: str, *args: str, env: dict[str, str] | None = None
) -> dict[str, Any]:
    """Run ``scripts/<script>`` with the real MLflow client against ``server``; its last
    stdout line, parsed as JSON."""
    proc = start_client(server, script, *args, env=env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, f"{script} failed:\n{err}\n--- server log ---\n" + (
        server.log.read_text()
    )
    return dict(json.loads(out.strip().splitlines()[-1]))


def start_client(
    server: Server, script: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    environment = {
        **_clean_environ(),
        "MLFLOW_TRACKING_URI": server.uri,
        "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
        "GIT_PYTHON_REFRESH": "quiet",
        **(env or {}),
    }
    environment.pop("MLTRAIL_TRACKING_URI", None)
    return subprocess.Popen(
        [sys.executable, str(SCRIPTS / script), *args], env=environment, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=server.store.parent,
    )  # fmt: skip


def new_store(root: Path) -> Path:
    """A new store ``root/runs`` in a new git repository ``root``."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    for key, value in (("user.name", "Test User"), ("user.email", "test@example.com")):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    store = root / "runs"
    init_store(store)
    return store


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over a new store in a new git repository (module-scoped: starting one costs
    about a second)."""
    found = Server(new_store(tmp_path_factory.mktemp("server")))
    yield found
    found.stop()
