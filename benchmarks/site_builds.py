"""The build measurements: a full build of the 10,000-run store, rebuilds after adding
one run and with nothing changed (``mltrail build`` in a subprocess, wall and CPU time)."""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import site_stores
from site_report import Context, log

SUMMARY_RE = re.compile(r"(\d+) pages written, (\d+) unchanged, .*?([\d.]+) s, ([\d.]+) MB")
CPU_NOTE = "user + system CPU time of `mltrail build` and its worker processes"


@dataclass(frozen=True)
class Build:
    """One ``mltrail build``: wall seconds, CPU seconds of all its processes, summary."""

    seconds: float
    user: float
    system: float
    summary: str

    @property
    def cpu(self) -> float:
        return self.user + self.system


def timed_build(ctx: Context, store: Path, out: Path) -> Build:
    """Time ``mltrail build STORE -o OUT`` (wall clock, and CPU of it and its workers)."""
    os.sync()  # write back the previous step's files first (untimed)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [*ctx.mltrail, "build", str(store), "-o", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    user = after.ru_utime - before.ru_utime
    system = after.ru_stime - before.ru_stime
    if done.returncode != 0:
        raise RuntimeError(f"mltrail build failed:\n{done.stderr[-3000:]}")
    summary = done.stdout.strip().splitlines()[-1]
    log(f"  {seconds:.1f} s ({user:.1f} s user, {system:.1f} s system CPU): {summary}")
    return Build(seconds, user, system, summary)


def full_build(ctx: Context, store: Path, out: Path) -> Build:
    """Build into an empty ``out``: a previous output is moved aside, deleted at the end.

    (Deleting ~90,000 files just before a build made the build's system CPU time grow
    from ~9 s to ~60 s on this VM: the file system's cost, not the generator's.)
    """
    if out.exists():
        ctx.trash.mkdir(exist_ok=True)
        out.rename(ctx.trash / f"{out.name}-{time.time_ns()}")
    return timed_build(ctx, store, out)


def bench_build(ctx: Context) -> None:
    """Full build of the 10,000-run store; rebuilds after adding one run, and unchanged."""
    spec = site_stores.SPECS["10k"]
    store = site_stores.ensure_store(spec, ctx.bench_dir)
    out = ctx.sites / spec.name
    full = ctx.figure("build_10k_s", "Full build, 10,000 runs", "s", 60)
    cpu = ctx.figure("build_10k_cpu_s", "Full build, 10,000 runs, CPU time", "s")
    split = []
    for i in range(ctx.repeats):
        log(f"[build] full build of {spec.name}, {i + 1}/{ctx.repeats}")
        build = full_build(ctx, store, out)
        full.add(build.seconds)
        cpu.add(build.cpu)
        split.append(f"{build.user:.1f} / {build.system:.1f}")
    full.note = f"`mltrail build` wall time into an empty folder; last summary: {build.summary}"
    cpu.note = f"{CPU_NOTE}; user / system seconds: {', '.join(split)}"
    log("[build] bringing the site up to date (untimed)")
    timed_build(ctx, store, out)
    before = code_state()
    added: list[str] = []
    try:
        bench_rebuilds(ctx, store, out, added)
    finally:
        remove_runs(store, added)
    if code_state() != before:
        ctx.figures[-1].note += (
            " WARNING: generator or theme files changed during the rebuilds (another "
            "process edits the tree), which re-renders every page: measure again."
        )
    log("[build] rebuilding after removing the added runs (untimed)")
    timed_build(ctx, store, out)


def bench_rebuilds(ctx: Context, store: Path, out: Path, added: list[str]) -> None:
    spec = site_stores.SPECS["10k"]
    one = ctx.figure("rebuild_one_s", "Rebuild after adding one run, 10,000 runs", "s", 2)
    cpu = ctx.figure("rebuild_one_cpu_s", "Rebuild after adding one run, CPU time", "s")
    cpu.note = CPU_NOTE
    for i in range(ctx.repeats):
        added.append(site_stores.add_run(store, spec, spec.runs + len(added)))
        log(f"[build] rebuild after adding run {added[-1]}, {i + 1}/{ctx.repeats}")
        build = timed_build(ctx, store, out)
        one.add(build.seconds)
        cpu.add(build.cpu)
        pages = SUMMARY_RE.search(build.summary)
        one.note = (
            f"last summary: {build.summary}"
            if pages is None
            else (
                f"{pages[1]} pages rendered (the new run's, its experiment's, home), "
                f"{pages[2]} unchanged; the build's own timer says {pages[3]} s "
                "(the rest: interpreter start and imports)"
            )
        )
    same = ctx.figure("rebuild_none_s", "Rebuild with nothing changed, 10,000 runs", "s")
    for i in range(ctx.repeats):
        log(f"[build] rebuild with nothing changed, {i + 1}/{ctx.repeats}")
        same.add(timed_build(ctx, store, out).seconds)


def code_state() -> list[tuple[str, int, int]]:
    """Names, sizes and times of the generator's and themes' files (part of every digest)."""
    import mltrail_generator

    root = Path(mltrail_generator.__file__).resolve().parent.parent
    files = [*(root / "generator").glob("*.py"), *(root / "themes").rglob("*")]
    return sorted((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.is_file())


def remove_runs(store: Path, run_ids: Sequence[str]) -> None:
    """Put the cached store back as it was (the added runs were never committed)."""
    from mltrail.store import layout

    for run_id in run_ids:
        shutil.rmtree(layout.run_dir(store, run_id), ignore_errors=True)


def built_site(ctx: Context, key: str) -> Path:
    """The site of store ``key``, built (untimed) unless an earlier step left it."""
    spec = site_stores.SPECS[key]
    store = site_stores.ensure_store(spec, ctx.bench_dir)
    out = ctx.sites / spec.name
    if not (out / ".mltrail-build.json").is_file():
        log(f"building {out} (untimed)")
        timed_build(ctx, store, out)
    return out
