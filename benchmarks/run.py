"""Run every benchmark workload against MLflow (file store, sqlite) and mltrail.

Each workload runs in its own subprocess with the right interpreter and a fresh temp dir
under $MLTRAIL_BENCH_DIR (default: the temp folder); the JSON results are collected into
one Markdown table with speed-up ratios and the targets from the scale-and-speed issue. Usage::

    /work/venv/bin/python benchmarks/run.py [--quick] [--only WORKLOAD] [--skip-mlflow]
        [--skip-mltrail] [--out FILE] [--json FILE]

The figures are reported, never asserted: benchmarks are not tests.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORKLOADS_PY = HERE / "workloads.py"
WORKLOADS = ["log_metric", "runs_1000", "search", "history", "import"]
#: In model_workloads.py; run with --only (not part of the default set).
MODEL_WORKLOADS = ["log_model", "load_model", "registry"]
RESULT_PREFIX = "RESULT "
MLFLOW_VERSION = "3.17.2"
DEFAULT_MLFLOW_PYTHON = Path("/work/venvs/mlflow/bin/python")
DEFAULT_MLTRAIL_PYTHON = Path("/work/venv/bin/python")
#: Where workloads create their stores. Both sides use the same folder; on this machine
#: /tmp creates files ~25x slower than /work, so set MLTRAIL_BENCH_DIR to a fast disk.
TMP_ROOT = Path(os.environ.get("MLTRAIL_BENCH_DIR") or tempfile.gettempdir())
MLFLOW_COLUMNS = ["mlflow-file", "mlflow-sqlite"]
COLUMNS = [*MLFLOW_COLUMNS, "mltrail"]
HEADINGS = {"mlflow-file": "MLflow file", "mlflow-sqlite": "MLflow sqlite", "mltrail": "mltrail"}


@dataclass(frozen=True)
class Target:
    """A library + backend to benchmark, and the interpreter that has it."""

    name: str
    python: Path
    module: str
    backend: str = "file"


# --------------------------------------------------------------------------- environments


def mlflow_venv_commands(python: Path) -> list[list[str]]:
    venv = python.parent.parent
    return [
        ["python3.11", "-m", "venv", str(venv)],
        [str(venv / "bin" / "pip"), "install", f"mlflow=={MLFLOW_VERSION}"],
    ]


def ensure_mlflow(python: Path) -> bool:
    """Create MLflow's venv if it is missing; False (with instructions) if that fails."""
    if python.exists():
        return True
    commands = mlflow_venv_commands(python)
    if shutil.which("python3.11") is not None:
        log(f"{python} is missing; creating MLflow's venv (takes a minute or two)")
        done = all(
            subprocess.run(c, stdout=sys.stderr, check=False).returncode == 0 for c in commands
        )
        if done and python.exists():
            return True
    manual = " && ".join(" ".join(c) for c in commands)
    log(f"MLflow side skipped: no interpreter at {python}. Create it with:\n  {manual}")
    return False


def mltrail_problem(python: Path) -> str | None:
    """Why mltrail cannot be benchmarked with ``python``, or None when it can."""
    if not python.exists():
        return f"no interpreter at {python}"
    check = "import mltrail; mltrail.set_tracking_uri"
    done = subprocess.run(
        [str(python), "-c", check], cwd=TMP_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode == 0:
        return None
    last = (done.stderr.strip().splitlines() or ["?"])[-1]
    install = f"{python.parent / 'pip'} install -e {HERE.parent}"
    return f"`{check}` fails ({last}); install it with `{install}`"


def targets_for(args: argparse.Namespace) -> list[Target]:
    targets = []
    if not args.skip_mlflow and ensure_mlflow(args.mlflow_python):
        targets += [
            Target("mlflow-file", args.mlflow_python, "mlflow", "file"),
            Target("mlflow-sqlite", args.mlflow_python, "mlflow", "sqlite"),
        ]
    if not args.skip_mltrail:
        problem = mltrail_problem(args.mltrail_python)
        if problem is None:
            targets.append(Target("mltrail", args.mltrail_python, "mltrail"))
        else:
            log(f"mltrail side skipped: {problem}")
    return targets


# --------------------------------------------------------------------------- running


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def workload_command(target: Target, workload: str, workdir: Path, quick: bool) -> list[str]:
    command = [str(target.python), str(WORKLOADS_PY), workload, "--module", target.module]
    command += ["--backend", target.backend, "--workdir", str(workdir)]
    return [*command, "--quick"] if quick else command


def parse_result(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    return None


def run_one(
    target: Target, workload: str, parent: Path, args: argparse.Namespace
) -> dict[str, Any] | None:
    """Run one workload in a fresh folder under ``parent``; None if it failed."""
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true"}
    d = Path(tempfile.mkdtemp(prefix=f"{workload}-{target.name}-", dir=parent))
    command = workload_command(target, workload, d / "work", args.quick)
    # Write back what the previous workload left in the page cache first, so no
    # target pays for the previous one's files (MLflow's file store leaves 10,000s).
    os.sync()
    log(f"[{workload}] {target.name}: running")
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=d, env=env, capture_output=True, text=True, timeout=args.timeout
        )
    except subprocess.TimeoutExpired:
        log(f"[{workload}] {target.name}: timed out after {args.timeout:.0f} s")
        return None
    elapsed = time.perf_counter() - start
    result = parse_result(done.stdout) if done.returncode == 0 else None
    if result is None:
        tail = "\n    ".join(done.stderr.strip().splitlines()[-15:])
        log(f"[{workload}] {target.name}: FAILED (exit {done.returncode})\n    {tail}")
        return None
    log(f"[{workload}] {target.name}: done in {elapsed:.1f} s")
    return result


def run_all(
    targets: Sequence[Target], workloads: Sequence[str], args: argparse.Namespace
) -> list[dict[str, Any]]:
    # Every workload's files stay until all are measured: deleting 10,000s of files
    # slows file creation on this machine for a minute after (ext4 `discard`), which
    # would bill one target for the files of the target before it.
    with tempfile.TemporaryDirectory(prefix="bench-", dir=TMP_ROOT) as parent:
        return [
            result
            for workload in workloads
            for target in targets
            for result in run_target(target, workload, Path(parent), args)
        ]


def run_target(
    target: Target, workload: str, parent: Path, args: argparse.Namespace
) -> list[dict[str, Any]]:
    """The results of one workload on one target (none if it failed or does not apply)."""
    if workload == "import" and target.name == "mlflow-sqlite":
        return []  # import time does not depend on the backend: measured once
    result = run_one(target, workload, parent, args)
    if result is None:
        return []
    if workload == "import" and target.module == "mlflow":
        return [result, {**result, "target": "mlflow-sqlite"}]
    return [result]


# --------------------------------------------------------------------------- reporting


def faster_than(factor: float, columns: Sequence[str]) -> Callable[[dict[str, float]], bool]:
    """A target check: mltrail at least ``factor`` x faster than the best of ``columns``."""

    def check(values: dict[str, float]) -> bool:
        return min(values[c] for c in columns) / values["mltrail"] >= factor

    return check


def at_most(limit: float) -> Callable[[dict[str, float]], bool]:
    return lambda values: values["mltrail"] <= limit


def both(*checks: Callable[[dict[str, float]], bool]) -> Callable[[dict[str, float]], bool]:
    return lambda values: all(check(values) for check in checks)


TENFOLD = ("≥10× vs fastest MLflow", faster_than(10, MLFLOW_COLUMNS))
TARGETS: dict[str, tuple[str, Callable[[dict[str, float]], bool]]] = {
    "log_metric_us": (
        "≥100× vs MLflow file, ≤ ~5 µs",
        both(faster_than(100, ["mlflow-file"]), at_most(5)),
    ),
    "runs_1000_s": ("≥20× vs fastest MLflow", faster_than(20, MLFLOW_COLUMNS)),
    "search_fluent_1k_ms": TENFOLD,
    "search_client_1k_ms": TENFOLD,
    "search_fluent_10k_ms": TENFOLD,
    "search_client_10k_ms": TENFOLD,
    "history_100k_ms": TENFOLD,
    "import_ms": ("≤150 ms", at_most(150)),
    "log_model_lr_s": ("≤0.1 s", at_most(0.1)),
}


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def collect(results: Sequence[dict[str, Any]]) -> tuple[dict, dict, dict[str, list[str]]]:
    """Figures by key and column, labels by key, and the figures' notes by label."""
    values: dict[str, dict[str, float]] = {}
    labels: dict[str, str] = {}
    notes: dict[str, list[str]] = {}
    for result in results:
        for figure in result["figures"]:
            values.setdefault(figure["key"], {})[result["target"]] = figure["value"]
            labels.setdefault(figure["key"], f"{figure['label']} ({figure['unit']})")
            if figure["note"]:
                note = f"{HEADINGS[result['target']]}: {figure['note']}"
                notes.setdefault(figure["label"], []).append(note)
    return values, labels, notes


def table_row(label: str, row: dict[str, float], target: tuple | None) -> str:
    mltrail = row.get("mltrail")
    ratios = [f"{row[c] / mltrail:,.1f}×" if mltrail and c in row else "–" for c in MLFLOW_COLUMNS]
    goal, met = ("", "")
    if target is not None:
        goal = target[0]
        if all(c in row for c in COLUMNS):
            met = "yes" if target[1](row) else "no"
    cells = [label, *(fmt(row.get(c)) for c in COLUMNS), *ratios, goal, met]
    return "| " + " | ".join(cells) + " |"


def markdown(results: Sequence[dict[str, Any]], args: argparse.Namespace) -> str:
    values, labels, notes = collect(results)
    head = ["Measurement", *(HEADINGS[c] for c in COLUMNS)]
    head += ["MLflow file / mltrail", "MLflow sqlite / mltrail", "Target", "Met"]
    lines = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(["---"] + ["---:"] * 5 + ["---", "---"]) + "|",
    ]
    lines += [table_row(labels[k], values[k], TARGETS.get(k)) for k in values]
    versions = {library(r["target"]): r["version"] for r in results}
    lines += ["", *machine_lines(versions, args), ""]
    lines += [f"- {label} — {'; '.join(texts)}" for label, texts in notes.items()]
    return "\n".join(lines) + "\n"


def library(target: str) -> str:
    return "MLflow" if target.startswith("mlflow") else "mltrail"


def machine_lines(versions: dict[str, str], args: argparse.Namespace) -> list[str]:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo() if line.startswith("model name")),
        platform.processor() or "unknown CPU",
    )
    libs = ", ".join(f"{name} {version}" for name, version in sorted(versions.items()))
    command = " ".join(["python", "benchmarks/run.py", *sys.argv[1:]])
    return [
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores ({cpu}), "
        f"{platform.system()} {platform.release()}; {libs}.",
        f"Command: `{command}`{' (quick sizes)' if args.quick else ''}. "
        "Ratios are MLflow time / mltrail time (higher = mltrail faster).",
    ]


def cpuinfo() -> list[str]:
    path = Path("/proc/cpuinfo")
    return path.read_text().splitlines() if path.exists() else []


# --------------------------------------------------------------------------- entry point


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        action="append",
        choices=[*WORKLOADS, *MODEL_WORKLOADS],
        metavar="WORKLOAD",
        help=f"run only this workload (repeatable): {', '.join([*WORKLOADS, *MODEL_WORKLOADS])}",
    )
    parser.add_argument("--skip-mlflow", action="store_true", help="benchmark mltrail only")
    parser.add_argument("--skip-mltrail", action="store_true", help="benchmark MLflow only")
    parser.add_argument("--quick", action="store_true", help="small sizes for a smoke check")
    parser.add_argument("--out", type=Path, help="also write the Markdown table here")
    parser.add_argument("--json", type=Path, help="also write the raw results (JSON) here")
    parser.add_argument(
        "--mlflow-python",
        type=Path,
        default=DEFAULT_MLFLOW_PYTHON,
        help="interpreter with mlflow installed (created if missing)",
    )
    parser.add_argument(
        "--mltrail-python",
        type=Path,
        default=DEFAULT_MLTRAIL_PYTHON,
        help="interpreter with mltrail installed",
    )
    parser.add_argument(
        "--timeout", type=float, default=1200, help="seconds allowed per workload process"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # On SIGTERM, unwind normally: the running workload is killed and its temp dir removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    targets = targets_for(args)
    if not targets:
        log("nothing to benchmark")
        return 1
    results = run_all(targets, args.only or WORKLOADS, args)
    report = markdown(results, args)
    print(report)
    if args.out is not None:
        args.out.write_text(report)
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
