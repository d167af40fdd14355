"""Speed of the static site (issue 3, section 8): builds, pages in Chromium, page weight,
and ``mltrail ui`` against ``mlflow server`` on the same 1,000 runs.

Usage (from the repository root; 4-8 min once the stores exist, more on a busy machine)::

    /work/venv/bin/python benchmarks/site_bench.py [--only build|browser|weight|servers]
        [--repeats 3] [--snapshot] [--out FILE] [--json FILE] [--mlflow-python PATH]

The synthetic stores (``site_stores.py``) and the MLflow copy of the 1,000 runs
(``site_mlflow.py``) are made on first use and cached under ``$MLTRAIL_BENCH_DIR``
(default ``/work/scratch/bench-site``); sites are built under its ``sites/`` folder.
Each measurement is repeated (3 times by default) and the median compared with its
target. Benchmarks, not tests: nothing asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import site_browser
import site_servers
import site_stores
from site_builds import bench_build, built_site, full_build
from site_report import Context, Figure, load_average, log, machine_lines, markdown, mltrail_command

REPO = Path(__file__).resolve().parent.parent
MEASUREMENTS = ["build", "browser", "weight", "servers"]
DEFAULT_MLFLOW_PYTHON = Path("/work/venvs/mlflow/bin/python")
SORT_COLUMN = "metrics.val_loss"
NOTES = {
    "cold": "`mltrail ui` builds the whole site into an empty `XDG_CACHE_HOME`, then serves "
    "it; timed until Chromium has drawn the runs table and it counts 1,000 runs",
    "warm": "the same again with the site of the previous start in the cache",
}
# Charts are drawn when they come near the viewport: scroll down until all five are.
LONG_READY = (
    "(() => { window.scrollTo(0, document.body.scrollHeight);"
    " return document.querySelectorAll('#run-charts [data-chart-kind]').length >= 5; })()"
)


# --------------------------------------------------------------------------- Chromium


def bench_browser(ctx: Context) -> None:
    """The 10,000-run experiment page from file://: table drawn, then a sort answered."""
    site = built_site(ctx, "10k")
    url = (site / "experiments" / site_stores.EXPERIMENT_ID / "index.html").as_uri()
    table = ctx.figure("page_table_ms", "Experiment page, 10,000 runs: table drawn", "ms", 1000)
    sort = ctx.figure("page_sorted_ms", "Experiment page, 10,000 runs: sort answered", "ms", 1000)
    latency = ctx.figure("sort_click_ms", "Experiment page, 10,000 runs: click to rows", "ms")
    load = ctx.figure("page_load_ms", "Experiment page, 10,000 runs: load event", "ms")
    runs_js = site / "experiments" / site_stores.EXPERIMENT_ID / "runs.js"
    trials = []
    with site_browser.chromium() as browser:
        site_browser.experiment_timings(browser, url, SORT_COLUMN)  # warm-up, not counted
        for i in range(ctx.repeats):
            t = site_browser.experiment_timings(browser, url, SORT_COLUMN)
            log(f"[browser] {i + 1}/{ctx.repeats}: {json.dumps(t)}")
            trials.append(t)
            table.add(t["table_ms"])
            sort.add(t["sorted_ms"])
            latency.add(t["sort_latency_ms"])
            load.add(t["load_ms"])
    ctx.raw["browser"] = trials
    last = trials[-1]
    table.note = (
        f"from navigation start (file://, a fresh page in a warm browser) to the next frame "
        f"after the first run row is in the DOM; `runs.js` is {runs_js.stat().st_size:,} bytes; "
        f"console errors: {sum(len(t['errors']) for t in trials)}"
    )
    sort.note = (
        f"a Playwright click on the `{SORT_COLUMN}` header as soon as the table is drawn, "
        f"until the next frame after the first row changed; afterwards the shown rows were "
        f"{'' if last['check']['ordered'] else 'NOT '}in ascending order "
        f"(aria-sort={last['check']['ariaSort']}, {last['check']['count']})"
    )


def bench_weight(ctx: Context) -> None:
    """Run pages of the 100,000-step store: their own bytes, without the shared assets."""
    spec = site_stores.SPECS["long"]
    store = site_stores.ensure_store(spec, ctx.bench_dir)
    out = ctx.sites / spec.name
    log(f"[weight] full build of {spec.name}")
    done = full_build(ctx, store, out)
    build = ctx.figure("build_long_s", "Full build, 20 runs x 5 metrics x 100,000 steps", "s")
    build.add(done.seconds)
    build.note = f"once; {done.cpu:.1f} s CPU; {done.summary}"
    own = {}
    csv = {}
    for run_dir in sorted((out / "runs").iterdir()):
        own[run_dir.name] = sum(
            (run_dir / name).stat().st_size for name in ("index.html", "data.js")
        )
        csv[run_dir.name] = sum(p.stat().st_size for p in (run_dir / "metrics").glob("*.csv"))
    heaviest = max(own, key=own.__getitem__)
    weight = ctx.figure(
        "run_page_kb", "Run page weight, 5 x 100,000 steps, heaviest run", "KB", 300
    )
    with site_browser.chromium() as browser:
        for _ in range(ctx.repeats):  # the same bytes every time: repeated as a check
            files, errors = site_browser.loaded_files(
                browser, (out / "runs" / heaviest / "index.html").as_uri(), LONG_READY
            )
            mine = [f for f in files if not f.is_relative_to(out / "assets")]
            weight.add(sum(f.stat().st_size for f in mine) / 1000)
    shared = [f for f in files if f.is_relative_to(out / "assets")]
    names = ", ".join(str(f.relative_to(out)) for f in mine)
    weight.note = (
        f"KB = 1,000 bytes. What Chromium loads for the page besides `assets/`: {names}. "
        f"The other runs: {min(own.values()) / 1000:.0f}-{max(own.values()) / 1000:.0f} KB "
        f"(page + data.js). Shared, cached assets loaded too: "
        f"{sum(f.stat().st_size for f in shared) / 1000:,.0f} KB in {len(shared)} files. "
        f"Full-history CSVs (downloads, not loaded): {csv[heaviest] / 1e6:.1f} MB per run. "
        f"Errors: {len(errors)}"
    )


# --------------------------------------------------------------------------- servers


def mlflow_copy(ctx: Context) -> dict[str, Any]:
    """The cached MLflow copy of the 1,000 runs (imported first if missing)."""
    env = {**os.environ, "MLTRAIL_BENCH_DIR": str(ctx.bench_dir), "MLFLOW_ALLOW_FILE_STORE": "true"}
    script = Path(__file__).with_name("site_mlflow.py")
    done = subprocess.run(
        [str(ctx.mlflow_python), str(script)], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing the runs into MLflow failed:\n{done.stderr[-3000:]}")
    info: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return info


def bench_servers(ctx: Context) -> None:
    spec = site_stores.SPECS["1k"]
    store = site_stores.ensure_store(spec, ctx.bench_dir)
    mlflow = mlflow_copy(ctx)
    logs = ctx.bench_dir / "logs"
    logs.mkdir(exist_ok=True)
    mlflow_bin = str(ctx.mlflow_python.with_name("mlflow"))
    cold = ctx.figure("ui_cold_s", "`mltrail ui` start to runs drawn, 1,000 runs, no cache", "s")
    warm = ctx.figure("ui_warm_s", "`mltrail ui` start to runs drawn, 1,000 runs, cached site", "s")
    served = ctx.figure("ui_http_s", "`mltrail ui` start to page served, no cache", "s")
    mlf = ctx.figure("mlflow_s", "`mlflow server` start to search returning 1,000 runs", "s")
    one = ctx.figure("mlflow_w1_s", "`mlflow server --workers 1`, the same", "s")
    with site_browser.chromium() as browser:
        for i in range(ctx.repeats):
            cache = ctx.bench_dir / "ui-cache"
            shutil.rmtree(cache, ignore_errors=True)
            os.sync()
            for figure, kind in ((cold, "cold"), (warm, "warm")):
                t = site_servers.time_mltrail_ui(
                    ctx.mltrail,
                    store,
                    cache,
                    browser,
                    spec.runs,
                    logs / f"ui-{kind}.log",
                )
                log(f"[servers] mltrail ui ({kind}) {i + 1}/{ctx.repeats}: {t}")
                figure.add(t["rows_s"])
                figure.note = f"{NOTES[kind]}; the last start said: {t['summary']}"
                if kind == "cold":
                    served.add(t["http_s"])
            for figure, extra in ((mlf, ()), (one, ("--workers", "1"))):
                os.sync()
                t = site_servers.time_mlflow_server(
                    mlflow_bin,
                    mlflow["backend_store_uri"],
                    Path(mlflow["folder"]),
                    str(mlflow["experiment_id"]),
                    spec.runs,
                    logs / f"mlflow-server{'-'.join(('', *extra))}.log",
                    extra,
                )
                log(f"[servers] mlflow server {' '.join(extra)} {i + 1}/{ctx.repeats}: {t}")
                figure.add(t["search_s"])
    add_ratios(ctx, mlf, cold, warm, mlflow)
    one.note = "the same with one uvicorn worker instead of 4 (less start-up work on 2 cores)"


def add_ratios(ctx: Context, mlf: Figure, cold: Figure, warm: Figure, mlflow: dict) -> None:
    for figure, label in ((cold, "no cache"), (warm, "cached site")):
        ratio = ctx.figure(f"ratio_{figure.key}", f"MLflow / mltrail, {label}", "x")
        ratio.values = [m / t for m, t in zip(mlf.values, figure.values, strict=True)]
    mlf.note = (
        f"SQLite backend (`{mlflow['backend_store_uri']}`; MLflow 3's default for `mlflow "
        f"server`/`mlflow ui` is `sqlite:///mlflow.db`), default 4 uvicorn workers; polled "
        f"every 50 ms; the runs were imported once in {mlflow['seconds']} s (untimed)"
    )


# --------------------------------------------------------------------------- entry point

STEPS = {
    "build": bench_build,
    "browser": bench_browser,
    "weight": bench_weight,
    "servers": bench_servers,
}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=MEASUREMENTS,
        metavar="STEP",
        help=f"run only this step (repeatable): {', '.join(MEASUREMENTS)}",
    )
    parser.add_argument("--repeats", type=int, default=3, help="times each figure is measured")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--json", type=Path, help="also write the raw figures (JSON) here")
    parser.add_argument(
        "--mlflow-python",
        type=Path,
        default=DEFAULT_MLFLOW_PYTHON,
        help="interpreter with mlflow 3.17.2 installed",
    )
    parser.add_argument(
        "--snapshot",
        action="store_true",
        help="run a copy of mltrail/, generator/ and themes/ taken at the start",
    )
    return parser.parse_args(argv)


def snapshot_code(bench_dir: Path) -> Path:
    """Copy mltrail/, generator/ and themes/ aside, and run that copy from now on.

    Every page's digest includes the generator's and the theme's files, so an edit of
    them during a measurement (other people working in the same tree) re-renders every
    page and spoils the incremental figures; the copy cannot change under the benchmark.
    """
    code = bench_dir / "code"
    shutil.rmtree(code, ignore_errors=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("mltrail", "generator", "themes"):
        shutil.copytree(REPO / name, code / name, ignore=ignore)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(code), os.environ.get("PYTHONPATH", "")) if p
    )
    sys.path.insert(0, str(code))
    return code


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.snapshot:
        log(f"running a copy of the code: {snapshot_code(site_stores.BENCH_DIR)}")
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    started_load = load_average()
    ctx = Context(
        site_stores.BENCH_DIR, args.repeats, mltrail_command(), args.mlflow_python, [], {}
    )
    ctx.sites.mkdir(parents=True, exist_ok=True)
    try:
        for step in args.only or MEASUREMENTS:
            STEPS[step](ctx)
    finally:
        site_servers.stop_all()
        shutil.rmtree(ctx.trash, ignore_errors=True)
    command = " ".join(["python", "benchmarks/site_bench.py", *(argv or sys.argv[1:])])
    report = markdown(ctx.figures, machine_lines(started_load, command))
    print(report)
    if args.out is not None:
        args.out.write_text(report)
    if args.json is not None:
        data = {"figures": [f.to_json() for f in ctx.figures], "raw": ctx.raw}
        args.json.write_text(json.dumps(data, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
