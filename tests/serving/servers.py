"""Serving in tests: an ASGI app on a real uvicorn in a thread, a ``mltrail models serve``
process, and one HTTP request at a time (the standard library's client)."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serve_app(app: Any) -> Iterator[int]:
    """Serve the ASGI ``app`` with uvicorn on 127.0.0.1; yields its port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(10)


def send(
    port: int,
    method: str,
    path: str,
    body: bytes | str | Any = b"",
    ctype: str | None = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    """(status, body as JSON or text, headers in lower case) of one request."""
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": ctype} if ctype is not None else {}
    conn.request(method, path, body=body if method == "POST" else None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    found = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    try:
        return response.status, json.loads(data), found
    except ValueError:
        return response.status, data.decode("utf-8", "replace"), found


class ServeProcess:
    """``mltrail models serve ARGS`` in a child process, on a free port."""

    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        port = free_port()
        command = [sys.executable, "-m", "mltrail", "models", "serve", *args, "-p", str(port)]
        self._start(command, port, cwd or REPO)

    @classmethod
    def command_line(cls, command: list[str], port: int, cwd: Path) -> ServeProcess:
        """Run a whole serve ``command`` (say, a Dockerfile's) that listens on ``port``."""
        found = cls.__new__(cls)
        found._start(command, port, cwd)
        return found

    def _start(self, command: list[str], port: int, cwd: Path) -> None:
        self.port = port
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the server exited: {self.output()}")
            with contextlib.suppress(OSError):
                if send(self.port, "GET", "/ping")[0] == 200:
                    return
            time.sleep(0.05)
        raise AssertionError("the server did not answer /ping in time")

    def output(self) -> str:
        assert self.proc.stdout is not None
        if self.proc.poll() is None:
            self.stop()
        return self.proc.stdout.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(30)

    def __enter__(self) -> ServeProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


#: MLflow's CLI in the interpreter running the tests (the test extra installs mlflow there).
MLFLOW = Path(sys.executable).parent / "mlflow"


class MlflowServeProcess(ServeProcess):
    """``mlflow models serve -m MODEL --env-manager local`` in its own process group (the
    CLI runs uvicorn in a child process); stopping it stops the group."""

    def __init__(self, model: Path) -> None:
        self.port = free_port()
        bin_dir = str(MLFLOW.parent)  # the CLI execs `uvicorn` from PATH
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLTRAIL_"))}
        env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}", MLFLOW_ALLOW_FILE_STORE="true")
        env.pop("PYTHONPATH", None)
        command = [str(MLFLOW), "models", "serve", "-m", str(model), "--env-manager", "local"]
        # MLflow logs every request: a file, not a pipe that would fill up and block it
        self.log = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed in __exit__)
        self.proc = subprocess.Popen(
            [*command, "-h", "127.0.0.1", "-p", str(self.port)], cwd=REPO, env=env,
            stdout=self.log, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        )  # fmt: skip

    def output(self) -> str:
        if self.proc.poll() is None:
            self.stop()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
        return self.proc.wait(30)

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(ProcessLookupError):  # uvicorn, even if the CLI is gone
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()
