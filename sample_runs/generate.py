"""Regenerate the example store in ``sample_runs/store/`` (byte for byte).

    python sample_runs/generate.py [--out DIR]

The store is written through mltrail's public API (``import mltrail as mlflow``),
exactly as a training script would write it, with four experiments and a registry
(one module each in ``sample/``):

* ``breast-cancer-classification``: a scikit-learn grid search (a parent run with one
  child run per configuration, one of which FAILED), plus a baseline run; the logistic
  regressions log their model (``mltrail.sklearn.log_model``, skops format); every
  configuration logs its train/test splits as MLflow 3 datasets and links its metrics to
  its model and split, and one logistic regression is also run through
  ``mlflow.evaluate`` (MLflow's default evaluator: metrics and plots);
* ``diabetes-regression``: flat runs of several regressors (the linear ones log their
  model), a KILLED run and a deleted (not purged) run;
* ``training-curves``: three architectures x three learning rates as nested runs with
  2,000-step training curves (one run diverges and FAILS);
* the model registry: ``breast-cancer-classifier`` (four versions: Archived, None,
  Production with alias ``champion``, Staging with alias ``challenger``) and
  ``diabetes-regressor`` (two versions), registered from those runs' models;
* ``diabetes-sweep``: one sweep of the sample project ``sample_runs/project`` (an
  elastic net; entry points ``train`` and ``evaluate``), run by mltrail's projects
  machinery as ``mltrail run`` runs it: a parent run and six child processes.

Determinism: everything the libraries would take from the outside world is fixed
inside this script, for the duration of the generation (``sample.clock.deterministic``);
mltrail itself is not changed.  The public API cannot choose ids, times, or the source
record, so those sources are patched here, and only here:

* the clock: ``time.time`` is a simulated clock that only moves when the script
  advances it: run, experiment, deletion and registry times, the MLmodel's
  ``utc_time_created`` (its ``datetime`` is swapped for one that reads the clock) and
  the entry times inside skops files (``zipfile`` reads the clock, in UTC);
* randomness: run, experiment and registry version ids and generated run names come
  from the ``secrets`` module, and ``model_uuid`` from ``uuid``; those module
  references are replaced by seeded stand-ins, so the ids keep their real format
  (time-sortable, UUIDv7-like; UUID4) but repeat.  skops names the arrays of a model
  file and tags its objects by ``id()`` (a memory address): it numbers them in order;
* the source record (script, host, platform, Python, git commit) is replaced by a
  fixed one without git fields: the real one names this machine and the commit being
  worked on, which changes with every commit of this repository;
* the user comes from ``MLTRAIL_USER``; auto-commit is off (``MLTRAIL_AUTO_COMMIT=0``)
  because the store is committed as ordinary files of the mltrail repository (so the
  registry's history, read from git, is this repository's own log);
* the sample project's runs (``sample.project``): their source is the last commit
  that touched ``sample_runs/project`` (so the project must be committed before the
  store is generated from it: change the project, commit, regenerate, commit the store;
  uncommitted changes to it are refused), with the folder as source name and sub-folder
  and no repository URL or branch; the children are separate processes, which the
  stand-ins above do not reach: this script puts ``sample/child/sitecustomize.py`` on
  their ``PYTHONPATH``, which freezes their ``time.time`` at an instant of the simulated
  clock (``SAMPLE_RUNS_CLOCK_MS``), and runs them one at a time.  Without git, or in a
  source archive or a shallow clone, the script says so and exits with status 3
  (``NO_HISTORY``) before deleting anything.

Models are trained for real on scikit-learn's bundled datasets (no download) with fixed
seeds; logged values are rounded to 6 decimals so the last-bit noise of a BLAS does not
show.  A model file keeps every bit of its coefficients, though, and OpenBLAS picks its
kernel by processor (AVX-512 machines get ``SkylakeX``, whose sums round differently):
on an x86-64 processor with AVX2 this script asks for the ``Haswell`` kernel, the one
the committed store was made with.  The training curves are simulated from a seeded noise model.  Byte-identical
output needs the same Python, scikit-learn, numpy, scipy, skops, matplotlib and Pillow
versions (the PNGs, the model files, and the Python version and pinned requirements a
logged model records): they are recorded in each experiment's ``environment`` tag. The
pip and setuptools versions a model's python_env.yaml names are fixed (a fresh venv's
pip differs from a developer's).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

os.environ["MLTRAIL_AUTO_COMMIT"] = "0"  # read when the store is opened: set it first
os.environ["MLTRAIL_USER"] = "sample"


def _pin_blas_kernel() -> None:
    """Ask OpenBLAS for one kernel on every AVX2 processor (read before numpy loads)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return
    if " avx2" in flags:
        os.environ["OPENBLAS_CORETYPE"] = "Haswell"


_pin_blas_kernel()

import matplotlib

import mltrail as mlflow
from mltrail.store import layout
from mltrail.tracking import context

from sample.classification import classification
from sample.clock import SimulatedClock, deterministic
from sample.common import EPOCH_MS
from sample.curves import training_curves
from sample.models import registry
from sample.project import MissingHistory, project_commit, project_sweep
from sample.regression import regression

DEFAULT_OUT = Path(__file__).resolve().parent / "store"
#: The exit status when git or the project's history is missing (the tests skip on it).
NO_HISTORY = 3


def generate(out: Path) -> None:
    out = out.resolve()
    try:
        commit = project_commit()  # before anything is deleted
    except MissingHistory as e:
        print(
            f"generate.py: {e}. The runs of the sample project record the last commit of "
            "sample_runs/project, which needs git and this repository's history: generate "
            "the store in a full git clone of mltrail.",
            file=sys.stderr,
        )
        sys.exit(NO_HISTORY)
    if out.exists():
        if not (out / layout.MARKER).is_file() and any(out.iterdir()):
            sys.exit(f"{out} exists and is not an mltrail store: refusing to delete it.")
        shutil.rmtree(out)
    matplotlib.rcdefaults()  # ignore any matplotlibrc of this machine: the PNGs must not vary
    clock = SimulatedClock(EPOCH_MS)
    with deterministic(clock):
        mlflow.set_tracking_uri(out)
        classification(clock)
        regression(clock)
        training_curves(clock)
        registry(clock)
        project_sweep(clock, commit)
        mlflow.flush()
    context.close_all()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"store folder (default: {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    generate(args.out)
    total = sum(
        p.stat().st_size
        for p in args.out.rglob("*")
        if p.is_file() and not {".cache", ".git"} & set(p.parts)
    )
    print(f"wrote {args.out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
