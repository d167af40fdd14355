"""``mltrail server --site`` (a live dashboard beside the API) and ``--workers N`` with
several real MLflow clients at once."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mltrail.store import FileStore
from tests.server.conftest import Server, new_store, start_client


@pytest.fixture
def site_server(tmp_path: Path) -> Iterator[Server]:
    found = Server(new_store(tmp_path), "--site")
    yield found
    found.stop()


def _log_run(server: Server, name: str) -> str:
    api = "/api/2.0/mlflow/runs"
    status, created = server.request("POST", f"{api}/create", {"experiment_id": "0",
                                                              "run_name": name})  # fmt: skip
    assert status == 200, created
    run_id = str(created["run"]["info"]["run_id"])
    batch = {"run_id": run_id, "params": [{"key": "alpha", "value": "0.5"}],
             "metrics": [{"key": "rmse", "value": 0.25, "timestamp": 1, "step": 0}]}  # fmt: skip
    assert server.request("POST", f"{api}/log-batch", batch)[0] == 200
    assert (
        server.request("POST", f"{api}/update", {"run_id": run_id, "status": "FINISHED"})[0] == 200
    )
    return run_id


def _wait_for(server: Server, path: str, seconds: float = 30) -> tuple[int, Any]:
    deadline = time.monotonic() + seconds
    while True:
        status, body = server.request("GET", path)
        if status == 200 or time.monotonic() > deadline:
            return status, body
        time.sleep(0.3)


def test_site_is_served_at_root_and_shows_runs_logged_through_the_server(
    site_server: Server, browser: Any
) -> None:
    status, index = site_server.request("GET", "/")
    assert status == 200 and "<html" in index.lower()
    run_id = _log_run(site_server, "from-the-api")
    # the site is rebuilt in the background when the store changes: within seconds
    status, page = _wait_for(site_server, f"/runs/{run_id}/index.html")
    assert status == 200, page
    assert "from-the-api" in page and "alpha" in page
    # the API is unaffected beside the site
    status, got = site_server.request("GET", f"/api/2.0/mlflow/runs/get?run_id={run_id}")
    assert status == 200 and got["run"]["data"]["params"] == [{"key": "alpha", "value": "0.5"}]
    assert site_server.request("GET", "/../../etc/passwd")[0] == 404
    page_view = browser.new_page()
    try:
        page_view.goto(f"{site_server.uri}/runs/{run_id}/index.html")
        assert "from-the-api" in page_view.title() + page_view.inner_text("body")
        assert "alpha" in page_view.inner_text("body")
    finally:
        page_view.close()


def test_the_site_folder_goes_when_the_server_stops(tmp_path: Path) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    server = Server(new_store(tmp_path), "--site", env={"TMPDIR": str(temp)})
    try:
        assert server.request("GET", "/")[0] == 200
        (site,) = temp.glob("mltrail-server-site-*")
        assert (site / "index.html").is_file()
    finally:
        server.stop()  # SIGTERM, as a service manager stops it
    assert not site.exists()


def test_two_workers_and_many_clients_lose_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    server = Server(store, "--workers", "2")
    try:
        import mltrail

        shared = mltrail.Client(str(store)).create_run("0", run_name="shared").info.run_id
        clients, count = 4, 12
        procs = [start_client(server, "hammer.py", shared, str(w), str(count))
                 for w in range(clients)]  # fmt: skip
        owns = []
        for proc in procs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err + server.log.read_text()
            owns.append(json.loads(out.strip().splitlines()[-1])["own"])
    finally:
        server.stop()  # shutdown lands every queued commit
    reader = FileStore.open_read_only(store)
    assert len(reader.get_run(shared).data.params) == clients * count
    assert len(reader.get_metric_history(shared, "shared")) == clients * count
    for run_id in owns:
        assert len(reader.get_run(run_id).data.params) == count
        assert len(reader.get_metric_history(run_id, "own")) == count
        assert reader.get_run(run_id).info.status == "FINISHED"
    tracked = subprocess.run(["git", "-C", str(store), "ls-files"], capture_output=True,
                             text=True, check=True).stdout  # fmt: skip
    assert all(run_id in tracked for run_id in owns)
    dirty = subprocess.run(["git", "-C", str(store), "status", "--porcelain", "--", "runs"],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert all(run_id not in dirty for run_id in owns), dirty
    fsck = subprocess.run(["git", "-C", str(store), "fsck", "--strict"], capture_output=True,
                          text=True)  # fmt: skip
    assert fsck.returncode == 0, fsck.stderr
