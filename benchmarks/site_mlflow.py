"""Log the 1,000 runs of the ``runs-1k`` benchmark store into MLflow, once, and cache them.

Run with MLflow's interpreter (mltrail never imports mlflow)::

    /work/venvs/mlflow/bin/python benchmarks/site_mlflow.py [--force]

The runs are the same as the mltrail store's (``site_stores.run_spec`` and
``metric_values``: names, start and end times, 10 params, 3 tags, the source commit,
5 metrics x 100 steps with their timestamps), logged with ``MlflowClient``:
``create_run`` + one ``log_batch`` + ``set_terminated`` per run. The backend is SQLite,
the default of ``mlflow server`` and ``mlflow ui`` in MLflow 3 (``sqlite:///mlflow.db``
in the working folder), here ``$MLTRAIL_BENCH_DIR/mlflow/runs-1k/mlflow.db``. The last
line on stdout is a JSON object: ``{"folder", "backend_store_uri", "experiment_id",
"runs", "seconds"}``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import site_stores

SPEC = site_stores.SPECS["1k"]


def folder(bench_dir: Path = site_stores.BENCH_DIR) -> Path:
    return bench_dir / "mlflow" / SPEC.name


def backend_uri(path: Path) -> str:
    return f"sqlite:///{path / 'mlflow.db'}"


def ensure_imported(bench_dir: Path = site_stores.BENCH_DIR, force: bool = False) -> dict:
    """The cached MLflow copy of the runs-1k store (made first if missing)."""
    path = folder(bench_dir)
    marker = path.with_name(f"{SPEC.name}.done")
    if marker.is_file() and path.is_dir() and not force:
        info: dict[str, Any] = json.loads(marker.read_text())
        return info
    marker.unlink(missing_ok=True)
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    started = time.perf_counter()
    experiment_id = import_runs(path)
    info = {
        "folder": str(path),
        "backend_store_uri": backend_uri(path),
        "experiment_id": experiment_id,
        "runs": SPEC.runs,
        "seconds": round(time.perf_counter() - started, 1),
    }
    marker.write_text(json.dumps(info) + "\n")
    return info


def import_runs(path: Path) -> str:
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=backend_uri(path))
    experiment_id: str = client.create_experiment(
        SPEC.experiment, artifact_location=(path / "mlartifacts").as_uri()
    )
    for index in range(SPEC.runs):
        run = site_stores.run_spec(SPEC, index)
        tags = {
            **run.tags,
            "mlflow.user": "bench",
            "mlflow.source.name": "train.py",
            "mlflow.source.type": "LOCAL",
            "mlflow.source.git.commit": run.commit,
        }
        run_id = client.create_run(
            experiment_id, start_time=run.start_ms, tags=tags, run_name=run.name
        ).info.run_id
        metrics = [
            Metric(key, value, site_stores.step_time(SPEC, run, step), step)
            for key, values in site_stores.metric_histories(SPEC, run)
            for step, value in enumerate(values)
        ]
        params = [Param(key, value) for key, value in run.params.items()]
        client.log_batch(run_id, metrics=metrics, params=params)
        client.set_terminated(run_id, "FINISHED", end_time=run.end_ms)
        if (index + 1) % 100 == 0:
            site_stores.log(f"  MLflow: {index + 1:,} / {SPEC.runs:,} runs")
    return experiment_id


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="import them again")
    args = parser.parse_args(argv)
    info = ensure_imported(force=args.force)
    sys.stdout.write(json.dumps(info) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
