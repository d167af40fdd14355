"""Two clones of one store register versions of the same model at the same time.

The documented outcome (docs/FORMAT.md, "Concurrent registrations"): git merges them
without a conflict (each registration is its own file), reading the merged model warns
and refuses the ambiguous number, and `mltrail models resolve` gives the later
registration the next free number, aliases following it.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from mltrail.cli import build_cli
from mltrail.errors import RegistryConflict
from mltrail.registry.registry import Registry
from mltrail.store import FileStore, init_store
from tests.conftest import configure_identity, make_repo, run_git
from tests.registry.conftest import MLMODEL


def _registry(clone: Path) -> Registry:
    return Registry(FileStore(clone / "runs"))


def _clone(hub: Path, path: Path) -> Path:
    run_git(hub.parent, "clone", "-q", str(hub), str(path))
    configure_identity(path)
    run_git(path, "config", "pull.rebase", "false")
    return path


@pytest.fixture
def clones(tmp_path: Path, clean_env: None) -> tuple[Path, Path, str]:
    """Clones A and B of a hub whose store has a run with a model and churn v1."""
    origin = make_repo(tmp_path / "origin")
    store, _ = init_store(origin / "runs")
    run = store.create_run("0", {"run_name": "train", "status": "RUNNING", "start_time": 1}, {})
    run_id = run.info.run_id
    store.artifacts(run_id).write_bytes("model/MLmodel", MLMODEL.encode())
    store.end_run(run_id, "FINISHED")
    store.flush()
    Registry(store).create_version("churn", f"runs:/{run_id}/model", create_model=True)
    hub = tmp_path / "hub.git"
    run_git(tmp_path, "clone", "-q", "--bare", str(origin), str(hub))
    return _clone(hub, tmp_path / "a"), _clone(hub, tmp_path / "b"), run_id


def _resolve(clone: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(
        build_cli(), ["models", "resolve", "churn", "--json", "--store", str(clone / "runs")]
    )
    assert result.exit_code == 0, result.output
    data: list[dict[str, object]] = json.loads(result.stdout)
    return data


def _numbers(clone: Path) -> dict[str, int]:
    """version id -> number of every version of churn in the clone."""
    return {v.version_id: v.version for v in _registry(clone).list_versions("churn")}


def test_concurrent_registrations_merge_and_resolve(
    clones: tuple[Path, Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    a, b, run_id = clones
    source = f"runs:/{run_id}/model"
    mine = _registry(a).create_version("churn", source)
    run_git(a, "push", "-q", "origin", "main")
    theirs = _registry(b).create_version("churn", source)
    _registry(b).set_alias("churn", "candidate", theirs.version)
    assert mine.version == theirs.version == 2  # each clone took the next free number
    run_git(b, "pull", "-q", "--no-edit", "origin", "main")  # merges without a conflict

    registry = _registry(b)
    with caplog.at_level(logging.WARNING):
        listed = registry.list_versions("churn")
    assert sorted(v.version for v in listed) == [1, 2, 2]
    assert "mltrail models resolve churn" in caplog.text
    with pytest.raises(RegistryConflict, match=r"2 versions numbered 2.*mltrail models resolve"):
        registry.get_version("churn", 2)
    with pytest.raises(RegistryConflict):
        registry.latest_versions("churn")
    assert registry.version_by_alias("churn", "candidate").version_id == theirs.version_id

    moves = _resolve(b)
    assert moves == [
        {
            "name": "churn",
            "version_id": theirs.version_id,
            "run_id": run_id,
            "old_version": 2,
            "new_version": 3,
        }
    ]
    subject = run_git(b, "log", "-1", "--format=%s").strip()
    assert subject == "model churn: renumber v2 -> v3 (registered concurrently in two clones)"
    assert _resolve(b) == []  # nothing left to do
    run_git(b, "push", "-q", "origin", "main")
    run_git(a, "pull", "-q", "--no-edit", "origin", "main")
    for clone in (a, b):
        assert _numbers(clone) == {
            _registry(clone).get_version("churn", 1).version_id: 1,
            mine.version_id: 2,
            theirs.version_id: 3,
        }
        assert _registry(clone).version_by_alias("churn", "candidate").version == 3
        assert _registry(clone).get_model("churn").aliases == {"candidate": "3"}


def test_two_clones_resolving_the_same_merge_agree(clones: tuple[Path, Path, str]) -> None:
    a, b, run_id = clones
    source = f"runs:/{run_id}/model"
    for clone in (a, b):
        _registry(clone).create_version("churn", source)
        if clone == a:
            run_git(a, "push", "-q", "origin", "main")
    run_git(b, "pull", "-q", "--no-edit", "origin", "main")
    run_git(b, "push", "-q", "origin", "main")  # the unresolved merge reaches A too
    run_git(a, "pull", "-q", "--no-edit", "origin", "main")
    assert _resolve(a) == _resolve(b)
    run_git(b, "push", "-q", "origin", "main")
    run_git(a, "pull", "-q", "--no-edit", "origin", "main")  # same change on both sides
    assert run_git(a, "status", "--porcelain") == ""
    assert sorted(_numbers(a).values()) == [1, 2, 3] and _numbers(a) == _numbers(b)


def test_one_machine_never_duplicates_a_number(
    clones: tuple[Path, Path, str], tmp_path: Path
) -> None:
    """Processes on one machine take the registry lock: concurrent registrations there get
    distinct numbers (run as real subprocesses)."""
    import subprocess
    import sys

    a, _, run_id = clones
    go = tmp_path / "go"
    code = (
        "import sys, time, pathlib; from mltrail.store import FileStore; "
        "from mltrail.registry.registry import Registry; "
        "r = Registry(FileStore(pathlib.Path(sys.argv[1]))); "
        "go = pathlib.Path(sys.argv[3])\n"
        "while not go.exists(): time.sleep(0.001)\n"
        "for _ in range(6): r.create_version('churn', sys.argv[2])"
    )
    args = [sys.executable, "-c", code, str(a / "runs"), f"runs:/{run_id}/model", str(go)]
    procs = [subprocess.Popen(args, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    go.touch()  # all start registering at once
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    assert sorted(_numbers(a).values()) == list(range(1, 20))
    log = run_git(a, "log", "--format=%s").splitlines()
    assert sum(line.startswith("model churn: register v") for line in log) == 19
