"""Git's housekeeping after mltrail's commits: loose objects get packed, training never waits."""

from __future__ import annotations

import time
from pathlib import Path

from mltrail.git import maintenance
from mltrail.store import FileStore
from tests.conftest import GitRunner, ScriptRunner

#: A `pre-auto-gc` hook that says when git's housekeeping starts, then waits for the test.
HOOK = """#!/bin/sh
touch "$0.started"
while [ ! -e "$0.release" ]; do sleep 0.05; done
exit 0
"""

TRAIN = """
import mltrail

mltrail.set_tracking_uri({store!r})
for i in range(400):
    with mltrail.start_run(run_name=f"run-{{i}}"):
        mltrail.log_params({{f"p{{k}}": f"{{i}}-{{k}}" for k in range(5)}})
        mltrail.log_metric("loss", 1.0 / (i + 1), step=0)
"""


def _loose_and_packed(git: GitRunner, repo: Path) -> tuple[int, int]:
    stats = dict(line.split(": ") for line in git(repo, "count-objects", "-v").splitlines())
    return int(stats["count"]), int(stats["in-pack"])


def _wait_for(condition: object, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_loose_objects_get_packed_and_training_never_waits(
    store: FileStore, repo: Path, git: GitRunner, run_script: ScriptRunner
) -> None:
    git(repo, "config", "gc.auto", "256")  # act once objects/17 holds 2 loose objects
    hook = repo / ".git" / "hooks" / "pre-auto-gc"
    hook.write_text(HOOK)
    hook.chmod(0o755)

    # The training script ends while the housekeeping it started is still held by the hook.
    run_script(TRAIN.format(store=str(store.root)), cwd=repo, timeout=120, check=True)
    _wait_for(Path(f"{hook}.started").exists, "git's housekeeping to start")
    assert maintenance.running(repo)
    loose, _ = _loose_and_packed(git, repo)
    assert loose > 1000

    Path(f"{hook}.release").touch()
    _wait_for(lambda: not maintenance.running(repo), "git's housekeeping to end")
    loose_after, packed = _loose_and_packed(git, repo)
    assert packed >= loose and loose_after < loose // 20
    assert int(git(repo, "rev-list", "--count", "HEAD").strip()) >= 2
    git(repo, "fsck", "--no-progress")  # fails the test if git finds the repository broken
    assert git(repo, "status", "--porcelain", "--", str(store.root)) == ""


def test_nothing_starts_below_git_threshold_or_when_turned_off(repo: Path, git: GitRunner) -> None:
    assert not maintenance.needs_housekeeping(repo)  # a fresh repository: 6700 is far off
    assert not maintenance.after_commit(repo)
    git(repo, "config", "gc.auto", "1")
    objects = repo / ".git" / "objects" / "17"
    objects.mkdir(exist_ok=True)
    for n in range(2):
        (objects / f"{n:038d}").write_text("")  # what git counts: names, not contents
    assert maintenance.needs_housekeeping(repo)
    git(repo, "config", "maintenance.auto", "false")
    assert not maintenance.needs_housekeeping(repo)
    git(repo, "config", "maintenance.auto", "true")
    git(repo, "config", "gc.auto", "0")
    assert not maintenance.needs_housekeeping(repo)
