"""Experiment 4, ``diabetes-sweep``: one sweep of the sample project (``sample_runs/project``).

The sweep runs through mltrail's own projects machinery (``run_sweep``, as
``mltrail run sample_runs/project -e train -P alpha=0.001,0.01,0.1 -P l1_ratio=0.2,0.8
--env-manager local --jobs 1`` runs it), so its runs hold exactly what a real sweep
records: a parent run tagged ``mltrail.sweep``, children with ``mlflow.parentRunId``,
MLflow's project tags, the params, the metrics the project's code logs and the
``mltrail-project/output.log`` artifact. What would vary is fixed here:

* the source: the project lives in the mltrail repository, whose HEAD and remote differ
  per clone and per commit, so the runs record the last commit that touched the project
  folder (:func:`project_commit`), the folder as their source name and sub-folder, no
  repository URL, no branch, not dirty; that commit holds exactly the files that ran
  (an uncommitted change is refused), so the site can show the project's README and
  docs from git when the sample site is built in a clone of mltrail;
* time: the children are separate processes, so the simulated clock reaches them
  through ``child/sitecustomize.py`` on their ``PYTHONPATH`` (set only here): each
  child's ``time.time`` is frozen at an instant the sweep's clock gives it; run ids and
  the start and end times come from this process, which creates and ends the runs.
  The children run one at a time (``jobs=1``) so the order of the runs repeats.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

from mltrail.projects import fetch, sweep
from mltrail.projects.fetch import Checkout
from mltrail.projects.runner import RunRequest

from sample.clock import SimulatedClock
from sample.common import EPOCH_MS, HOUR_MS, SEED, experiment

PROJECT = Path(__file__).resolve().parents[1] / "project"
#: The project's folder inside the mltrail repository (its source name and sub-folder).
PROJECT_SUBDIR = "sample_runs/project"
HOOK = Path(__file__).resolve().parent / "child"
CLOCK_VARIABLE = "SAMPLE_RUNS_CLOCK_MS"
EXPERIMENT = "diabetes-sweep"
GRID = {"alpha": "0.001,0.01,0.1", "l1_ratio": "0.2,0.8"}
#: What each child spends starting Python and importing scikit-learn before it logs.
STARTUP_MS = 2_400

SWEEP_DESCRIPTION = """\
# Elastic net sweep (the sample project)

One sweep of the `train` entry point of the project in `sample_runs/project` of the
mltrail repository: an elastic net on scikit-learn's diabetes data, alpha × l1_ratio on
a 3 × 2 grid, run from the repository's root with

```sh
mltrail run sample_runs/project -e train -P alpha=0.001,0.01,0.1 -P l1_ratio=0.2,0.8 \\
    --experiment-name diabetes-sweep --env-manager local --metric test_rmse
```

The parent run (tag `mltrail.sweep`) groups the six runs; each records the project's
commit, entry point and environment, and keeps the command's output
(`mltrail-project/output.log`).
"""


class MissingHistory(Exception):
    """git, or the history of the project folder, is not available (a tarball, a
    shallow clone): the runs' source commit cannot be known."""


def _git(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    return subprocess.run(
        ["git", "-C", str(PROJECT), *args], capture_output=True, text=True, env=env, check=False
    )


def project_commit() -> str:
    """The last commit that touched the project folder; refuses uncommitted changes.

    Raises:
        MissingHistory: no git, no repository, or a shallow clone.
        SystemExit: the folder has uncommitted changes, or was never committed (commit
            it, then regenerate).
    """
    if shutil.which("git") is None:
        raise MissingHistory("git is not installed")
    inside = _git("rev-parse", "--is-inside-work-tree", "--is-shallow-repository")
    if inside.returncode != 0:
        raise MissingHistory(f"{PROJECT} is not in a git repository (a source archive?)")
    if inside.stdout.split()[-1] == "true":
        raise MissingHistory("this is a shallow clone (`git fetch --unshallow` gives the history)")
    changed = _git("status", "--porcelain", "--untracked-files=all", "--", ".").stdout
    commit = _git("log", "-1", "--format=%H", "--", ".").stdout.strip()
    if changed.strip() or not commit:
        raise SystemExit(
            f"{PROJECT_SUBDIR} has uncommitted changes:\n{changed}The sample's runs record the "
            "last commit of the project as the code they ran: commit the project first, then "
            "regenerate the store (and commit it)."
        )
    return commit


def _fixed_checkout(commit: str) -> Any:
    """The project's checkout as every clone of mltrail sees it (see the module docstring)."""

    def in_place(folder: Path, subdir: str) -> Checkout:
        return Checkout(folder, PROJECT_SUBDIR, commit, None, None, False, "", subdir=PROJECT_SUBDIR)

    return mock.patch.object(fetch, "_in_place", in_place)


@contextlib.contextmanager
def _children_on_the_clock(clock: SimulatedClock) -> Iterator[None]:
    """Each child starts a few minutes after the last one ended, gets the simulated time
    it logs at, and ends a seeded few seconds later (when the sweep next looks at it)."""
    submit = sweep.submit
    durations = random.Random(SEED + 3)

    def submit_on_the_clock(*args: Any, **kwargs: Any) -> Any:
        clock.advance(durations.uniform(4, 40))
        os.environ[CLOCK_VARIABLE] = str(clock.ms + STARTUP_MS)
        started = submit(*args, **kwargs)
        clock.advance(STARTUP_MS / 1000 + durations.uniform(0.3, 1.5))
        return started

    python_path = os.pathsep.join(filter(None, [str(HOOK), os.environ.get("PYTHONPATH")]))
    with (
        mock.patch.object(sweep, "submit", submit_on_the_clock),
        mock.patch.dict(os.environ, {"PYTHONPATH": python_path}),
    ):
        yield


def project_sweep(clock: SimulatedClock, commit: str) -> None:
    os.environ["MLTRAIL_USER"] = "dana"
    clock.at(EPOCH_MS + (4 * 24 + 5) * HOUR_MS + 30 * 60_000)  # Friday, 14:00
    experiment_id = experiment(
        EXPERIMENT,
        SWEEP_DESCRIPTION,
        {"team": "outcomes", "task": "regression", "dataset": "sklearn/diabetes"},
    )
    request = RunRequest(str(PROJECT), "train", experiment_id=experiment_id, env_manager="local")
    with _fixed_checkout(commit), _children_on_the_clock(clock):
        _, children = sweep.run_sweep(request, sweep.grid(GRID), jobs=1)
    failed = [child.values for child in children if child.status != "FINISHED"]
    if failed:
        raise RuntimeError(f"sample project runs did not finish: {failed}")
