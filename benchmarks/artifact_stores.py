"""Artifact stores on S3 (issue 13 §1), against moto's S3 server on 127.0.0.1.

1. Upload: 100 artifacts of 1 MB logged with one ``log_artifacts`` call to an S3
   artifact store, parallel (the default) against sequential (one upload at a time),
   with the local blob folder for reference.
2. Listing and searching: ``search_runs`` with a filter, and ``list_artifacts`` of every
   run, over runs whose artifacts are all remote against the same runs kept locally;
   with the S3 server stopped for the remote store (neither may touch it).

Run: ``.venv/bin/python benchmarks/artifact_stores.py [--runs 300]`` (needs the test
extra: moto[server], s3fs). Prints a Markdown table; nothing here is a test.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _store(folder: Path, artifact_store: str) -> Path:
    from mltrail.store import init_store

    subprocess.run(["git", "init", "-q", str(folder)], check=True)
    subprocess.run(["git", "-C", str(folder), "config", "user.email", "b@example.com"], check=True)
    subprocess.run(["git", "-C", str(folder), "config", "user.name", "bench"], check=True)
    store, _ = init_store(folder / "runs")
    marker = store.root / "mltrail-store.yaml"
    record = yaml.safe_load(marker.read_text())
    record.update(artifact_store=artifact_store, artifact_store_files="all")
    marker.write_text(yaml.safe_dump(record))
    return store.root


def _timed(fn: Callable[[], object], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _upload(root: Path, files: Path, workers: int) -> float:
    import mltrail
    from mltrail.store import blobs

    mltrail.set_tracking_uri(root)
    blobs.UPLOAD_WORKERS = workers
    start = time.perf_counter()
    with mltrail.start_run():
        mltrail.log_artifacts(str(files))
    return time.perf_counter() - start


def _many_runs(root: Path, runs: int) -> None:
    import mltrail

    mltrail.set_tracking_uri(root)
    for i in range(runs):
        with mltrail.start_run():
            mltrail.log_metric("auc", i / runs)
            mltrail.log_text(f"report {i}", "reports/summary.txt")
    mltrail.flush()


def _read(root: Path) -> tuple[float, float]:
    import mltrail

    mltrail.set_tracking_uri(root)
    client = mltrail.MlflowClient()
    search = _timed(lambda: mltrail.search_runs(filter_string="metrics.auc > 0.5"))
    found = mltrail.search_runs(output_format="list")
    listing = _timed(lambda: [client.list_artifacts(r.info.run_id, "reports") for r in found])
    return search, listing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()
    from moto.server import ThreadedMotoServer

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_DEFAULT_REGION="us-east-1",
    )  # fmt: skip
    import boto3

    boto3.client("s3").create_bucket(Bucket="bench")
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        files = base / "files"
        files.mkdir()
        for i in range(100):
            (files / f"a{i:03}.bin").write_bytes(os.urandom(MB))
        _upload(_store(base / "w", "s3://bench/w"), files, 8)  # warm-up: imports, connections
        rows = [
            ("100 x 1 MB to S3, sequential",
             _upload(_store(base / "s", "s3://bench/s"), files, 1)),
            ("100 x 1 MB to S3, parallel (8 at once)",
             _upload(_store(base / "p", "s3://bench/p"), files, 8)),
            ("100 x 1 MB to the local blob folder",
             _upload(_store(base / "l", ".artifacts"), files, 8)),
        ]  # fmt: skip
        remote, local = _store(base / "rr", "s3://bench/rr"), _store(base / "rl", ".artifacts")
        _many_runs(remote, args.runs)
        _many_runs(local, args.runs)
        server.stop()  # the remote store is read with S3 down: nothing may need it
        for name, root in (("remote (S3 stopped)", remote), ("local", local)):
            search, listing = _read(root)
            rows.append((f"search_runs over {args.runs} runs, {name}", search))
            rows.append((f"list_artifacts of {args.runs} runs, {name}", listing))
    print("| measure | seconds |\n|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")


if __name__ == "__main__":
    main()
