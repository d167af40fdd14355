"""`mltrail sync`: clones of one project repository share their runs through a bare hub.

The store is a sub-folder (`runs/`) of each clone, beside the user's own files, so every
test also checks that sync leaves the user's work as it was.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mltrail.cli import build_cli
from mltrail.store import init_store, layout
from mltrail.tracking.client import MlflowClient
from tests.conftest import ScriptRunner, configure_identity, make_repo, run_git


def make_hub(tmp_path: Path) -> Path:
    """A bare hub holding a project with a store at `runs/` (its creation committed)."""
    origin = make_repo(tmp_path / "origin")
    init_store(origin / "runs")
    hub = tmp_path / "hub.git"
    run_git(tmp_path, "clone", "-q", "--bare", str(origin), str(hub))
    return hub


def clone(hub: Path, path: Path) -> Path:
    """A clone of `hub` at `path` with its own identity."""
    run_git(hub.parent, "clone", "-q", str(hub), str(path))
    configure_identity(path)
    return path


def log_run(repo: Path, name: str) -> str:
    """Log and end one run in `repo`'s store; its id, once committed."""
    client = MlflowClient(str(repo / "runs"))
    run = client.create_run("0", run_name=name)
    client.log_metric(run.info.run_id, "loss", 0.5)
    client.set_terminated(run.info.run_id)
    client._store.flush()
    return run.info.run_id


def run_ids(repo: Path) -> set[str]:
    return {p.name for p in layout.iter_run_dirs(repo / "runs")}


def sync(repo: Path, *args: str) -> Result:
    return CliRunner().invoke(build_cli(), ["sync", "--store", str(repo / "runs"), *args])


def head(repo: Path) -> str:
    return run_git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture
def hub(tmp_path: Path, clean_env: None) -> Path:
    return make_hub(tmp_path)


def test_two_clones_share_their_runs(hub: Path, tmp_path: Path) -> None:
    a, b = clone(hub, tmp_path / "a"), clone(hub, tmp_path / "b")
    run_a, run_b = log_run(a, "from-a"), log_run(b, "from-b")
    assert sync(a).exit_code == 0
    result = sync(b)
    assert result.exit_code == 0, result.output
    assert "Synced main with origin/main: merged, 1 new run, pushed " in result.output
    # b's own commit is kept as it was (no rebase): the merge has both as parents.
    parents = run_git(b, "log", "-1", "--format=%P").split()
    assert len(parents) == 2
    assert sync(a).exit_code == 0
    assert run_ids(a) == run_ids(b) == {run_a, run_b}
    assert head(a) == head(b) == run_git(hub, "rev-parse", "main").strip()
    for repo in (a, b, hub):
        run_git(repo, "fsck", "--strict")
    assert {r.info.run_name for r in MlflowClient(str(a / "runs")).search_runs(["0"])} == {
        "from-a",
        "from-b",
    }


def test_the_users_own_work_is_left_as_it_was(hub: Path, tmp_path: Path) -> None:
    a, b = clone(hub, tmp_path / "a"), clone(hub, tmp_path / "b")
    log_run(a, "from-a")
    sync(a)
    (b / "train.py").write_text("print('v1')\n")
    run_git(b, "add", "train.py")
    run_git(b, "commit", "-q", "-m", "Add the training script")
    mine = head(b)
    (b / "README.md").write_text("# project\n\nwork in progress\n")  # unstaged
    (b / "notes.txt").write_text("staged\n")
    run_git(b, "add", "notes.txt")  # staged
    (b / "scratch.txt").write_text("untracked\n")
    result = sync(b)
    assert result.exit_code == 0, result.output
    assert run_git(b, "merge-base", "--is-ancestor", mine, "HEAD", check=False) == ""
    assert run_git(b, "diff", "--cached", "--name-only").split() == ["notes.txt"]
    assert run_git(b, "diff", "--name-only").split() == ["README.md"]
    assert "work in progress" in (b / "README.md").read_text()
    assert (b / "scratch.txt").read_text() == "untracked\n"
    assert run_git(b, "status", "--porcelain", "--", "runs") == ""
    assert "train.py" in run_git(hub, "ls-tree", "--name-only", "main")


def test_refuses_in_the_middle_of_a_merge(hub: Path, tmp_path: Path) -> None:
    a = clone(hub, tmp_path / "a")
    run_git(a, "switch", "-q", "-c", "topic")
    (a / "README.md").write_text("topic\n")
    run_git(a, "commit", "-q", "-am", "topic")
    run_git(a, "switch", "-q", "main")
    (a / "README.md").write_text("main\n")
    run_git(a, "commit", "-q", "-am", "main")
    run_git(a, "merge", "topic", check=False)  # stops with a conflict
    log_run(a, "during-merge")
    before = head(a), run_git(a, "status", "--porcelain"), run_git(hub, "rev-parse", "main")
    result = sync(a)
    assert result.exit_code == 1
    assert "middle of a merge" in result.output and "Nothing was changed" in result.output
    assert len(result.output.strip().splitlines()) == 2  # the progress line, the error
    assert (head(a), run_git(a, "status", "--porcelain"), run_git(hub, "rev-parse", "main")) == (
        before
    )


def test_refuses_unrelated_conflicts_touching_nothing(hub: Path, tmp_path: Path) -> None:
    a, b = clone(hub, tmp_path / "a"), clone(hub, tmp_path / "b")
    for repo, text in ((a, "a's readme\n"), (b, "b's readme\n")):
        (repo / "README.md").write_text(text)
        run_git(repo, "commit", "-q", "-am", "Edit the readme")
    assert sync(a).exit_code == 0
    log_run(b, "from-b")
    before = head(b), run_git(b, "status", "--porcelain")
    result = sync(b)
    assert result.exit_code == 1
    assert "README.md" in result.output and "changed nothing" in result.output
    assert "git merge origin/main" in result.output
    assert (head(b), run_git(b, "status", "--porcelain")) == before
    assert (b / "README.md").read_text() == "b's readme\n"


@pytest.mark.parametrize("path", ["README.md", "train.py"])  # tracked edit, untracked file
def test_refuses_to_overwrite_uncommitted_work(hub: Path, tmp_path: Path, path: str) -> None:
    a, b = clone(hub, tmp_path / "a"), clone(hub, tmp_path / "b")
    (a / path).write_text("theirs\n")
    run_git(a, "add", path)
    run_git(a, "commit", "-q", "-m", f"Change {path}")
    sync(a)
    log_run(b, "from-b")
    (b / path).write_text("mine, not committed\n")
    before = head(b)
    result = sync(b)
    assert result.exit_code == 1
    assert "would overwrite uncommitted changes" in result.output and path in result.output
    assert head(b) == before and (b / path).read_text() == "mine, not committed\n"
    assert run_git(hub, "rev-parse", "main").strip() == head(a)  # nothing pushed either


def test_first_sync_into_an_empty_hub(tmp_path: Path, clean_env: None) -> None:
    hub = tmp_path / "hub.git"
    run_git(tmp_path, "init", "-q", "--bare", str(hub))
    project = make_repo(tmp_path / "project")
    init_store(project / "runs")
    run_git(project, "remote", "add", "origin", str(hub))
    result = sync(project)
    assert result.exit_code == 0, result.output
    assert run_git(hub, "rev-parse", "main").strip() == head(project)


def test_refuses_a_remote_of_another_project(hub: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    run_git(tmp_path, "init", "-q", "-b", "main", str(other))
    configure_identity(other)
    init_store(other / "runs")  # its first commit: no history shared with the hub
    run_git(other, "remote", "add", "origin", str(hub))
    before = head(other)
    result = sync(other)
    assert result.exit_code == 1 and "share no history" in result.output
    assert head(other) == before


def test_clear_errors_for_no_remote_and_detached_head(tmp_path: Path, clean_env: None) -> None:
    project = make_repo(tmp_path / "project")
    init_store(project / "runs")
    result = sync(project)
    assert result.exit_code == 1 and "no git remote named 'origin'" in result.output
    run_git(project, "remote", "add", "hub", str(tmp_path))
    assert "no git remote named 'elsewhere'" in sync(project, "--remote", "elsewhere").output
    run_git(project, "switch", "-q", "--detach")
    assert "detached HEAD" in sync(project, "--remote", "hub").output


def test_two_clones_registering_one_model(hub: Path, tmp_path: Path) -> None:
    """Both take version 1: no git conflict; `models resolve` renumbers, and syncs cleanly."""
    a, b = clone(hub, tmp_path / "a"), clone(hub, tmp_path / "b")
    for repo in (a, b):
        run_id = log_run(repo, "model-run")
        client = MlflowClient(str(repo / "runs"))
        client.log_text(run_id, "flavors: {}\n", "model/MLmodel")
        args = ["models", "register", f"runs:/{run_id}/model", "churn"]
        registered = CliRunner().invoke(build_cli(), [*args, "--store", str(repo / "runs")])
        assert registered.exit_code == 0, registered.output
        client._store.flush()
    assert sync(a).exit_code == 0
    merged = sync(b)
    assert merged.exit_code == 0
    assert "model 'churn' has two registrations numbered v1" in merged.stderr
    assert "mltrail models resolve churn" in merged.stderr
    assert sync(a).exit_code == 0
    runner, cli = CliRunner(), build_cli()
    shown = runner.invoke(cli, ["models", "resolve", "churn", "--store", str(a / "runs")])
    assert shown.exit_code == 0, shown.output
    MlflowClient(str(a / "runs"))._store.flush()
    assert sync(a).exit_code == 0 and sync(b).exit_code == 0
    versions = MlflowClient(str(b / "runs")).search_model_versions("name='churn'")
    assert sorted(int(v.version) for v in versions) == [1, 2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("unreachable", ["missing folder", "ssh, nobody listening"])
def test_auto_sync_never_blocks_and_warns_once(
    hub: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, unreachable: str
) -> None:
    a = clone(hub, tmp_path / "a")
    marker = a / "runs" / layout.MARKER
    marker.write_text(marker.read_text() + "sync: auto\n")
    run_git(a, "commit", "-q", "-am", "Sync automatically")
    gone = (
        str(tmp_path / "gone.git")
        if unreachable == "missing folder"
        else f"ssh://git@127.0.0.1:{free_port()}/hub.git"
    )
    run_git(a, "remote", "set-url", "origin", gone)
    client = MlflowClient(str(a / "runs"))
    store = client._store
    caplog.set_level(logging.WARNING)
    for name in ("first", "second"):
        run = client.create_run("0", run_name=name)
        started = time.monotonic()
        client.set_terminated(run.info.run_id)
        assert time.monotonic() - started < 5  # never waits for the network
        assert store.wait_for_sync(60)
    warnings = [r for r in caplog.records if "Could not sync" in r.getMessage()]
    assert len(warnings) == 1 and "mltrail sync" in warnings[0].getMessage()
    run_git(a, "remote", "set-url", "origin", str(hub))  # the hub is back: the next sync
    assert sync(a).exit_code == 0
    names = run_git(hub, "log", "--format=%s", "main")
    assert "Run first finished" in names and "Run second finished" in names


def test_auto_sync_pushes_a_runs_end(hub: Path, tmp_path: Path) -> None:
    a = clone(hub, tmp_path / "a")
    marker = a / "runs" / layout.MARKER
    marker.write_text(marker.read_text() + "sync: auto\n")
    run_git(a, "commit", "-q", "-am", "Sync automatically")
    client = MlflowClient(str(a / "runs"))
    run = client.create_run("0", run_name="pushed")
    client.set_terminated(run.info.run_id)
    assert client._store.wait_for_sync(60)
    assert run.info.run_id in run_git(hub, "log", "-1", "--format=%s", "main")


def test_an_unknown_sync_setting_is_a_clear_error(tmp_path: Path, clean_env: None) -> None:
    store, _ = init_store(tmp_path / "runs")
    marker = store.root / layout.MARKER
    marker.write_text(marker.read_text() + "sync: sometimes\n")
    result = CliRunner().invoke(build_cli(), ["sync", "--store", str(store.root)])
    assert result.exit_code != 0
    assert "'sync' must be one of manual, auto, not 'sometimes'" in result.output
    assert "mltrail-store.yaml" in result.output


def test_auto_sync_pushes_before_a_script_exits(
    hub: Path, tmp_path: Path, run_script: ScriptRunner
) -> None:
    a = clone(hub, tmp_path / "a")
    marker = a / "runs" / layout.MARKER
    marker.write_text(marker.read_text() + "sync: auto\n")
    run_git(a, "commit", "-q", "-am", "Sync automatically")
    script = """
        import mltrail
        mltrail.set_tracking_uri("runs")
        with mltrail.start_run(run_name="scripted") as run:
            mltrail.log_metric("loss", 0.1)
        print(run.info.run_id)
    """
    proc = run_script(script, cwd=a, name="train.py", check=True)
    assert proc.stdout.strip() in run_git(hub, "log", "-1", "--format=%s", "main")
    assert "Could not sync" not in proc.stderr


def test_says_what_is_not_committed_and_so_not_shared(
    hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = clone(hub, tmp_path / "a")
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    run_id = log_run(a, "kept-local")
    result = sync(a)
    assert result.exit_code == 0, result.output
    assert "store files are not committed, so they were not shared" in result.output
    assert "mltrail commit" in result.output
    assert run_id not in run_git(hub, "ls-tree", "-r", "--name-only", "main")
