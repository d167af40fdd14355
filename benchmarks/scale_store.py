"""The 100,000-run store of issue 13 §4, and the repository's size on disk as it grows.

Same shape as ``site_stores.py``'s ``runs-10k`` (10 params, 3 tags, 5 metrics x 100
steps; the same generator, so run ``i`` is the same run in both), written through the
store's own write path (``FileStore.create_run``, its ``RunWriter``, ``end_run``: what
``mltrail.start_run``/``log_*``/``end_run`` write), committed by mltrail itself every
``--batch`` runs (``mltrail.git.commit_paths`` of the store's ``runs`` folder: the
commit path of every mltrail commit, so its background ``git gc --auto`` runs as it
would under training; naming each of thousands of run folders instead makes git match
every name against every index entry, minutes per commit at this size). At 10,000 runs and at
the end it records the ``.git`` folder's size and ``git count-objects -v``, right after
the commit and again once the housekeeping it started has ended. Usage::

    .venv/bin/python benchmarks/scale_store.py [--runs 100000] [--batch 1000]

The store goes to ``$MLTRAIL_BENCH_DIR/stores/runs-100k`` (with a ``.done`` marker, and
``runs-100k.sizes.json`` holding the figures); an existing complete store is kept.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from site_stores import (
    BASE_MS,
    BENCH_DIR,
    EXPERIMENT_ID,
    StoreSpec,
    auto_commit_off,
    log,
    run_spec,
    seeded_run_ids,
    write_run,
)

SPEC = StoreSpec("100k", "runs-100k", 100_000, 100, 60_000, 600)
CHECKPOINTS = (10_000,)


def disk_usage(path: Path) -> int:
    """Bytes on disk under ``path`` (``du -sb``: apparent sizes)."""
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def count_objects(repo: Path) -> dict[str, int]:
    out = subprocess.run(
        ["git", "-C", str(repo), "count-objects", "-v"], capture_output=True, text=True, check=True
    ).stdout
    return {k: int(v) for k, v in (line.split(": ") for line in out.splitlines())}


def snapshot(repo: Path, runs: int, when: str) -> dict[str, object]:
    objects = count_objects(repo)
    figures = {
        "runs": runs,
        "when": when,
        "git_dir_bytes": disk_usage(repo / ".git"),
        "loose_objects": objects["count"],
        "loose_kib": objects["size"],
        "packed_objects": objects["in-pack"],
        "packs": objects["packs"],
        "pack_kib": objects["size-pack"],
    }
    log(f"  {json.dumps(figures)}")
    return figures


def wait_for_housekeeping(repo: Path) -> float:
    from mltrail.git import maintenance

    started = time.perf_counter()
    while maintenance.running(repo):
        time.sleep(0.5)
    return time.perf_counter() - started


def make(path: Path, runs: int, batch: int) -> list[dict[str, object]]:
    from mltrail.git import commit_paths
    from mltrail.store import init_store

    sizes: list[dict[str, object]] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with auto_commit_off(), seeded_run_ids(SPEC.name):
        store, _ = init_store(path, now_ms=BASE_MS)
        store.experiments.create(SPEC.experiment, experiment_id=EXPERIMENT_ID, now_ms=BASE_MS)
        store.commit_pending("Create the benchmark experiment")
        started = time.perf_counter()
        for index in range(runs):
            write_run(store, SPEC, run_spec(SPEC, index))
            done = index + 1
            if done % batch and done != runs:
                continue
            t0 = time.perf_counter()
            first = (done - 1) // batch * batch + 1
            commit_paths(path, [path / "runs"], f"Runs {first:,} to {done:,}")
            log(
                f"  {done:,} runs, {time.perf_counter() - started:.0f} s; "
                f"commit {time.perf_counter() - t0:.1f} s"
            )
            if done in CHECKPOINTS or done == runs:
                sizes.append(snapshot(path, done, "right after the commit"))
                waited = wait_for_housekeeping(path)
                sizes.append({**snapshot(path, done, "housekeeping ended"), "waited_s": waited})
        store.all_runs()  # the run index (.cache), as any search would build it
        store.close()
    return sizes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=SPEC.runs)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--bench-dir", type=Path, default=BENCH_DIR)
    args = parser.parse_args(argv)
    path = args.bench_dir / "stores" / SPEC.name
    marker = path.with_name(SPEC.name + ".done")
    if marker.is_file():
        print(path)
        return 0
    if path.exists():
        sys.exit(f"{path} exists but is not complete: remove it first")
    started = time.perf_counter()
    sizes = make(path, args.runs, args.batch)
    path.with_name(SPEC.name + ".sizes.json").write_text(json.dumps(sizes, indent=1) + "\n")
    marker.write_text(json.dumps({"runs": args.runs, "seconds": time.perf_counter() - started}))
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
