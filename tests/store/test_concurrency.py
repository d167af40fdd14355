"""Many writers, one store: processes x threads logging into shared runs and experiments.

Every call that returns must be on disk afterwards, whatever the other writers did:
each test counts every param, tag, point and experiment it wrote.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import mltrail
from mltrail.store import FileStore
from mltrail.tracking.client import MlflowClient

PROCESSES = 8
THREADS = 4

# One writer process: THREADS threads, each logging its own params, tags and points into
# the shared run by id, then renaming the run and tagging the shared experiment.
_WRITER = f"""
import sys, threading
from mltrail.tracking.client import MlflowClient

store, run_id, experiment_id, proc = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
client = MlflowClient(store)
barrier = threading.Barrier({THREADS})

def write(thread):
    me = f"p{{proc}}t{{thread}}"
    barrier.wait()
    client.log_param(run_id, f"param_{{me}}", me)
    client.set_tag(run_id, f"tag_{{me}}", me)
    for step in range(5):
        client.log_metric(run_id, "shared", step, step=step)
    client.set_tag(run_id, "mlflow.runName", me)
    client.set_experiment_tag(experiment_id, f"exp_{{me}}", me)
    client.log_batch(run_id, params=[], metrics=[], tags=[])

threads = [threading.Thread(target=write, args=(t,)) for t in range({THREADS})]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_processes_and_threads_lose_nothing(tracking: FileStore, tmp_path: Path) -> None:
    experiment_id = mltrail.create_experiment("shared")
    run = MlflowClient(tracking.root).create_run(experiment_id)
    run_id = run.info.run_id
    script = tmp_path / "writer.py"
    script.write_text(_WRITER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tracking.root), run_id, experiment_id, str(p)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in range(PROCESSES)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err

    writers = [f"p{p}t{t}" for p in range(PROCESSES) for t in range(THREADS)]
    got = MlflowClient(tracking.root).get_run(run_id)
    assert got.data.params == {f"param_{w}": w for w in writers}
    assert {k: v for k, v in got.data.tags.items() if k.startswith("tag_")} == {
        f"tag_{w}": w for w in writers
    }
    assert got.info.run_name in writers
    history = MlflowClient(tracking.root).get_metric_history(run_id, "shared")
    assert len(history) == 5 * len(writers)
    exp = MlflowClient(tracking.root).get_experiment(experiment_id)
    assert exp.name == "shared"
    assert {k: v for k, v in exp.tags.items() if k.startswith("exp_")} == {
        f"exp_{w}": w for w in writers
    }
    assert not list(tracking.root.rglob("*.tmp")), "a temporary file was left behind"


def test_threads_renaming_one_run_and_tagging_one_experiment(tracking: FileStore) -> None:
    """16 threads rewriting the same two records: both stay whole and readable."""
    client = MlflowClient(tracking.root)
    experiment_id = client.create_experiment("busy")
    run_id = client.create_run(experiment_id).info.run_id
    barrier = threading.Barrier(16)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                client.set_experiment_tag(experiment_id, f"t{n}", str(i))
                client.set_tag(run_id, "mlflow.runName", f"name-{n}-{i}")
        except BaseException as e:  # collected and asserted on below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    exp = client.get_experiment(experiment_id)
    assert (exp.name, exp.experiment_id) == ("busy", experiment_id)
    assert {k: v for k, v in exp.tags.items() if k.startswith("t")} == {
        f"t{n}": "9" for n in range(16)
    }
    assert client.get_run(run_id).info.run_name.endswith("-9")
    assert sorted(e.name for e in client.search_experiments()) == ["Default", "busy"]


_CREATOR = """
import sys, time
import mltrail
mltrail.set_tracking_uri(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # every process at once
print(mltrail.set_experiment("race").experiment_id)
"""


def test_processes_setting_one_new_experiment_make_one(tracking: FileStore) -> None:
    start = time.time() + 3
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CREATOR, str(tracking.root), str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    ids = set()
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        ids.add(out.strip())
    assert len(ids) == 1
    folders = [p for p in (tracking.root / "experiments").iterdir() if p.name != "0"]
    assert len(folders) == 1


def test_param_immutability_holds_across_writers(tracking: FileStore, tmp_path: Path) -> None:
    """Two processes logging different values for one param: exactly one wins, one fails."""
    run_id = MlflowClient(tracking.root).create_run("0").info.run_id
    script = textwrap.dedent(
        """
        import sys
        from mltrail.tracking.client import MlflowClient
        try:
            MlflowClient(sys.argv[1]).log_param(sys.argv[2], "lr", sys.argv[3])
        except Exception as e:
            print(type(e).__name__)
        """
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tracking.root), run_id, value],
            stdout=subprocess.PIPE,
            text=True,
        )
        for value in ("0.1", "0.2", "0.3")
    ]
    outcomes = [p.communicate(timeout=60)[0].strip() for p in procs]
    assert sorted(outcomes) == ["", "InvalidParameterValue", "InvalidParameterValue"]
    kept = MlflowClient(tracking.root).get_run(run_id).data.params["lr"]
    assert kept in ("0.1", "0.2", "0.3")
