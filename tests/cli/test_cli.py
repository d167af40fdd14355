"""The ``mltrail`` command line, through click's runner and as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import mltrail
from mltrail.cli import build_cli
from mltrail.store import FileStore, is_store

GitRunner = Callable[..., str]


@pytest.fixture
def cli() -> click.Group:
    return build_cli()


@pytest.fixture
def invoke(cli: click.Group, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run ``mltrail ARGS`` from the project folder; ``ok=False`` expects a failure."""
    monkeypatch.chdir(repo)
    runner = CliRunner()

    def run(*args: str, ok: bool = True, env: dict[str, str] | None = None) -> Result:
        result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, f"{args}: {result.output}"
        return result

    return run


def assert_clean_error(result: Result, *fragments: str) -> None:
    """A failed command: non-zero exit, one line on stderr, no traceback."""
    assert result.exit_code != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def runs(store: FileStore) -> dict[str, str]:
    """Three finished runs: 'a' and 'b' in experiment 'exp', 'c' in Default. name -> id."""
    client = mltrail.MlflowClient(str(store.root))
    exp_id = client.create_experiment("exp")
    ids = {}
    start = 1_700_000_000_000
    for i, (name, experiment, loss) in enumerate(
        [("a", exp_id, 0.3), ("b", exp_id, 0.1), ("c", "0", 0.2)]
    ):
        run_id = client.create_run(experiment, start + i * 1000, run_name=name).info.run_id
        client.log_param(run_id, "alpha", "0.5" if name != "b" else "0.9")
        client.log_metric(run_id, "loss", loss)
        client.set_terminated(run_id)
        ids[name] = run_id
    mltrail.flush()
    return ids


# --- init --------------------------------------------------------------------------------------


def test_init_outside_a_repo_runs_git_init(
    cli: click.Group,
    tmp_path: Path,
    clean_env: None,
    monkeypatch: pytest.MonkeyPatch,
    git: GitRunner,
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["init", "fresh"])
    assert result.exit_code == 0, result.output
    assert "Created an mltrail store" in result.stdout
    assert is_store(tmp_path / "fresh") and (tmp_path / "fresh" / ".git").is_dir()
    assert "Initialize mltrail store" in git(tmp_path / "fresh", "log", "--format=%s")
    again = CliRunner().invoke(cli, ["init", "fresh"])
    assert again.exit_code == 0 and "already an mltrail store" in again.stdout


def test_init_inside_a_repo_makes_a_subfolder(
    invoke: Callable[..., Result], repo: Path, git: GitRunner
) -> None:
    result = invoke("init")
    assert is_store(repo / "runs") and not (repo / "runs" / ".git").exists()
    assert str(repo) in result.stdout
    assert git(repo, "log", "-1", "--format=%s").strip() == "Initialize mltrail store"
    assert git(repo, "status", "--porcelain") == ""


# --- experiments --------------------------------------------------------------------------------


def test_experiments_lifecycle(
    invoke: Callable[..., Result], store: FileStore, repo: Path, git: GitRunner
) -> None:
    def committed(message: str) -> None:
        """The last command's change is in a commit of its own, and nothing is left over."""
        assert mltrail.flush(timeout=30)
        assert git(repo, "status", "--porcelain", "--", "runs") == ""
        assert message in git(repo, "log", "-1", "--format=%B")

    created = invoke(
        "experiments", "create", "churn", "--description", "About churn", "--tag", "team=growth"
    )
    assert "churn" in created.stdout
    committed("Create experiment 'churn'")
    exp = mltrail.MlflowClient(str(store.root)).get_experiment_by_name("churn")
    assert exp.tags["team"] == "growth" and exp.description == "About churn"

    listing = invoke("experiments", "list").stdout
    assert "churn" in listing and "Default" in listing and "NAME" in listing

    invoke("experiments", "rename", "churn", "churn-v2")
    committed("Rename experiment 'churn-v2'")
    invoke("experiments", "delete", "churn-v2")
    committed("Delete experiment 'churn-v2'")
    assert "churn-v2" not in invoke("experiments", "list").stdout
    assert "churn-v2" in invoke("experiments", "list", "--deleted").stdout
    invoke("experiments", "restore", exp.experiment_id)  # by id works too
    committed("Restore experiment 'churn-v2'")
    rows = json.loads(invoke("experiments", "list", "--json").stdout)
    assert {r["name"]: r["lifecycle_stage"] for r in rows} == {
        "Default": "active",
        "churn-v2": "active",
    }


def test_experiments_list_counts_runs(invoke: Callable[..., Result], runs: dict[str, str]) -> None:
    rows = {
        r["name"]: r["runs"] for r in json.loads(invoke("experiments", "list", "--json").stdout)
    }
    assert rows == {"Default": 1, "exp": 2}


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("experiments", "create", "Default"), ("already exists",)),
        (("experiments", "create", " "), ("experiment name",)),
        (("experiments", "rename", "nope", "x"), ("nope",)),
        (("experiments", "delete", "Default"), ("Default",)),
        (("experiments", "delete", "99999"), ("99999",)),
        (("experiments", "restore", "nope"), ("nope",)),
        (("runs", "show", "0" * 32), ("0" * 32,)),
        (("runs", "show", "../../etc/passwd"), ("run id",)),
        (("runs", "delete", "f" * 32), ("f" * 32,)),
        (("runs", "list", "--filter", "metrics.loss <<< 2"), ()),
        (("runs", "list", "--filter", "colour = 'red'"), ()),
        (("runs", "list", "--order-by", "metrics.loss SIDEWAYS"), ()),
        (("runs", "list", "--experiment", "no-such-exp"), ("no-such-exp",)),
    ],
)
def test_bad_input_is_one_line_on_stderr(
    invoke: Callable[..., Result],
    store: FileStore,
    args: tuple[str, ...],
    fragments: tuple[str, ...],
) -> None:
    assert_clean_error(invoke(*args, ok=False), *fragments)


def test_no_store_found_is_a_clean_error(
    cli: click.Group, tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for args in (["runs", "list"], ["experiments", "list"], ["commit"], ["gc"]):
        result = CliRunner().invoke(cli, args)
        assert_clean_error(result, "mltrail init")
    result = CliRunner().invoke(cli, ["runs", "list", "--store", str(tmp_path / "nowhere")])
    assert_clean_error(result, "not an mltrail store")


def test_usage_errors_exit_non_zero_without_traceback(
    invoke: Callable[..., Result], store: FileStore
) -> None:
    for args in (("runs", "list", "--max", "0"), ("runs", "nope"), ("experiments", "create")):
        result = invoke(*args, ok=False)
        assert result.exit_code == 2 and "Traceback" not in result.output
        assert "Error:" in result.stderr


# --- runs -----------------------------------------------------------------------------------------


def test_runs_list_table(invoke: Callable[..., Result], runs: dict[str, str]) -> None:
    out = invoke("runs", "list").stdout
    header, *rows = out.splitlines()
    assert header.split()[:3] == ["RUN", "ID", "NAME"]
    assert [row.split()[0] for row in rows] == [runs["c"], runs["b"], runs["a"]]  # newest first
    assert "loss=0.3" in out and "FINISHED" in out and "exp" in out


def test_runs_list_options(invoke: Callable[..., Result], runs: dict[str, str]) -> None:
    def ids(*args: str) -> list[str]:
        return [
            r["info"]["run_id"] for r in json.loads(invoke("runs", "list", "--json", *args).stdout)
        ]

    assert sorted(ids()) == sorted(runs.values())
    assert sorted(ids("--experiment", "exp")) == sorted([runs["a"], runs["b"]])
    assert ids("-e", "Default") == [runs["c"]]
    assert sorted(ids("-e", "exp", "-e", "0")) == sorted(runs.values())
    assert sorted(ids("--filter", "params.alpha = '0.5'")) == sorted([runs["a"], runs["c"]])
    assert ids("--order-by", "metrics.loss ASC") == [runs["b"], runs["c"], runs["a"]]
    assert ids("--order-by", "metrics.loss DESC", "--max", "1") == [runs["a"]]
    assert ids("--filter", "metrics.loss > 5") == []
    record = json.loads(invoke("runs", "list", "--json", "--max", "1").stdout)[0]
    assert record["data"]["params"] == {"alpha": "0.5"} and record["info"]["status"] == "FINISHED"


def test_runs_show(invoke: Callable[..., Result], runs: dict[str, str]) -> None:
    text = invoke("runs", "show", runs["b"]).stdout
    assert f"Run b ({runs['b']})" in text
    assert "alpha: 0.9" in text and "loss: 0.1" in text and "FINISHED" in text
    data = json.loads(invoke("runs", "show", runs["b"], "--json").stdout)
    assert data["info"]["run_id"] == runs["b"] and data["info"]["run_name"] == "b"
    assert data["data"]["metrics"] == {"loss": 0.1}
    assert data["data"]["metric_summaries"]["loss"]["count"] == 1
    assert data["data"]["tags"]["mlflow.runName"] == "b"


def test_runs_delete_restore_and_gc(
    invoke: Callable[..., Result],
    runs: dict[str, str],
    store: FileStore,
    repo: Path,
    git: GitRunner,
) -> None:
    invoke("runs", "delete", runs["a"])
    listed = json.loads(invoke("runs", "list", "--json").stdout)
    assert runs["a"] not in {r["info"]["run_id"] for r in listed}
    every = json.loads(invoke("runs", "list", "--json", "--all").stdout)
    assert runs["a"] in {r["info"]["run_id"] for r in every}
    invoke("runs", "restore", runs["a"])
    invoke("runs", "delete", runs["a"])
    invoke("runs", "delete", runs["b"])
    invoke("runs", "restore", runs["b"])
    mltrail.flush()

    assert "Purged 0 deleted runs" in invoke("gc", "--older-than", "1").stdout
    out = invoke("gc").stdout
    assert f"purged {runs['a']}" in out and "Purged 1 deleted run." in out
    assert not store.run_path(runs["a"]).exists() and store.run_path(runs["b"]).exists()
    tree = git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    assert runs["a"] not in tree and runs["b"] in tree
    assert git(repo, "status", "--porcelain", "--", "runs") == ""
    assert_clean_error(invoke("runs", "show", runs["a"], ok=False), runs["a"])


# --- commit ---------------------------------------------------------------------------------------


def test_commit_with_auto_commit_off(
    invoke: Callable[..., Result],
    store: FileStore,
    repo: Path,
    git: GitRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    head = git(repo, "rev-parse", "HEAD")
    client = mltrail.MlflowClient(str(store.root))
    run_id = client.create_run("0").info.run_id
    client.set_terminated(run_id)
    invoke("experiments", "create", "offline")
    mltrail.flush()
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain", "--", "runs") != ""

    (repo / "notes.txt").write_text("mine")
    git(repo, "add", "notes.txt")
    out = invoke("commit", "-m", "Save offline work").stdout
    assert out.startswith("Committed ")
    assert git(repo, "log", "-1", "--format=%s").strip() == "Save offline work"
    assert run_id in git(repo, "ls-tree", "-r", "--name-only", "HEAD")
    assert git(repo, "status", "--porcelain", "--", "runs") == ""
    assert git(repo, "diff", "--cached", "--name-only").split() == ["notes.txt"]  # still staged
    assert "Nothing to commit" in invoke("commit").stdout


# --- the real executable --------------------------------------------------------------------------


def test_python_dash_m_mltrail(runs: dict[str, str], store: FileStore, repo: Path) -> None:
    listing = subprocess.run(
        [sys.executable, "-m", "mltrail", "runs", "list", "--json", "-e", "exp"],
        cwd=repo / "runs" / "experiments",  # the store is found by walking up
        capture_output=True,
        text=True,
        check=False,
    )
    assert listing.returncode == 0, listing.stderr
    assert {r["info"]["run_name"] for r in json.loads(listing.stdout)} == {"a", "b"}

    failure = subprocess.run(
        [sys.executable, "-m", "mltrail", "runs", "show", "0" * 32, "--store", str(store.root)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert failure.returncode == 2 and failure.stdout == ""
    assert failure.stderr.startswith("Error: ") and len(failure.stderr.strip().splitlines()) == 1

    version = subprocess.run(
        [sys.executable, "-m", "mltrail", "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0 and mltrail.__version__ in version.stdout
