"""Crashes, concurrent writers, merges of clones and damaged files: nothing logged is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import CorruptedRecord
from mltrail.store import FileStore
from mltrail.tracking import context

GitRunner = Callable[..., str]
ScriptRunner = Callable[..., subprocess.CompletedProcess[str]]


def steps_of(store: FileStore, run_id: str, key: str) -> list[int]:
    return [m.step for m in store.get_metric_history(run_id, key)]


def spawn(
    script: str, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    path = cwd / "writer.py"
    if not path.exists():
        path.write_text(textwrap.dedent(script))
    return subprocess.Popen(
        [sys.executable, str(path), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# --- a writer killed mid-loop ---------------------------------------------------------------

LOOP_SCRIPT = """
import sys
import mltrail

mltrail.set_tracking_uri(sys.argv[1])
run = mltrail.start_run(run_name="victim")
print("run", run.info.run_id, flush=True)
mltrail.log_param("lr", 0.1)
i = 0
while True:
    mltrail.log_metric("loss", 1.0 / (i + 1), step=i)
    print("logged", i, flush=True)
    i += 1
"""


def test_sigkill_loses_no_returned_point(
    store: FileStore, tmp_path: Path, run_script: ScriptRunner
) -> None:
    client = mltrail.MlflowClient(str(store.root))
    bystander = client.create_run("0", run_name="bystander").info.run_id
    client.set_terminated(bystander)

    proc = spawn(LOOP_SCRIPT, str(store.root), cwd=tmp_path)
    assert proc.stdout is not None
    run_id = proc.stdout.readline().split()[1]
    deadline = time.monotonic() + 30
    last = -1
    while last < 300 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, proc.stderr.read() if proc.stderr else "writer exited"
        last = int(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=30)
    # complete lines only: the kill can cut the writer's last "logged N" line short
    complete = [line.split() for line in rest.split("\n")[:-1]]
    printed = [int(p[1]) for p in complete if len(p) == 2 and p[0] == "logged" and p[1].isdigit()]
    last = max([last, *printed])
    assert proc.returncode == -signal.SIGKILL

    reader = FileStore(store.root)
    steps = steps_of(reader, run_id, "loss")
    assert steps[: last + 1] == list(range(last + 1)), "a point whose call returned is missing"
    run = reader.get_run(run_id)
    assert run.info.status == "RUNNING" and run.info.end_time is None
    assert run.data.params == {"lr": "0.1"}
    assert run.data.metrics["loss"] == 1.0 / len(steps)
    listed = {r.info.run_id: r.info.status for r in reader.search_runs(None)}
    assert listed == {run_id: "RUNNING", bystander: "FINISHED"}

    # the kill may also have cut a line short: simulate the worst case, then append again
    history = reader.run_path(run_id) / "metrics" / "loss.tsv"
    with open(history, "ab") as f:
        f.write(b"1700000000000\t0.12")
    resume = f"""
    import mltrail
    mltrail.set_tracking_uri({str(store.root)!r})
    with mltrail.start_run(run_id={run_id!r}):
        mltrail.log_metric("loss", 0.001, step=10**6)
    """
    run_script(resume, check=True)
    after = FileStore(store.root)
    assert steps_of(after, run_id, "loss") == [*steps, 10**6]
    assert history.read_bytes().endswith(b"\t1000000\n")
    resumed = after.get_run(run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.metrics["loss"] == 0.001


# --- many processes, one store ---------------------------------------------------------------

WORKER_SCRIPT = """
import os, sys, time
import mltrail

store, name, go = sys.argv[1], sys.argv[2], sys.argv[3]
mltrail.set_tracking_uri(store)
while not os.path.exists(go):
    time.sleep(0.005)
with mltrail.start_run(run_name=name) as run:
    mltrail.log_param("worker", name)
    for i in range(100):
        mltrail.log_metric("m", i, step=i)
    mltrail.set_tag("done", "yes")
print(run.info.run_id)
"""


def test_eight_processes_log_to_one_store(
    store: FileStore, repo: Path, tmp_path: Path, git: GitRunner
) -> None:
    go = tmp_path / "go"
    procs = [
        spawn(WORKER_SCRIPT, str(store.root), f"w{i}", str(go), cwd=tmp_path) for i in range(8)
    ]
    time.sleep(0.3)
    go.touch()
    results = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
        assert "lock" not in err.lower() and "could not commit" not in err.lower(), err
        assert "Traceback" not in err, err
    run_ids = {out.strip() for out, _ in results}
    assert len(run_ids) == 8

    reader = FileStore(store.root)
    runs = reader.search_runs(None)
    assert {r.info.run_id for r in runs} == run_ids
    for run in runs:
        assert run.info.status == "FINISHED" and run.data.tags["done"] == "yes"
        assert steps_of(reader, run.info.run_id, "m") == list(range(100))
        assert run.data.metrics["m"] == 99.0
    assert git(repo, "status", "--porcelain", "--", "runs") == ""
    tree = git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    assert all(f"{rid}/run.yaml" in tree for rid in run_ids)
    assert git(repo, "fsck", "--no-progress").strip() == ""


# --- many threads, one run ------------------------------------------------------------------------


def hammer(n_threads: int, work: Callable[[int], None]) -> None:
    errors: list[BaseException] = []
    start = threading.Barrier(n_threads)

    def body(k: int) -> None:
        try:
            start.wait()
            work(k)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


def test_threads_logging_into_the_active_run(tracking: FileStore) -> None:
    n = 300
    with mltrail.start_run() as run:

        def work(k: int) -> None:
            for i in range(n):
                mltrail.log_metric("shared", i, step=k * n + i)
                mltrail.log_metric(f"own{k}", i, step=i)
            mltrail.log_metrics({"batch": k}, step=k)
            mltrail.log_param(f"param{k}", k)
            mltrail.set_tag(f"tag{k}", k)

        hammer(4, work)
    got = mltrail.get_run(run.info.run_id)
    assert sorted(steps_of(tracking, run.info.run_id, "shared")) == list(range(4 * n))
    for k in range(4):
        assert steps_of(tracking, run.info.run_id, f"own{k}") == list(range(n))
        assert got.data.params[f"param{k}"] == str(k) and got.data.tags[f"tag{k}"] == str(k)
    assert sorted(steps_of(tracking, run.info.run_id, "batch")) == [0, 1, 2, 3]
    assert got.data.metric_summaries["shared"].count == 4 * n


def test_threads_logging_through_a_client(store: FileStore) -> None:
    client = mltrail.MlflowClient(str(store.root))
    run_id = client.create_run("0").info.run_id
    n = 300

    def work(k: int) -> None:
        for i in range(n):
            client.log_metric(run_id, "shared", i, step=k * n + i)
        client.log_batch(run_id, metrics=[mltrail.Metric(f"b{k}", 1.0, 0, 0)])

    hammer(4, work)
    client.set_terminated(run_id)
    assert sorted(steps_of(store, run_id, "shared")) == list(range(4 * n))
    assert client.get_run(run_id).data.metrics == {
        "shared": n - 1,
        "b0": 1.0,
        "b1": 1.0,
        "b2": 1.0,
        "b3": 1.0,
    }


# --- two clones, merged ---------------------------------------------------------------------------


def add_runs(root: Path, experiment: str, count: int) -> None:
    client = mltrail.MlflowClient(str(root))
    exp_id = client.create_experiment(experiment)
    for i in range(count):
        run_id = client.create_run(exp_id, run_name=f"{experiment}-{i}").info.run_id
        client.log_param(run_id, "i", i)
        client.log_metric(run_id, "score", i / count)
        client.set_terminated(run_id)
    assert mltrail.flush(timeout=60)


def test_two_clones_merge_without_conflicts(
    store: FileStore, repo: Path, tmp_path: Path, git: GitRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    clones = []
    for name in ("alice", "bob"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(repo), str(clone))
        git(clone, "config", "user.name", name)
        git(clone, "config", "user.email", f"{name}@example.com")
        clones.append(clone)
    monkeypatch.chdir(tmp_path)
    add_runs(clones[0] / "runs", "alice-exp", 50)
    add_runs(clones[1] / "runs", "bob-exp", 50)
    for clone in clones:
        assert git(clone, "status", "--porcelain") == ""

    pull = subprocess.run(
        ["git", "-C", str(clones[0]), "pull", "--no-rebase", "--no-edit", str(clones[1]), "main"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert pull.returncode == 0, pull.stdout + pull.stderr
    assert "CONFLICT" not in pull.stdout
    assert len(git(clones[0], "rev-list", "--merges", "HEAD").split()) == 1

    mltrail.set_tracking_uri(clones[0] / "runs")
    try:
        frame = mltrail.search_runs(search_all_experiments=True)
        assert len(frame) == 100
        assert set(frame["tags.mlflow.runName"]) == {
            f"{who}-exp-{i}" for who in ("alice", "bob") for i in range(50)
        }
        assert {e.name for e in mltrail.search_experiments()} == {"Default", "alice-exp", "bob-exp"}
    finally:
        context.reset_tracking_uri()


# --- damaged files --------------------------------------------------------------------------------

DAMAGE = {
    "invalid-yaml": b"run_id: [unclosed\nstatus: FINISHED\n",
    "not-a-mapping": b"- just\n- a list\n",
    "empty": b"",
    "missing-fields": b"run_name: orphan\n",
    "bad-status": b"run_id: x\nexperiment_id: '0'\nstatus: EXPLODED\nstart_time: 1\n",
    "bad-time": b"run_id: x\nexperiment_id: '0'\nstatus: FINISHED\nstart_time: soon\n",
    "binary": b"\x00\xff\xfe\x81garbage\x00",
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_corrupted_run_yaml_spoils_only_its_run(
    tracking: FileStore, repo: Path, damage: str
) -> None:
    ids = []
    for i in range(3):
        with mltrail.start_run(run_name=f"r{i}") as run:
            mltrail.log_metric("m", i)
        ids.append(run.info.run_id)
    broken = tracking.run_path(ids[1]) / "run.yaml"
    broken.write_bytes(DAMAGE[damage])

    with pytest.raises(CorruptedRecord) as info:
        mltrail.get_run(ids[1])
    assert str(broken) in str(info.value)
    assert {r.info.run_id for r in mltrail.search_runs(output_format="list")} == {ids[0], ids[2]}
    assert set(mltrail.search_runs()["run_id"]) == {ids[0], ids[2]}

    listing = subprocess.run(
        [sys.executable, "-m", "mltrail", "runs", "list", "--store", str(tracking.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert ids[0] in listing.stdout and ids[2] in listing.stdout and ids[1] not in listing.stdout
    assert "Traceback" not in listing.stderr
    assert "run.yaml" in listing.stderr  # the skipped file is named

    show = subprocess.run(
        [sys.executable, "-m", "mltrail", "runs", "show", ids[1], "--store", str(tracking.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert show.returncode != 0 and "Traceback" not in show.stderr
    assert len(show.stderr.strip().splitlines()) == 1 and str(broken) in show.stderr


def test_a_run_folder_without_run_yaml_is_skipped(tracking: FileStore) -> None:
    with mltrail.start_run() as good:
        pass
    with mltrail.start_run() as bad:
        pass
    (tracking.run_path(bad.info.run_id) / "run.yaml").unlink()
    assert [r.info.run_id for r in mltrail.search_runs(output_format="list")] == [good.info.run_id]
