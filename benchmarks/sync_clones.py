"""Many clones logging runs and running `mltrail sync` against one bare hub, all at once.

Each clone is a project repository with its store at `runs/`; one process per clone
loops: log a run (committed at its end), sync. When every loop is done, each clone
syncs twice more (so the last pushes reach everyone) and the script checks that every
run of every clone is in every clone and in the hub, and that `git fsck` is clean.
It prints one JSON line (figures and checks) to stdout, progress to stderr, and exits
1 when a check fails. `tests/store/test_sync_clones.py` runs it small; the figures in
benchmarks/README.md come from larger runs:

    python benchmarks/sync_clones.py --clones 4 --runs 25
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = """
import json, sys, time
from pathlib import Path
import mltrail
from mltrail.store.sync import sync_store
from mltrail.tracking import context

clone, runs = Path(sys.argv[1]), int(sys.argv[2])
mltrail.set_tracking_uri(str(clone / "runs"))
store = context.get_store(clone / "runs")
ids, syncs = [], []
for i in range(runs):
    with mltrail.start_run(run_name=f"{clone.name}-{i}") as run:
        mltrail.log_param("clone", clone.name)
        mltrail.log_metric("loss", 1.0 / (i + 1))
    ids.append(run.info.run_id)
    started = time.perf_counter()
    result = sync_store(store)
    syncs.append({"seconds": time.perf_counter() - started, "attempts": result.attempts})
print(json.dumps({"clone": clone.name, "run_ids": ids, "syncs": syncs}))
"""


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"git {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def mltrail_cli(repo: Path, *args: str) -> str:
    command = [sys.executable, "-m", "mltrail", *args]
    proc = subprocess.run(command, cwd=repo, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"mltrail {' '.join(args)} failed in {repo}: {proc.stderr.strip()}")
    return proc.stdout


def setup(workdir: Path, clones: int) -> tuple[Path, list[Path]]:
    """A bare hub holding a project with a store, and `clones` clones of it."""
    origin = workdir / "origin"
    origin.mkdir(parents=True)
    git(origin, "init", "-q", "-b", "main")
    for repo in [origin]:
        git(repo, "config", "user.name", "origin")
        git(repo, "config", "user.email", "origin@example.com")
    (origin / "README.md").write_text("# project\n")
    git(origin, "add", "README.md")
    git(origin, "commit", "-q", "-m", "Initial commit")
    mltrail_cli(origin, "init", "runs")
    hub = workdir / "hub.git"
    git(workdir, "clone", "-q", "--bare", str(origin), str(hub))
    paths = []
    for i in range(clones):
        path = workdir / f"clone{i}"
        git(workdir, "clone", "-q", str(hub), str(path))
        git(path, "config", "user.name", f"clone{i}")
        git(path, "config", "user.email", f"clone{i}@example.com")
        paths.append(path)
    return hub, paths


def run_ids(repo: Path, rev: str = "HEAD") -> set[str]:
    """Run ids in the store at `rev` of `repo` (a run is a folder with a run.yaml)."""
    listing = git(repo, "ls-tree", "-r", "--name-only", rev, "--", "runs/runs")
    return {p.split("/")[-2] for p in listing.splitlines() if p.endswith("/run.yaml")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clones", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5, help="runs each clone logs")
    parser.add_argument("--workdir", type=Path, help="kept afterwards (default: a temp dir)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="mltrail-sync-"))
    try:
        return _bench(workdir, args.clones, args.runs)
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)


def _bench(workdir: Path, clones: int, runs: int) -> int:
    hub, paths = setup(workdir, clones)
    print(f"{clones} clones x {runs} runs, syncing at once ...", file=sys.stderr)
    started = time.perf_counter()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(path), str(runs)],
            cwd=path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for path in paths
    ]
    outputs = [proc.communicate() for proc in procs]
    loop_seconds = time.perf_counter() - started
    failed = [err for proc, (_, err) in zip(procs, outputs, strict=True) if proc.returncode]
    if failed:
        print("a clone's loop failed:\n" + failed[0], file=sys.stderr)
        return 1
    reports = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    for _ in range(2):  # every clone's last push reaches every other clone
        for path in paths:
            mltrail_cli(path, "sync", "--store", "runs")
    logged = {run_id for report in reports for run_id in report["run_ids"]}
    syncs = [s for report in reports for s in report["syncs"]]
    seconds = sorted(s["seconds"] for s in syncs)
    checks = {
        "every_run_everywhere": all(run_ids(p) == logged for p in paths)
        and run_ids(hub, "main") == logged,
        "same_head_everywhere": len({git(p, "rev-parse", "HEAD") for p in [*paths]}) == 1,
        "clean_status": all(git(p, "status", "--porcelain") == "" for p in paths),
        "fsck_clean": all(
            subprocess.run(
                ["git", "-C", str(r), "fsck", "--strict"], capture_output=True
            ).returncode
            == 0
            for r in [hub, *paths]
        ),
    }
    print(
        json.dumps(
            {
                "clones": clones,
                "runs_per_clone": runs,
                "runs_logged": len(logged),
                "loop_seconds": round(loop_seconds, 2),
                "sync_median_seconds": round(statistics.median(seconds), 3),
                "sync_max_seconds": round(seconds[-1], 3),
                "max_attempts": max(s["attempts"] for s in syncs),
                "retried_syncs": sum(s["attempts"] > 1 for s in syncs),
                "checks": checks,
            },
            sort_keys=True,
        )
    )
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
