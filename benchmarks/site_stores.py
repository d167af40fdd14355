"""The synthetic stores of the site benchmarks, made deterministically and cached.

Three stores under ``$MLTRAIL_BENCH_DIR/stores`` (default ``/work/scratch/bench-site``),
each one experiment in its own git repository:

- ``runs-1k``: 1,000 runs, 10 params, 3 tags, 5 metrics x 100 steps each;
- ``runs-10k``: 10,000 runs of the same shape;
- ``long-20``: 20 runs with 5 metrics x 100,000 steps each.

A store is made once and reused while its ``<name>.done`` marker (beside it) exists;
a partial one (no marker) is made again. Runs go through the store's own write path
(``FileStore.create_run``, its ``RunWriter``, ``end_run``) with auto-commit off, then
one commit of everything. Names, params, tags, times and metric values depend only
on the run's index; run ids are made by the store from the start time and a seeded
random tail, so the same store comes out every time. Usage::

    /work/venv/bin/python benchmarks/site_stores.py [1k 10k long] [--force]

This module imports nothing outside the standard library at import time: MLflow's
venv imports it too (``site_mlflow.py``), to log the very same runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BENCH_DIR = Path(os.environ.get("MLTRAIL_BENCH_DIR") or "/work/scratch/bench-site")
BASE_MS = 1_767_225_600_000  # 2026-01-01 00:00:00 UTC
EXPERIMENT_ID = "1"
METRICS = ("loss", "val_loss", "accuracy", "val_accuracy", "grad_norm")
OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop")
SCHEDULERS = ("cosine", "linear", "constant")


@dataclass(frozen=True)
class StoreSpec:
    """One synthetic store: ``runs`` runs of ``steps`` steps per metric."""

    key: str
    name: str
    runs: int
    steps: int
    #: Milliseconds between two runs' starts and between two logged steps.
    run_gap_ms: int
    step_ms: int

    @property
    def experiment(self) -> str:
        return f"bench-{self.name}"


SPECS: dict[str, StoreSpec] = {
    "1k": StoreSpec("1k", "runs-1k", 1_000, 100, 60_000, 600),
    "10k": StoreSpec("10k", "runs-10k", 10_000, 100, 60_000, 600),
    "long": StoreSpec("long", "long-20", 20, 100_000, 7_200_000, 50),
}


@dataclass(frozen=True)
class RunSpec:
    """Everything one synthetic run logs, metric histories aside."""

    index: int
    name: str
    start_ms: int
    end_ms: int
    params: dict[str, str]
    tags: dict[str, str]
    commit: str


def run_spec(spec: StoreSpec, index: int) -> RunSpec:
    """Run ``index`` of ``spec``: the same on every call, in either venv."""
    rng = random.Random(f"{spec.name}/{index}")
    start = BASE_MS + index * spec.run_gap_ms
    params = {
        "lr": repr(10 ** rng.uniform(-4, -1)),
        "batch_size": str(rng.choice((16, 32, 64, 128, 256))),
        "optimizer": rng.choice(OPTIMIZERS),
        "dropout": f"{rng.uniform(0, 0.5):.2f}",
        "layers": str(rng.randint(1, 12)),
        "hidden": str(rng.choice((64, 128, 256, 512, 1024))),
        "weight_decay": repr(10 ** rng.uniform(-6, -2)),
        "warmup_steps": str(rng.randrange(0, 2_000, 100)),
        "seed": str(index),
        "scheduler": rng.choice(SCHEDULERS),
    }
    tags = {"team": rng.choice(("vision", "nlp", "tabular")), "sweep": f"s{index // 100}"}
    tags["priority"] = rng.choice(("low", "high"))
    return RunSpec(
        index=index,
        name=f"run-{index:05d}",
        start_ms=start,
        end_ms=start + spec.steps * spec.step_ms + 1_000,
        params=params,
        tags=tags,
        commit=f"{rng.getrandbits(160):040x}",
    )


def metric_values(spec: StoreSpec, index: int, key: str) -> list[float]:
    """A noisy training curve of ``spec.steps`` points for metric ``key`` of a run."""
    rng = random.Random(f"{spec.name}/{index}/{key}")
    rate = rng.uniform(2.0, 6.0) / spec.steps
    floor = rng.uniform(0.05, 0.4)
    noise = rng.uniform(0.005, 0.05)
    gauss = rng.gauss
    exp = math.exp
    if key.endswith("loss"):
        return [floor + 2.0 * exp(-rate * s) + abs(gauss(0, noise)) for s in range(spec.steps)]
    if key.endswith("accuracy"):
        top = 1.0 - floor / 2
        return [
            top - (top - 0.1) * exp(-rate * s) - abs(gauss(0, noise)) for s in range(spec.steps)
        ]
    return [abs(gauss(1.0, 0.3)) * (1 + exp(-rate * s)) for s in range(spec.steps)]


def metric_histories(spec: StoreSpec, run: RunSpec) -> Iterator[tuple[str, list[float]]]:
    for key in METRICS:
        yield key, metric_values(spec, run.index, key)


def step_time(spec: StoreSpec, run: RunSpec, step: int) -> int:
    return run.start_ms + step * spec.step_ms


# --------------------------------------------------------------------------- writing


def store_path(spec: StoreSpec, bench_dir: Path = BENCH_DIR) -> Path:
    return bench_dir / "stores" / spec.name


def marker_path(spec: StoreSpec, bench_dir: Path = BENCH_DIR) -> Path:
    return bench_dir / "stores" / f"{spec.name}.done"


def ensure_store(spec: StoreSpec, bench_dir: Path = BENCH_DIR, force: bool = False) -> Path:
    """The store of ``spec``, made first if it is missing (or partial, or ``force``)."""
    path, marker = store_path(spec, bench_dir), marker_path(spec, bench_dir)
    if marker.is_file() and path.is_dir() and not force:
        return path
    marker.unlink(missing_ok=True)
    if path.exists():
        shutil.rmtree(path)
    log(f"making the {spec.name} store ({spec.runs:,} runs x {spec.steps:,} steps) in {path}")
    started = time.perf_counter()
    write_store(spec, path)
    seconds = time.perf_counter() - started
    info = {"runs": spec.runs, "steps": spec.steps, "seconds": round(seconds, 1)}
    marker.write_text(json.dumps(info) + "\n")
    log(f"made {path} in {seconds:.0f} s")
    return path


@contextmanager
def auto_commit_off() -> Iterator[None]:
    """Write without background commits (one commit at the end is much faster)."""
    old = os.environ.get("MLTRAIL_AUTO_COMMIT")
    os.environ["MLTRAIL_AUTO_COMMIT"] = "false"
    try:
        yield
    finally:
        if old is None:
            del os.environ["MLTRAIL_AUTO_COMMIT"]
        else:
            os.environ["MLTRAIL_AUTO_COMMIT"] = old


@contextmanager
def seeded_run_ids(seed: str) -> Iterator[None]:
    """Make the store's random run-id tails come from a seeded generator."""
    from unittest import mock

    from mltrail.store import layout

    rng = random.Random(seed)
    with mock.patch.object(layout.secrets, "token_bytes", rng.randbytes):
        yield


def write_store(spec: StoreSpec, path: Path) -> None:
    from mltrail.store import init_store

    path.parent.mkdir(parents=True, exist_ok=True)
    with auto_commit_off(), seeded_run_ids(spec.name):
        store, _ = init_store(path, now_ms=BASE_MS)
        store.experiments.create(spec.experiment, experiment_id=EXPERIMENT_ID, now_ms=BASE_MS)
        for index in range(spec.runs):
            write_run(store, spec, run_spec(spec, index))
            if (index + 1) % 1_000 == 0 or spec.steps > 1_000:
                log(f"  {index + 1:,} / {spec.runs:,} runs")
        store.all_runs()  # builds the run index (.cache), as any search would
        store.close()
    if (path / ".git").is_dir():
        log("  committing the store")
        commit_all(path, f"Synthetic benchmark store {spec.name}")


def commit_all(path: Path, message: str) -> None:
    """One commit of the whole store with plain git.

    (``mltrail commit`` would do, but on 90,000 new files its ``git reset`` of the
    committed paths takes minutes: see the Site section of benchmarks/README.md.)
    """
    stamp = f"@{BASE_MS // 1000} +0000"
    env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    env |= {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
    for args in (["add", "-A", "--", "."], ["commit", "-q", "--no-verify", "-m", message]):
        subprocess.run(["git", "-C", str(path), *args], env=env, check=True)


def write_run(store: Any, spec: StoreSpec, run: RunSpec) -> str:
    """Log one run through the store's write path; returns its id."""
    record = {
        "run_name": run.name,
        "status": "RUNNING",
        "start_time": run.start_ms,
        "end_time": None,
        "user": "bench",
        "parent_run_id": None,
        "description": "",
        "source": {"name": "train.py", "type": "LOCAL", "git_commit": run.commit},
    }
    run_id: str = store.create_run(EXPERIMENT_ID, record, run.tags).info.run_id
    writer = store.writer(run_id)
    writer.log_params(run.params)
    for key, values in metric_histories(spec, run):
        log_metric = writer.log_metric
        for step, value in enumerate(values):
            log_metric(key, value, step, run.start_ms + step * spec.step_ms)
    store.end_run(run_id, "FINISHED", run.end_ms)
    return run_id


def add_run(path: Path, spec: StoreSpec, index: int) -> str:
    """Add run ``index`` (past the store's own) to the store at ``path``; its id."""
    from mltrail.store import FileStore

    with auto_commit_off():
        store = FileStore(path)
        run_id = write_run(store, spec, run_spec(spec, index))
        store.close()
    return run_id


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stores", nargs="*", help=f"some of {', '.join(SPECS)} (default: all)")
    parser.add_argument("--force", action="store_true", help="make them again")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.stores) - set(SPECS))
    if unknown:
        parser.error(f"unknown store {', '.join(unknown)}: choose from {', '.join(SPECS)}")
    for key in args.stores or SPECS:
        print(ensure_store(SPECS[key], force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
