"""The first ``--runs`` runs of the 100,000-run store, logged into MLflow's SQLite store.

Run with MLflow's interpreter::

    /work/venvs/mlflow/bin/python benchmarks/scale_mlflow.py --runs 10000

The same runs as ``scale_store.py`` writes (run ``i`` of ``runs-100k``: names, times,
10 params, 3 tags, 5 metrics x 100 steps), logged exactly as ``site_mlflow.py`` logs
``runs-1k`` (``create_run`` + one ``log_batch`` + ``set_terminated`` per run) into
``$MLTRAIL_BENCH_DIR/mlflow/runs-100k-<runs>/mlflow.db``. Logging 100,000 runs this way
takes about two hours here (76 s per 1,000), hence ``--runs``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import site_mlflow
import site_stores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--bench-dir", type=Path, default=site_stores.BENCH_DIR)
    args = parser.parse_args(argv)
    spec = dataclasses.replace(site_stores.SPECS["10k"], name="runs-100k", runs=args.runs)
    site_mlflow.SPEC = spec  # the module logs the runs of its SPEC
    path = args.bench_dir / "mlflow" / f"{spec.name}-{args.runs}"
    marker = path.with_name(path.name + ".done")
    if not marker.is_file():
        path.mkdir(parents=True, exist_ok=True)
        experiment_id = site_mlflow.import_runs(path)
        info = {"backend_store_uri": site_mlflow.backend_uri(path), "experiment_id": experiment_id}
        marker.write_text(json.dumps({**info, "runs": args.runs}) + "\n")
    sys.stdout.write(marker.read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
