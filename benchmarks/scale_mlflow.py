"""The runs of the 100,000-run store in MLflow's SQLite store, and MLflow's search over them.

Run with MLflow's interpreter::

    /work/venvs/mlflow/bin/python benchmarks/scale_mlflow.py --runs 10000
    /work/venvs/mlflow/bin/python benchmarks/scale_mlflow.py --runs 100000 --bulk --check --search

The same runs as ``scale_store.py`` writes (run ``i`` of ``runs-100k``: names, times,
10 params, 3 tags, 5 metrics x 100 steps) go into
``$MLTRAIL_BENCH_DIR/mlflow/runs-100k-<runs>/mlflow.db`` (a ``.done`` marker beside it,
holding its URI and experiment id, is printed; an existing complete database is kept):

- by default all of them through MLflow's API, exactly as ``site_mlflow.py`` logs
  ``runs-1k`` (``create_run`` + one ``log_batch`` + ``set_terminated`` per run); this
  takes about two hours for 100,000 runs here (76 s per 1,000), hence ``--runs``;
- with ``--bulk``, the first ``--api-runs`` (10) through the API (MLflow creates its
  schema, the experiment and those runs), the rest with SQL into the tables an API-logged
  run fills (``runs``, ``tags``, ``params``, ``metrics``, ``latest_metrics``: nothing
  else), each row as MLflow writes it (``bulk_rows``; the constant columns copied from
  the first API-logged run). Minutes instead of hours.

``--check`` checks the bulk rows in a scratch database: the first ``--api-runs`` runs
logged through the API, then the same runs again in bulk; ``MlflowClient().get_run`` of
each must equal its API-logged twin field by field (run id and artifact URI aside).
``--search`` times, in a new process each, 3 times, what ``scale_bench.py search`` times
for mltrail: ``import mlflow``, the first ``mlflow.search_runs(experiment_ids=[id],
filter_string=FILTER, output_format="list")`` and a second call, one ``RESULT {json}``
line each.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
import sqlite3
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale_bench
import site_mlflow
import site_stores

#: MLflow's indexes on ``run_uuid``: dropped while the bulk rows go in, then made again
#: with MLflow's own statements (one sort each instead of 50 million random inserts).
RUN_INDEXES = (
    "index_metrics_run_uuid",
    "index_metrics_run_uuid_key_step",
    "index_latest_metrics_run_uuid",
    "index_params_run_uuid",
    "index_tags_run_uuid",
)
SEARCH = """
import time
t0 = time.perf_counter()
import mlflow
t1 = time.perf_counter()
mlflow.set_tracking_uri({uri!r})
runs = mlflow.search_runs(experiment_ids=[{experiment!r}], filter_string={filter!r},
                          output_format="list")
t2 = time.perf_counter()
again = mlflow.search_runs(experiment_ids=[{experiment!r}], filter_string={filter!r},
                           output_format="list")
t3 = time.perf_counter()
print(len(runs), t1 - t0, t2 - t1, t3 - t2)
"""


def spec_of(runs: int) -> site_stores.StoreSpec:
    """The ``runs-100k`` store's shape, cut to its first ``runs`` runs."""
    return dataclasses.replace(site_stores.SPECS["10k"], name="runs-100k", runs=runs)


def log_through_api(path: Path, runs: int) -> str:
    """Runs ``0 .. runs-1`` logged with MLflow's client into ``path``; the experiment id."""
    site_mlflow.SPEC = spec_of(runs)  # the module logs the runs of its SPEC
    return site_mlflow.import_runs(path)


def template_of(db: sqlite3.Connection) -> dict[str, Any]:
    """The ``runs`` row of the first API-logged run: the columns every run shares."""
    db.row_factory = sqlite3.Row
    row = db.execute("SELECT * FROM runs ORDER BY start_time LIMIT 1").fetchone()
    db.row_factory = None
    return dict(row)


def bulk_rows(
    spec: site_stores.StoreSpec, index: int, run_uuid: str, template: dict[str, Any]
) -> dict[str, list[tuple[Any, ...]]]:
    """The rows MLflow writes for run ``index`` (as ``site_mlflow.import_runs`` logs it)."""
    run = site_stores.run_spec(spec, index)
    old = template["run_uuid"]
    runs_row = {
        **template,
        "run_uuid": run_uuid,
        "name": run.name,
        "start_time": run.start_ms,
        "end_time": run.end_ms,
        "artifact_uri": template["artifact_uri"].replace(old, run_uuid),
    }
    tags = {
        **run.tags,
        "mlflow.user": template["user_id"],
        "mlflow.source.name": "train.py",
        "mlflow.source.type": "LOCAL",
        "mlflow.source.git.commit": run.commit,
        "mlflow.runName": run.name,
    }
    metrics = []
    latest = []
    for key, values in site_stores.metric_histories(spec, run):
        for step, value in enumerate(values):
            metrics.append((key, value, site_stores.step_time(spec, run, step), run_uuid, step, 0))
        last = len(values) - 1  # steps and times grow: the last point is the latest
        last_time = site_stores.step_time(spec, run, last)
        latest.append((key, values[last], last_time, last, 0, run_uuid))
    return {
        "runs": [tuple(runs_row.values())],
        "tags": [(key, value, run_uuid) for key, value in tags.items()],
        "params": [(key, value, run_uuid) for key, value in run.params.items()],
        "metrics": metrics,
        "latest_metrics": latest,
    }


def insert_runs(db_path: Path, spec: site_stores.StoreSpec, indexes: range) -> None:
    """Insert runs ``indexes`` of ``spec`` with SQL, beside the API-logged ones."""
    db = sqlite3.connect(db_path, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    db.execute("PRAGMA journal_mode = OFF")  # not persistent: MLflow's connections are as before
    db.execute("PRAGMA cache_size = -1000000")
    template = template_of(db)
    columns = {
        table: [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        for table in ("runs", "tags", "params", "metrics", "latest_metrics")
    }
    indexes_sql = [
        db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (name,)).fetchone()[0]
        for name in RUN_INDEXES
    ]
    rng = random.Random(f"mlflow/{spec.name}")
    db.execute("BEGIN")
    for name in RUN_INDEXES:
        db.execute(f"DROP INDEX {name}")
    for n, index in enumerate(indexes, 1):
        run_uuid = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        for table, rows in bulk_rows(spec, index, run_uuid, template).items():
            marks = ", ".join("?" * len(columns[table]))
            db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        if n % 5_000 == 0:
            site_stores.log(f"  MLflow bulk: {n:,} / {len(indexes):,} runs")
    site_stores.log("  MLflow bulk: making the run_uuid indexes again")
    for sql in indexes_sql:
        db.execute(sql)
    db.execute("COMMIT")
    db.close()


def bulk_import(path: Path, runs: int, api_runs: int) -> str:
    """All ``runs`` runs into ``path``: the first ``api_runs`` by the API, the rest bulk."""
    experiment_id = log_through_api(path, api_runs)
    insert_runs(path / "mlflow.db", spec_of(runs), range(api_runs, runs))
    return experiment_id


def comparable(run: Any) -> dict[str, Any]:
    """A run from ``MlflowClient.get_run`` as plain data, its id and artifact URI aside."""
    aside = ("_run_id", "_run_uuid", "_artifact_uri")
    info = {k: v for k, v in vars(run.info).items() if k not in aside}
    data = run.data
    return {"info": info, "params": data.params, "tags": data.tags, "metrics": data.metrics}


def check(api_runs: int) -> None:
    """Bulk rows read back by MLflow exactly as the API-logged runs they copy."""
    from mlflow.tracking import MlflowClient

    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch)
        experiment_id = log_through_api(path, api_runs)
        client = MlflowClient(tracking_uri=site_mlflow.backend_uri(path))
        api = {run.info.run_name: run for run in client.search_runs([experiment_id])}
        insert_runs(path / "mlflow.db", spec_of(api_runs), range(api_runs))
        bulk = {
            run.info.run_name: run
            for run in client.search_runs([experiment_id], max_results=2 * api_runs)
            if run.info.run_id != api[run.info.run_name].info.run_id
        }
        if sorted(bulk) != sorted(api):
            raise SystemExit(f"check: bulk runs {sorted(bulk)}, API-logged {sorted(api)}")
        for name, logged in api.items():
            pair = [client.get_run(run.info.run_id) for run in (logged, bulk[name])]
            histories = [
                [
                    (m.key, m.value, m.timestamp, m.step)
                    for key in site_stores.METRICS
                    for m in client.get_metric_history(run.info.run_id, key)
                ]
                for run in pair
            ]
            if comparable(pair[0]) != comparable(pair[1]) or histories[0] != histories[1]:
                raise SystemExit(f"check: {name} in bulk differs from {name} logged by the API")
        fields = ", ".join(sorted(field.lstrip("_") for field in comparable(pair[0])["info"]))
        print(
            f"check: {len(api)} runs, each the same logged by the API and in bulk: "
            f"{fields}, params, tags, latest metrics, metric histories"
        )


def search(info: dict[str, Any]) -> None:
    code = SEARCH.format(
        uri=info["backend_store_uri"], experiment=info["experiment_id"], filter=scale_bench.FILTER
    )
    scale_bench.search_in_new_processes("mlflow-search", code)


def ensure(path: Path, runs: int, bulk: bool, api_runs: int) -> dict[str, Any]:
    marker = path.with_name(path.name + ".done")
    if not marker.is_file():
        path.mkdir(parents=True, exist_ok=True)
        experiment_id = bulk_import(path, runs, api_runs) if bulk else log_through_api(path, runs)
        info = {"backend_store_uri": site_mlflow.backend_uri(path), "experiment_id": experiment_id}
        bulk_info = {"api_runs": api_runs} if bulk else {}
        marker.write_text(json.dumps({**info, "runs": runs, **bulk_info}) + "\n")
    info_: dict[str, Any] = json.loads(marker.read_text())
    return info_


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--bulk", action="store_true", help="all but --api-runs runs with SQL")
    parser.add_argument("--api-runs", type=int, default=10)
    parser.add_argument("--check", action="store_true", help="compare bulk and API-logged runs")
    parser.add_argument("--search", action="store_true", help="time MLflow's search, 3 times")
    parser.add_argument("--bench-dir", type=Path, default=site_stores.BENCH_DIR)
    args = parser.parse_args(argv)
    if args.check:
        check(args.api_runs)
    path = args.bench_dir / "mlflow" / f"runs-100k-{args.runs}"
    info = ensure(path, args.runs, args.bulk, args.api_runs)
    sys.stdout.write(json.dumps(info) + "\n")
    if args.search:
        search(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
