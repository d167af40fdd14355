"""Model workloads: ``log_model``, ``load_model`` + ``predict``, and the model registry.

Registered into ``workloads.py`` (run them with ``benchmarks/run.py --only log_model``,
``--only load_model``, ``--only registry``).  As there, the library under test is
imported as ``mlflow`` and only MLflow's public names are called, so one code path
drives both libraries on the same models: a ``LogisticRegression`` and a
``RandomForestClassifier`` (100 trees) fitted on iris, saved in the skops format (the
default of both) with a 5-row input example.

MLflow 3.17 refuses to save a tree model in skops format unless its "untrusted" types
are passed as ``skops_trusted_types``; both libraries get the same list (computed
untimed), so both run the very same call.

This module imports nothing from ``workloads.py`` (which imports it): a workload gets a
``Bench`` and uses its ``mod``, ``target``, ``workdir``, ``sizes``, ``client``, ``add``
and ``flush``.
"""

from __future__ import annotations

import importlib
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MODEL_NAME = "bench-model"
EXAMPLE_ROWS = 5
TARGETS = ("mltrail", "mlflow-file", "mlflow-sqlite")
# log_model / load_model: timed calls per model after the first (cold) one;
# registry: versions registered and transitioned.
MODEL_SIZES: dict[str, dict[str, list[int]]] = {
    "log_model": {t: [5] for t in TARGETS},
    "load_model": {t: [5] for t in TARGETS},
    "registry": {t: [100] for t in TARGETS},
}
MODEL_QUICK_SIZES: dict[str, dict[str, list[int]]] = {
    "log_model": {t: [2] for t in TARGETS},
    "load_model": {t: [2] for t in TARGETS},
    "registry": {t: [10] for t in TARGETS},
}
FULL_VERSIONS = 100


def iris_models() -> tuple[dict[str, tuple[str, Any, list[str]]], Any]:
    """{key: (label, fitted model, its skops trusted types)} and the iris features (a
    DataFrame).  Computing the trusted types imports skops: that stays untimed."""
    from sklearn.datasets import load_iris
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    fitted = {
        "lr": ("LogisticRegression", LogisticRegression(max_iter=1000).fit(x, y)),
        "rf": (
            "RandomForest (100 trees)",
            RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1).fit(x, y),
        ),
    }
    return {key: (label, m, trusted_types(m)) for key, (label, m) in fitted.items()}, x


def trusted_types(model: Any) -> list[str]:
    """The types skops will not load by default (MLflow needs them passed to save)."""
    import skops.io

    return list(skops.io.get_untrusted_types(data=skops.io.dumps(model)))


def log_one(mod: Any, model: Any, x: Any, trusted: list[str]) -> Any:
    """The call under test: log ``model`` as ``model`` in the active run."""
    flavor = importlib.import_module(f"{mod.__name__}.sklearn")
    return flavor.log_model(
        model, name="model", input_example=x.head(EXAMPLE_ROWS), skops_trusted_types=trusted or None
    )


def first_and_median(times: list[float]) -> tuple[float, float]:
    return times[0], statistics.median(times[1:])


def bench_log_model(bench: Any) -> None:
    """Seconds per ``log_model`` call (each in a new run), and per run with the call."""
    mlflow, (repeats,) = bench.mod, bench.sizes
    mlflow.set_experiment("log_model")
    models, x = iris_models()
    for key, (label, model, trusted) in models.items():
        calls, runs = [], []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            with mlflow.start_run():
                call_start = time.perf_counter()
                log_one(mlflow, model, x, trusted)
                calls.append(time.perf_counter() - call_start)
            bench.flush()  # mltrail: the run's commit, model files included
            runs.append(time.perf_counter() - start)
        what = f"log_model, {label} on iris"
        cold, median = first_and_median(calls)
        bench.add(f"log_model_{key}_s", f"{what}, median", median, "s", repeats)
        bench.add(f"log_model_{key}_cold_s", f"{what}, first call in the process", cold, "s", 1)
        run_median = first_and_median(runs)[1]
        label_run = f"{what}, with start_run/end_run (+ commit), median"
        bench.add(f"log_model_{key}_run_s", label_run, run_median, "s", repeats)


def bench_load_model(bench: Any) -> None:
    """Seconds for ``pyfunc.load_model(info.model_uri)`` + ``predict`` of the 150 rows."""
    mlflow, (repeats,) = bench.mod, bench.sizes
    mlflow.set_experiment("load_model")
    models, x = iris_models()
    pyfunc = importlib.import_module(f"{mlflow.__name__}.pyfunc")
    for key, (label, model, trusted) in models.items():
        with mlflow.start_run():
            uri = log_one(mlflow, model, x, trusted).model_uri
        bench.flush()
        expected = list(model.predict(x))
        times = []
        for _ in range(repeats + 1):
            start = time.perf_counter()
            predictions = pyfunc.load_model(uri).predict(x)
            times.append(time.perf_counter() - start)
        same = list(predictions) == expected
        what = f"load_model + predict (150 rows), {label}"
        cold, median = first_and_median(times)
        note = f"`{uri.split(':', 1)[0]}:` URI; predictions {'match' if same else 'DIFFER'}"
        bench.add(f"load_predict_{key}_s", f"{what}, median", median, "s", repeats, note)
        bench.add(f"load_predict_{key}_cold_s", f"{what}, first call", cold, "s", 1)


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def git_commits(bench: Any) -> int | None:
    """Commits in the mltrail store's repository (None for MLflow)."""
    if bench.target != "mltrail":
        return None
    store = Path(bench.workdir) / "store"
    done = subprocess.run(
        ["git", "-C", str(store), "rev-list", "--count", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return int(done.stdout) if done.returncode == 0 else None


def bench_registry(bench: Any) -> None:
    """N versions, each registered, moved to Staging, then to Production archiving the
    one before; total seconds (mltrail: every change is one git commit, included)."""
    mlflow, client, (n,) = bench.mod, bench.client, bench.sizes
    mlflow.set_experiment("registry")
    models, x = iris_models()
    _, model, trusted = models["lr"]
    with mlflow.start_run():
        uri = log_one(mlflow, model, x, trusted).model_uri
    bench.flush()
    commits_before = git_commits(bench)
    register = transition = 0.0
    for _ in range(n):
        spent, version = timed(lambda: mlflow.register_model(uri, MODEL_NAME).version)
        register += spent
        start = time.perf_counter()
        client.transition_model_version_stage(MODEL_NAME, version, "Staging")
        client.transition_model_version_stage(
            MODEL_NAME, version, "Production", archive_existing_versions=True
        )
        transition += time.perf_counter() - start
    spent, _ = timed(bench.flush)
    transition += spent
    production = client.get_latest_versions(MODEL_NAME, ["Production"])
    archived = client.search_model_versions(f"name = '{MODEL_NAME}'")
    n_archived = sum(v.current_stage == "Archived" for v in archived)
    note = f"Production: v{production[0].version}; {n_archived} archived"
    commits_after = git_commits(bench)
    if commits_before is not None and commits_after is not None:
        note += f"; {commits_after - commits_before} git commits"
    if n < FULL_VERSIONS:
        note += f"; {n} versions (quick)"
    what = f"{n} versions"
    total = register + transition
    bench.add(
        "registry_total_s", f"{what}: register + 2 transitions each, total", total, "s", n, note
    )
    bench.add("registry_register_s", f"{what}: register_model, total", register, "s", n)
    label = f"{what}: Staging, then Production with archive_existing_versions, total"
    bench.add("registry_transition_s", label, transition, "s", n)


MODEL_WORKLOADS: dict[str, Callable[[Any], None]] = {
    "log_model": bench_log_model,
    "load_model": bench_load_model,
    "registry": bench_registry,
}
