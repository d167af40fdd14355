"""``mltrail models serve`` as a user runs it: a real process on 127.0.0.1 serving a
registered model, following its alias, with several workers, stopping gracefully, and
refusing a model that cannot load."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import mltrail
import mltrail.pyfunc
from mltrail.store import FileStore
from tests.serving.models import AddN
from tests.serving.servers import REPO, ServeProcess, send

pytestmark = pytest.mark.usefixtures("tracking")
#: How a server stopped by SIGTERM exits: uvicorn re-raises the signal once its graceful
#: shutdown is done (so the exit says what stopped it); its supervisor of workers exits 0.
STOPPED = (0, -signal.SIGTERM)


def _split(*xs: float) -> dict[str, Any]:
    return {"dataframe_split": {"columns": ["x"], "data": [[x] for x in xs]}}


def _register(n: float, name: str = "adder") -> str:
    with mltrail.start_run():
        info = mltrail.pyfunc.log_model(name="model", python_model=AddN(n))
    return str(mltrail.register_model(info.model_uri, name).version)


def _move_alias(alias: str, version: str, name: str = "adder") -> None:
    mltrail.MlflowClient().set_registered_model_alias(name, alias, version)
    mltrail.flush()


def test_serves_an_alias_and_names_the_version_that_answered(tracking: FileStore) -> None:
    _move_alias("champion", _register(1))
    with ServeProcess("-m", "models:/adder@champion", "--store", str(tracking.root)) as server:
        server.wait_ready()
        status, body, headers = send(server.port, "POST", "/invocations", _split(1, 2))
        assert (status, body) == (200, {"predictions": [2, 3]})
        assert headers["x-mltrail-model-name"] == "adder"
        assert headers["x-mltrail-model-version"] == "1"
        assert headers["x-mltrail-model-uri"] == "models:/adder/1"
        assert send(server.port, "GET", "/version")[1] == mltrail.__version__
        assert server.stop() in STOPPED


def test_follow_swaps_to_the_new_version_without_a_failed_request(tracking: FileStore) -> None:
    first, second = _register(1), _register(100)
    _move_alias("champion", first)
    args = ("-m", "models:/adder@champion", "--store", str(tracking.root), "--follow",
            "--follow-interval", "0.2")  # fmt: skip
    with ServeProcess(*args) as server:
        server.wait_ready()
        answers: list[tuple[int, Any, str | None]] = []
        stop = threading.Event()

        def keep_asking() -> None:
            while not stop.is_set():
                status, body, headers = send(server.port, "POST", "/invocations", _split(1))
                answers.append((status, body, headers.get("x-mltrail-model-version")))

        asker = threading.Thread(target=keep_asking)
        asker.start()
        try:
            while len(answers) < 5:
                time.sleep(0.05)
            _move_alias("champion", second)
            deadline = time.monotonic() + 60
            while answers[-1][2] != second and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            asker.join(30)
        assert [a[0] for a in answers] == [200] * len(answers)
        seen = {(a[2], a[1]["predictions"][0]) for a in answers}
        assert seen == {(first, 2), (second, 101)}
        assert send(server.port, "GET", "/ping")[2]["x-mltrail-model-version"] == second


def test_follow_needs_a_uri_whose_version_can_move(tracking: FileStore) -> None:
    _register(1)
    result = _cli("-m", "models:/adder/1", "--store", str(tracking.root), "--follow")
    assert result.returncode == 2
    assert "--follow needs models:/<name>@<alias>" in result.stderr


def test_sigterm_lets_requests_in_flight_finish_with_workers(tracking: FileStore) -> None:
    version = _register(1)
    uri = f"models:/adder/{version}"
    with ServeProcess("-m", uri, "--store", str(tracking.root), "-w", "2") as server:
        server.wait_ready()
        workers = _children(server.proc.pid)
        assert len(workers) >= 2, workers
        answer: list[Any] = []
        slow = threading.Thread(
            target=lambda: answer.append(send(server.port, "POST", "/invocations", _split(-1.5)))
        )
        slow.start()
        time.sleep(0.5)  # the request is in flight (it sleeps 1.5 s in the model)
        server.proc.send_signal(signal.SIGTERM)
        slow.join(30)
        assert answer and answer[0][:2] == (200, {"predictions": [-0.5]})
        assert server.proc.wait(30) in STOPPED


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found += [int(p) for p in text]
    return found


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mltrail", "models", "serve", *args, "-p", "0"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_model_uri_that_does_not_exist_exits_1_with_one_line(tracking: FileStore) -> None:
    result = _cli("-m", "models:/nothing@champion", "--store", str(tracking.root))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "nothing" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_model_whose_files_changed_is_refused(tracking: FileStore, tmp_path: Path) -> None:
    path = tmp_path / "model"
    mltrail.pyfunc.save_model(path, python_model=AddN(1))
    (path / "python_model.pkl").write_bytes(b"tampered")
    result = _cli("-m", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "python_model.pkl" in result.stderr


def test_a_model_that_fails_to_load_exits_1(tmp_path: Path) -> None:
    """The pickle names a module that is not installed: the flavor's own failure."""
    path = tmp_path / "model"
    mltrail.pyfunc.save_model(path, python_model=AddN(1))
    pickled = path / "python_model.pkl"
    old = hashlib.sha256(pickled.read_bytes()).hexdigest()
    pickled.write_bytes(b"cnot_installed_anywhere\nThing\n.")
    new = hashlib.sha256(pickled.read_bytes()).hexdigest()
    mlmodel = path / "MLmodel"
    mlmodel.write_text(mlmodel.read_text().replace(old, new))  # the files say they are intact
    result = _cli("-m", str(path))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "could not be loaded" in result.stderr and "not_installed_anywhere" in result.stderr
