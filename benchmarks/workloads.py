"""One benchmark workload, run in its own process against MLflow or mltrail.

The same code drives both libraries: the module under test is imported under the name
``mlflow`` and only MLflow's public names are called on it. Usage::

    python benchmarks/workloads.py WORKLOAD --module {mlflow,mltrail} [--backend {file,sqlite}]
        --workdir DIR [--quick] [--n N ...]

Each run prints exactly one JSON line (prefixed with ``RESULT ``) on stdout: the workload,
the target and a list of figures. Benchmarks, not tests: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import Any

from model_workloads import MODEL_QUICK_SIZES, MODEL_SIZES, MODEL_WORKLOADS

RESULT_PREFIX = "RESULT "
REPEATS = 5  # timed calls after one warm-up; the median is reported
FILTER = "metrics.m0 < 0.5"
BATCH_LIMIT = 1_000  # MLflow's MAX_METRICS_PER_BATCH

# Sizes per workload and target ("mltrail", "mlflow-file", "mlflow-sqlite").
# MLflow gets smaller sizes where the full size would take minutes; per-unit figures
# are then extrapolated and labelled as such.
SIZES: dict[str, dict[str, list[int]]] = {
    "log_metric": {"mltrail": [100_000], "mlflow-file": [5_000], "mlflow-sqlite": [2_000]},
    "runs_1000": {"mltrail": [1_000], "mlflow-file": [1_000], "mlflow-sqlite": [200]},
    "search": {
        "mltrail": [1_000, 10_000],
        "mlflow-file": [1_000, 10_000],
        "mlflow-sqlite": [1_000, 10_000],
    },
    "history": {"mltrail": [100_000], "mlflow-file": [100_000], "mlflow-sqlite": [100_000]},
}
QUICK_SIZES: dict[str, dict[str, list[int]]] = {
    "log_metric": {"mltrail": [10_000], "mlflow-file": [500], "mlflow-sqlite": [200]},
    "runs_1000": {"mltrail": [100], "mlflow-file": [50], "mlflow-sqlite": [20]},
    "search": {"mltrail": [200, 1_000], "mlflow-file": [200, 1_000], "mlflow-sqlite": [200, 1_000]},
    "history": {"mltrail": [10_000], "mlflow-file": [10_000], "mlflow-sqlite": [10_000]},
}
FULL_SIZES = {"log_metric": 100_000, "runs_1000": 1_000}


@dataclass
class Figure:
    """One measured number; ``key`` lines figures up across targets."""

    key: str
    label: str
    value: float
    unit: str
    n: int
    note: str = ""


@dataclass
class Bench:
    """What a workload needs: the module under test, its client and where to write."""

    mod: ModuleType
    target: str
    workdir: Path
    sizes: list[int]
    figures: list[Figure] = field(default_factory=list)

    @cached_property
    def client(self) -> Any:
        return client_class(self.mod)()

    def add(self, key: str, label: str, value: float, unit: str, n: int, note: str = "") -> None:
        self.figures.append(Figure(key, label, value, unit, n, note))

    def flush(self) -> None:
        """Wait for pending writes/commits (mltrail); a no-op for MLflow."""
        flush = getattr(self.mod, "flush", None)
        if flush is not None:
            flush()


def client_class(mod: ModuleType) -> Any:
    cls = getattr(mod, "MlflowClient", None)
    if cls is None:
        cls = importlib.import_module(f"{mod.__name__}.tracking").MlflowClient
    return cls


def entities(mod: ModuleType) -> ModuleType:
    return importlib.import_module(f"{mod.__name__}.entities")


# --------------------------------------------------------------------------- setup


def open_store(module: str, backend: str, workdir: Path) -> ModuleType:
    """Import the module under test and point it at a fresh store in ``workdir``."""
    if module == "mlflow":
        os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        mlflow = importlib.import_module("mlflow")
        if backend == "file":
            uri = (workdir / "mlruns").as_uri()
        else:
            uri = f"sqlite:///{workdir / 'mlflow.db'}"
    else:
        mlflow = importlib.import_module("mltrail")
        uri = str(init_mltrail_store(workdir / "store"))
    mlflow.set_tracking_uri(uri)
    return mlflow


def init_mltrail_store(path: Path) -> Path:
    """Create a store with the ``mltrail init`` CLI (or ``python -m mltrail init``)."""
    script = Path(sys.executable).with_name("mltrail")
    commands = [[str(script), "init", str(path)]] if script.exists() else []
    commands.append([sys.executable, "-m", "mltrail", "init", str(path)])
    errors = []
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode == 0:
            return path
        errors.append(f"{' '.join(command)}: {done.stderr.strip()[-500:]}")
    raise SystemExit("could not create an mltrail store:\n" + "\n".join(errors))


def experiment_id(mod: ModuleType, name: str) -> str:
    return str(mod.set_experiment(name).experiment_id)


# --------------------------------------------------------------------------- helpers


def timed_calls(call: Callable[[], Any], repeats: int = REPEATS) -> tuple[float, float, Any]:
    """Seconds for the first (cold) call, median of ``repeats`` more, and the last result."""
    start = time.perf_counter()
    result = call()
    cold = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return cold, statistics.median(times), result


def reduced_note(n: int, full: int) -> str:
    return "" if n >= full else f"measured with {n:,} (reduced from {full:,}); per-unit figure"


def now_ms() -> int:
    return int(time.time() * 1000)


# --------------------------------------------------------------------------- workloads


def bench_log_metric(bench: Bench) -> None:
    """``n`` fluent log_metric calls inside one run; µs per call."""
    mlflow, (n,) = bench.mod, bench.sizes
    experiment_id(mlflow, "log_metric")
    start = time.perf_counter()
    with mlflow.start_run():
        for i in range(n):
            mlflow.log_metric("loss", float(i), step=i)
        loop = time.perf_counter() - start
    bench.flush()
    total = time.perf_counter() - start
    note = reduced_note(n, FULL_SIZES["log_metric"])
    bench.add(
        "log_metric_us",
        "log_metric per call, incl. end_run + commit",
        total / n * 1e6,
        "µs",
        n,
        note,
    )
    bench.add("log_metric_loop_us", "log_metric per call, calls only", loop / n * 1e6, "µs", n)


def log_one_run(mlflow: ModuleType, run: int, params: dict[str, int]) -> None:
    with mlflow.start_run():
        mlflow.log_params(params)
        for step in range(20):
            for m in range(5):
                mlflow.log_metric(f"m{m}", (run * 31 + step * 7 + m) % 100 / 100, step=step)
        mlflow.set_tags({"team": "bench", "kind": "sweep", "seed": str(run)})


def bench_runs_1000(bench: Bench) -> None:
    """Runs with 10 params, 5 metrics x 20 steps and 3 tags each; total seconds."""
    mlflow, (n,) = bench.mod, bench.sizes
    experiment_id(mlflow, "runs")
    params = {f"p{j}": j for j in range(10)}
    start = time.perf_counter()
    for run in range(n):
        log_one_run(mlflow, run, params)
    bench.flush()
    total = time.perf_counter() - start
    full = FULL_SIZES["runs_1000"]
    note = "" if n >= full else f"extrapolated from {n:,} runs ({total:.1f} s measured)"
    bench.add("runs_1000_s", "1,000 runs, total incl. commits", total / n * full, "s", n, note)


@dataclass(frozen=True)
class RunPayload:
    """What one search run holds: 5 metrics (one value), 10 params, 3 tags."""

    name: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


def payloads(first: int, count: int) -> Iterator[RunPayload]:
    """Deterministic runs ``first`` .. ``first + count - 1`` (same on every target)."""
    rng = random.Random(first)
    for i in range(first, first + count):
        yield RunPayload(
            name=f"r{i}",
            metrics={f"m{m}": rng.random() for m in range(5)},
            params={f"p{j}": str(rng.randint(0, 9)) for j in range(10)},
            tags={f"t{k}": f"v{i % (k + 2)}" for k in range(3)},
        )


def log_run_with_client(bench: Bench, exp_id: str, run: RunPayload) -> str:
    """The fastest public API path: create_run + one log_batch + set_terminated."""
    client, ent, ts = bench.client, entities(bench.mod), now_ms()
    run_id: str = client.create_run(exp_id, run_name=run.name).info.run_id
    client.log_batch(
        run_id,
        metrics=[ent.Metric(key, value, ts, 0) for key, value in run.metrics.items()],
        params=[ent.Param(key, value) for key, value in run.params.items()],
        tags=[ent.RunTag(key, value) for key, value in run.tags.items()],
    )
    client.set_terminated(run_id)
    return run_id


def create_runs(bench: Bench, exp_id: str, first: int, count: int) -> None:
    """Untimed setup: add ``count`` finished runs to the experiment.

    MLflow's file store scans the experiment directory on every run lookup, so through the
    API adding 10k runs there takes 7+ minutes; for it, only the first run goes through the
    API and the others are written in the same layout next to it.
    """
    runs = payloads(first, count)
    if bench.target == "mlflow-file":
        template = log_run_with_client(bench, exp_id, next(runs))
        write_file_store_runs(bench.workdir / "mlruns" / exp_id, template, runs)
    else:
        for run in runs:
            log_run_with_client(bench, exp_id, run)
    bench.flush()


def write_file_store_runs(exp_dir: Path, template_id: str, runs: Iterable[RunPayload]) -> None:
    """Write runs as MLflow's file store does (meta.yaml copied from a run it wrote)."""
    import yaml  # MLflow's venv has it; only this MLflow-only path needs it

    meta = yaml.safe_load((exp_dir / template_id / "meta.yaml").read_text())
    for run in runs:
        run_id, ts = uuid.uuid4().hex, now_ms()
        run_dir = exp_dir / run_id
        for sub in ("artifacts", "metrics", "params", "tags"):
            (run_dir / sub).mkdir(parents=True)
        artifact_uri = (run_dir / "artifacts").as_uri()
        fields = {"run_id": run_id, "run_name": run.name, "artifact_uri": artifact_uri}
        fields |= {"start_time": ts, "end_time": ts}
        (run_dir / "meta.yaml").write_text(yaml.safe_dump(meta | fields))
        for key, value in run.metrics.items():
            (run_dir / "metrics" / key).write_text(f"{ts} {value} 0\n")
        for folder, values in (("params", run.params), ("tags", run.tags)):
            for key, text in values.items():
                (run_dir / folder / key).write_text(text)
        (run_dir / "tags" / "mlflow.runName").write_text(run.name)


def size_tag(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 and n % 1000 == 0 else str(n)


def bench_search(bench: Bench) -> None:
    """search_runs (fluent with list output, and client) over N runs; cold and median ms."""
    mlflow, client = bench.mod, bench.client
    exp_id = experiment_id(mlflow, "search")
    calls = {
        "fluent": lambda: mlflow.search_runs(
            experiment_ids=[exp_id], filter_string=FILTER, output_format="list"
        ),
        "client": lambda: client.search_runs([exp_id], FILTER, max_results=50_000),
    }
    created = 0
    for n in bench.sizes:
        start = time.perf_counter()
        create_runs(bench, exp_id, created, n - created)
        setup_s, created = time.perf_counter() - start, n
        for api, call in calls.items():
            cold, median, found = timed_calls(call)
            key, label = f"search_{api}_{size_tag(n)}", f"search_runs ({api}), {n:,} runs"
            note = f"{len(found):,} runs match; adding the runs took {setup_s:.0f} s (untimed)"
            bench.add(f"{key}_ms", f"{label}, median", median * 1e3, "ms", n, note)
            bench.add(f"{key}_cold_ms", f"{label}, first call", cold * 1e3, "ms", n)


def bench_history(bench: Bench) -> None:
    """get_metric_history of one metric with N points (logged in batches of 1,000)."""
    mlflow, client, ent, (n,) = bench.mod, bench.client, entities(bench.mod), bench.sizes
    run_id = client.create_run(experiment_id(mlflow, "history")).info.run_id
    ts = now_ms()
    for first in range(0, n, BATCH_LIMIT):
        batch = range(first, min(first + BATCH_LIMIT, n))
        client.log_batch(run_id, metrics=[ent.Metric("loss", 1 / (i + 1), ts, i) for i in batch])
    client.set_terminated(run_id)
    bench.flush()
    cold, median, points = timed_calls(lambda: client.get_metric_history(run_id, "loss"))
    key, label = f"history_{size_tag(n)}", f"get_metric_history, {n:,} points"
    bench.add(
        f"{key}_ms", f"{label}, median", median * 1e3, "ms", n, f"{len(points):,} points returned"
    )
    bench.add(f"{key}_cold_ms", f"{label}, first call", cold * 1e3, "ms", n)


def wall_times(command: Sequence[str], cwd: Path, repeats: int = REPEATS) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def bench_import(module: str, workdir: Path) -> list[Figure]:
    """Wall time of ``python -c "import X"``, raw and minus ``python -c pass``."""
    python = sys.executable
    wall_times([python, "-c", f"import {module}"], workdir, repeats=1)  # warm caches, .pyc
    base = statistics.median(wall_times([python, "-c", "pass"], workdir))
    raw = statistics.median(wall_times([python, "-c", f"import {module}"], workdir))
    note = f"`python -c pass` takes {base * 1e3:.0f} ms"
    return [
        Figure("import_ms", "import, wall time", raw * 1e3, "ms", 1, note),
        Figure("import_net_ms", "import, minus interpreter start-up", (raw - base) * 1e3, "ms", 1),
    ]


WORKLOADS: dict[str, Callable[[Bench], None]] = {
    "log_metric": bench_log_metric,
    "runs_1000": bench_runs_1000,
    "search": bench_search,
    "history": bench_history,
    **MODEL_WORKLOADS,  # log_model, load_model, registry (model_workloads.py)
}
SIZES |= MODEL_SIZES
QUICK_SIZES |= MODEL_QUICK_SIZES
ALL_WORKLOADS = [*WORKLOADS, "import"]


# --------------------------------------------------------------------------- entry point


def target_name(module: str, backend: str) -> str:
    return "mltrail" if module == "mltrail" else f"mlflow-{backend}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=ALL_WORKLOADS)
    parser.add_argument("--module", choices=["mlflow", "mltrail"], required=True)
    parser.add_argument(
        "--backend",
        choices=["file", "sqlite"],
        default="file",
        help="MLflow tracking backend (ignored for mltrail)",
    )
    parser.add_argument("--workdir", type=Path, required=True, help="an empty scratch dir")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke check")
    parser.add_argument("--n", type=int, nargs="+", help="override the sizes")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, Any]:
    target = target_name(args.module, args.backend)
    if args.workload == "import":
        figures = bench_import(args.module, args.workdir)
    else:
        table = QUICK_SIZES if args.quick else SIZES
        sizes = args.n or table[args.workload][target]
        bench = Bench(
            open_store(args.module, args.backend, args.workdir), target, args.workdir, sizes
        )
        WORKLOADS[args.workload](bench)
        figures = bench.figures
    version = getattr(importlib.import_module(args.module), "__version__", "unknown")
    return {
        "workload": args.workload,
        "target": target,
        "version": version,
        "python": sys.version.split()[0],
        "figures": [asdict(f) for f in figures],
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    result = run(args)
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
