"""A small store of several experiments, runs and registered models, built once per
session and copied for each test, plus the helpers that damage it and look at it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import mltrail
from mltrail.store import init_store
from mltrail.tracking import context
from tests.conftest import set_store_config

MLMODEL = "flavors:\n  python_function:\n    loader_module: mltrail.pyfunc\n"
EXPERIMENTS = ("alpha", "beta", "gamma")
MODELS = ("m1", "m2")
#: A "billion laughs": nine levels of nine aliases, 9**9 strings once expanded.
ALIAS_BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi", strict=True)
)


@dataclass(frozen=True)
class Sample:
    """The sample store: ids by name, and the record files of its registry."""

    root: Path
    #: Experiment name -> id.
    experiments: dict[str, str]
    #: ``alpha0``, ``alpha1``, ``beta0`` ... -> run id.
    runs: dict[str, str]
    #: (model, version number) -> its version file.
    versions: dict[tuple[str, int], Path]
    #: The alias ``champion`` of m1 (on v1).
    alias: Path

    def experiment_file(self, name: str) -> Path:
        return self.root / "experiments" / self.experiments[name] / "experiment.yaml"

    def run_file(self, label: str, name: str = "run.yaml") -> Path:
        run_id = self.runs[label]
        return self.root / "runs" / run_id[-2:] / run_id / name

    def moved(self, root: Path) -> Sample:
        def at(p: Path) -> Path:
            return root / p.relative_to(self.root)

        versions = {k: at(v) for k, v in self.versions.items()}
        return Sample(root, self.experiments, self.runs, versions, at(self.alias))


def _build_sample(root: Path) -> Sample:
    set_store_config(init_store(root)[0], auto_commit=False)
    client = mltrail.Client(tracking_uri=str(root))
    experiments, runs = {}, {}
    for name in EXPERIMENTS:
        experiments[name] = client.create_experiment(name)
        for i in range(2):
            run_id = client.create_run(experiments[name]).info.run_id
            client.log_text(run_id, MLMODEL, "model/MLmodel")
            client.log_param(run_id, "p", str(i))
            client.log_metric(run_id, "loss", 0.5 + i)
            client.set_terminated(run_id)
            runs[f"{name}{i}"] = run_id
    versions = {}
    for model in MODELS:
        client.create_registered_model(model, description=f"the {model} model")
        for label in ("alpha0", "beta0"):
            v = client.create_model_version(model, f"runs:/{runs[label]}/model", runs[label])
            versions[(model, int(v.version))] = _version_file(root, model, v.version_id)
    client.set_registered_model_alias("m1", "champion", 1)
    context.close_all()
    alias = root / "models" / "m1" / "aliases" / "champion.yaml"
    return Sample(root, experiments, runs, versions, alias)


def _version_file(root: Path, model: str, version_id: str | None) -> Path:
    return root / "models" / model / "versions" / f"{version_id}.yaml"


@pytest.fixture(scope="session")
def sample_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sample]:
    saved = os.environ.get("MLTRAIL_AUTO_COMMIT")
    os.environ["MLTRAIL_AUTO_COMMIT"] = "0"
    argv = sys.argv
    # Runs record their script's git state: pytest's would be this checkout, whose
    # uncommitted diff (these tests' own text included) would show in the built sites.
    root = tmp_path_factory.mktemp("template") / "store"
    script = root.parent / "train.py"
    script.write_text("# the sample's script, outside any git repository\n")
    sys.argv = [str(script)]
    try:
        sample = _build_sample(root)
    finally:  # restored before any test runs: a session-long change would leak into
        # every later test of this worker (auto-commit off for unrelated tests)
        sys.argv = argv
        if saved is None:
            os.environ.pop("MLTRAIL_AUTO_COMMIT", None)
        else:
            os.environ["MLTRAIL_AUTO_COMMIT"] = saved
    yield sample


def copy_sample(template: Sample, root: Path) -> Sample:
    """A fresh copy of the sample store at ``root`` (without its derived cache)."""
    shutil.copytree(template.root, root, ignore=shutil.ignore_patterns(".cache", ".git"))
    return template.moved(root)


@pytest.fixture
def sample(
    sample_template: Sample, tmp_path: Path, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sample]:
    """A copy of the sample store for one test; the API is pointed at it."""
    monkeypatch.setenv("MLTRAIL_AUTO_COMMIT", "0")
    copied = copy_sample(sample_template, tmp_path / "store")
    mltrail.set_tracking_uri(copied.root)
    yield copied
    context.close_all()
    context.reset_tracking_uri()


def mltrail_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m mltrail ARGS`` in a fresh process: what a user sees on stdout/stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLTRAIL_", "MLFLOW_"))}
    return subprocess.run(
        [sys.executable, "-m", "mltrail", *args],
        capture_output=True,
        text=True,
        env={**env, "MLTRAIL_AUTO_COMMIT": "0"},
        timeout=120,
        check=False,
    )
