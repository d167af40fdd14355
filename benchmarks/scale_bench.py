"""Issue 13 §4 figures over the 100,000-run store of ``scale_store.py``.

Each step prints one ``RESULT {json}`` line (and the load average when it was taken):

- ``build``: ``mltrail build STORE -o SITE`` into an empty folder (wall time, the
  build's own summary, ``du -sb`` of the site and its number of files);
- ``rebuild``: one run added through the store's write path (auto-commit off), then
  ``mltrail build`` into the same folder; the run is removed again afterwards and the
  site built once more (not timed), so each round starts from a site and run index
  made without it, as a real new run would find them;
- ``page``: the experiment page in Chromium from ``file://`` (``site_browser``'s
  marks: table drawn, sort by ``metrics.val_loss`` answered), 3 times;
- ``search``: ``mltrail.search_runs(experiment_ids=["1"], filter_string=FILTER,
  output_format="list")`` in a new process, 3 times: the process's wall time, and
  inside it the import, the first call, a second call;
- ``clone``: ``git clone --no-local`` of the store's repository (git's pack transfer,
  as from a remote), its time and the clone's ``.git`` size;
- ``sync``: a bare hub made from the store (``git clone --bare --no-local``), two
  users' clones of it (``a``, ``b``); 3 times: one new run logged into ``a`` with
  auto-commit on (``write_run``, committed by the store), ``mltrail sync`` in ``a``
  (fetch, nothing to merge, push), then ``mltrail sync`` in ``b`` (fetch and
  fast-forward: the run arrives). The hub and clones are deleted afterwards.

Usage (the store made first by ``scale_store.py``)::

    .venv/bin/python benchmarks/scale_bench.py build rebuild page search clone sync
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import scale_store
import site_browser
import site_stores

STEPS = ["build", "rebuild", "page", "search", "clone", "sync"]
SPEC_RUNS = scale_store.SPEC.runs
FILTER = "metrics.val_loss < 0.3 and params.optimizer = 'adam'"
SEARCH = """
import time
t0 = time.perf_counter()
import mltrail
t1 = time.perf_counter()
mltrail.set_tracking_uri({store!r})
runs = mltrail.search_runs(experiment_ids=["1"], filter_string={filter!r}, output_format="list")
t2 = time.perf_counter()
again = mltrail.search_runs(experiment_ids=["1"], filter_string={filter!r}, output_format="list")
t3 = time.perf_counter()
print(len(runs), t1 - t0, t2 - t1, t3 - t2)
"""


def result(step: str, **figures: object) -> None:
    figures["load"] = os.getloadavg()[0]
    print("RESULT " + json.dumps({"step": step, **figures}), flush=True)


def mltrail_cli(*args: str) -> tuple[float, str]:
    exe = Path(sys.executable).with_name("mltrail")
    t0 = time.perf_counter()
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True, check=True)
    return time.perf_counter() - t0, (proc.stdout + proc.stderr).strip().splitlines()[-1]


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def build(store: Path, site: Path) -> None:
    if site.exists():
        shutil.rmtree(site)
    seconds, summary = mltrail_cli("build", str(store), "-o", str(site))
    size = scale_store.disk_usage(site)
    result("build", seconds=seconds, summary=summary, bytes=size, files=count_files(site))


def rebuild(store: Path, site: Path) -> None:
    from mltrail.store import FileStore

    run_id = site_stores.add_run(store, scale_store.SPEC, scale_store.SPEC.runs + 1)
    try:
        seconds, summary = mltrail_cli("build", str(store), "-o", str(site))
        result("rebuild", seconds=seconds, summary=summary)
    finally:
        shutil.rmtree(FileStore(store).run_path(run_id))
        mltrail_cli("build", str(store), "-o", str(site))


def page(site: Path) -> None:
    url = (site / "experiments" / site_stores.EXPERIMENT_ID / "index.html").as_uri()
    with site_browser.chromium() as browser:
        for _ in range(3):
            timings = site_browser.experiment_timings(browser, url, "metrics.val_loss")
            result("page", **timings)


def search(store: Path) -> None:
    search_in_new_processes("search", SEARCH.format(store=str(store), filter=FILTER))


def search_in_new_processes(step: str, code: str) -> None:
    """Run ``code`` (prints matches, import, first and second call) 3 times, one process each."""
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
        wall = time.perf_counter() - t0
        found, imported, first, second = int(out[0]), *map(float, out[1:])
        result(step, wall=wall, runs=found, import_s=imported, first_s=first, second_s=second)


def clone(store: Path, scratch: Path) -> None:
    target = scratch / "clone"
    if target.exists():
        shutil.rmtree(target)
    t0 = time.perf_counter()
    subprocess.run(["git", "clone", "-q", "--no-local", str(store), str(target)], check=True)
    seconds = time.perf_counter() - t0
    result(
        "clone",
        seconds=seconds,
        git_dir_bytes=scale_store.disk_usage(target / ".git"),
        work_tree_bytes=scale_store.disk_usage(target),
        store_git_dir_bytes=scale_store.disk_usage(store / ".git"),
    )


def timed_git(*args: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(["git", *args], check=True)
    return time.perf_counter() - t0


def sync(store: Path, scratch: Path) -> None:
    from mltrail.store import FileStore

    folder = scratch / "sync"
    if folder.exists():
        shutil.rmtree(folder)
    hub, a, b = folder / "hub.git", folder / "a", folder / "b"
    try:
        hub_s = timed_git("clone", "-q", "--bare", "--no-local", str(store), str(hub))
        clones_s = [timed_git("clone", "-q", str(hub), str(clone)) for clone in (a, b)]
        result("sync-setup", hub_s=hub_s, clone_a_s=clones_s[0], clone_b_s=clones_s[1])
        for n in range(1, 4):
            t0 = time.perf_counter()
            user = FileStore(a)  # auto-commit on: the run's end commits it
            run_id = site_stores.write_run(
                user, scale_store.SPEC, site_stores.run_spec(scale_store.SPEC, SPEC_RUNS + n)
            )
            user.close()  # waits for the commit
            logged = time.perf_counter() - t0
            push_s, push = mltrail_cli("sync", "--store", str(a))
            fetch_s, fetch = mltrail_cli("sync", "--store", str(b))
            arrived = FileStore(b).run_path(run_id).is_dir()
            result(
                "sync",
                log_and_commit_s=logged,
                push_side_s=push_s,
                push_side=push,
                fetch_side_s=fetch_s,
                fetch_side=fetch,
                arrived=arrived,
            )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("steps", nargs="+", choices=STEPS)
    parser.add_argument("--bench-dir", type=Path, default=site_stores.BENCH_DIR)
    args = parser.parse_args(argv)
    store = args.bench_dir / "stores" / scale_store.SPEC.name
    site = args.bench_dir / "sites" / scale_store.SPEC.name
    for step in args.steps:
        if step == "build":
            build(store, site)
        elif step == "rebuild":
            rebuild(store, site)
        elif step == "page":
            page(site)
        elif step == "search":
            search(store)
        elif step == "clone":
            clone(store, args.bench_dir)
        else:
            sync(store, args.bench_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
