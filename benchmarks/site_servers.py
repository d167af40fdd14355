"""Start a dashboard server as a child process and time it until it shows the runs.

- ``mltrail ui STORE --port P --no-open``: from the start of the process until the
  experiment page, fetched over HTTP by Chromium, has drawn its runs table and counts
  every run (``mltrail ui`` builds the site before it listens).
- ``mlflow server --backend-store-uri sqlite:///… --port Q``: from the start of the
  process until ``POST /api/2.0/mlflow/runs/search`` (the experiment, ``max_results``
  1000) returns every run.

Each server runs in its own process group (``start_new_session``); the whole group is
terminated (then killed) afterwards, and :func:`stop_all` ends any left over.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import site_browser

POLL_S = 0.05
START_TIMEOUT_S = 300.0
_children: list[subprocess.Popen[bytes]] = []


def free_port() -> int:
    """A port that is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(command: list[str], cwd: Path, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        child = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _children.append(child)
    return child


def stop(child: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the child's process group, SIGKILL after 10 s."""
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            break
        try:
            child.wait(wait)
            # The group may outlive its leader (MLflow's uvicorn workers).
            os.killpg(child.pid, 0)
        except subprocess.TimeoutExpired:
            continue
        except ProcessLookupError:
            break
    if child in _children:
        _children.remove(child)


def stop_all() -> None:
    for child in list(_children):
        stop(child)


def _check_alive(child: subprocess.Popen[bytes], log: Path) -> None:
    if child.poll() is not None:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"server exited with {child.returncode}:\n{tail}")


def _poll(child: subprocess.Popen[bytes], log: Path, started: float, probe: Any) -> None:
    while True:
        _check_alive(child, log)
        if time.perf_counter() - started > START_TIMEOUT_S:
            raise RuntimeError(f"server not ready after {START_TIMEOUT_S:.0f} s; see {log}")
        try:
            if probe():
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(POLL_S)


def time_mltrail_ui(
    mltrail: list[str], store: Path, cache: Path, browser: Any, runs: int, log: Path
) -> dict[str, Any]:
    """Seconds from ``mltrail ui`` start to the page served, and to its rows drawn."""
    port = free_port()
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    base = f"http://127.0.0.1:{port}"
    page = f"{base}/experiments/1/index.html"

    def served() -> bool:
        with urllib.request.urlopen(page, timeout=5) as response:
            return bool(response.status == 200)

    command = [*mltrail, "ui", str(store), "--port", str(port), "--no-open"]
    started = time.perf_counter()
    child = start(command, store.parent, env, log)
    try:
        _poll(child, log, started, served)
        http_s = time.perf_counter() - started
        site_browser.rows_drawn(browser, page, f"{runs:,} runs")
        rows_s = time.perf_counter() - started
    finally:
        stop(child)
    summary = (log.read_text(errors="replace").splitlines() or [""])[0]
    return {"http_s": http_s, "rows_s": rows_s, "summary": summary}


def time_mlflow_server(
    mlflow: str,
    uri: str,
    folder: Path,
    experiment_id: str,
    runs: int,
    log: Path,
    extra: tuple[str, ...] = (),
) -> dict[str, float]:
    """Seconds from ``mlflow server`` start to its search API returning ``runs`` runs."""
    port = free_port()
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search"
    body = json.dumps({"experiment_ids": [experiment_id], "max_results": 1000}).encode()
    found: list[int] = []

    def searched() -> bool:
        request = urllib.request.Request(
            url, data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            found.append(len(json.loads(response.read()).get("runs", [])))
        return found[-1] == runs

    command = [mlflow, "server", "--backend-store-uri", uri, "--host", "127.0.0.1"]
    command += ["--port", str(port), *extra]
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    started = time.perf_counter()
    child = start(command, folder, env, log)
    try:
        _poll(child, log, started, searched)
        search_s = time.perf_counter() - started
    finally:
        stop(child)
    return {"search_s": search_s, "runs": float(found[-1])}
