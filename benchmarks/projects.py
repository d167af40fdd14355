"""Project benchmarks: ``mltrail run`` against ``mlflow run`` on the same project (local env).

- start-to-child: seconds from launching the command to the first line of the entry point
  (the child prints ``time.time()``), and the whole command's wall time;
- a 20-run sweep with 2 at a time: ``mltrail run -P x=1,...,20 --jobs 2`` against a driver
  keeping two ``mlflow.projects.run(..., synchronous=False)`` in flight (MLflow has no sweep
  command); each child does a little work and logs one metric through its own library.

Rounds alternate between the tools. Prints a Markdown table; nothing here asserts on time.

    .venv/bin/python benchmarks/projects.py --rounds 3
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MLPROJECT = """
name: bench
entry_points:
  start:
    command: "python -c 'import time; print(time.time(), flush=True)'"
  train:
    parameters:
      x: {type: float, default: 1}
    command: "python train.py {x}"
"""
TRAIN = """
import os, sys
if os.environ.get("BENCH_LIBRARY") == "mlflow":
    import mlflow
else:
    import mltrail as mlflow
x = float(sys.argv[1])
total = sum(i * x for i in range(200_000))
with mlflow.start_run():
    mlflow.log_metric("total", total)
"""
MLFLOW_SWEEP = """
import sys, time, mlflow
runs, waiting = [], [str(i) for i in range(1, int(sys.argv[2]) + 1)]
running = []
while waiting or running:
    while waiting and len(running) < 2:
        running.append(mlflow.projects.run(sys.argv[1], "train", parameters={"x": waiting.pop(0)},
                                           env_manager="local", synchronous=False))
    for r in list(running):
        if r.get_status() != "RUNNING":
            running.remove(r)
    time.sleep(0.05)
"""


def _start(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    launched = time.time()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, check=True)
    finished = time.time()
    child = next(float(w) for w in done.stdout.split() if w.replace(".", "", 1).isdigit())
    return child - launched, finished - launched


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.monotonic()
    subprocess.run(command, env=env, cwd=cwd, capture_output=True, check=True)
    return time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sweep", type=int, default=20)
    parser.add_argument("--mltrail-python", default=sys.executable)
    parser.add_argument("--mlflow-python", default="/work/venvs/mlflow/bin/python")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mltrail-projects-bench-"))
    try:
        project = work / "project"
        project.mkdir()
        (project / "MLproject").write_text(MLPROJECT)
        (project / "train.py").write_text(TRAIN)
        mltrail_bin = str(Path(args.mltrail_python).parent / "mltrail")
        mlflow_bin = str(Path(args.mlflow_python).parent / "mlflow")
        subprocess.run([mltrail_bin, "init", str(work / "store")], check=True, capture_output=True)
        mltrail_env = {**os.environ, "MLTRAIL_TRACKING_URI": str(work / "store")}
        mlflow_env = {
            **os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "BENCH_LIBRARY": "mlflow",
            "MLFLOW_TRACKING_URI": f"file://{work / 'mlruns'}",
            "PATH": f"{Path(args.mlflow_python).parent}{os.pathsep}{os.environ['PATH']}",
        }  # fmt: skip
        values = ",".join(str(i) for i in range(1, args.sweep + 1))
        figures: dict[str, dict[str, list[float]]] = {"mlflow": {}, "mltrail": {}}
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}", file=sys.stderr)
            runs = {
                "mlflow": ([mlflow_bin, "run", str(project), "-e", "start", "--env-manager",
                            "local"],
                           [args.mlflow_python, "-c", MLFLOW_SWEEP, str(project), str(args.sweep)],
                           mlflow_env),
                "mltrail": ([mltrail_bin, "run", str(project), "-e", "start"],
                            [mltrail_bin, "run", str(project), "-e", "train", "-P", f"x={values}",
                             "--jobs", "2"], mltrail_env),
            }  # fmt: skip
            for tool, (start, sweep, env) in runs.items():
                to_child, whole = _start(start, env, work)
                found = figures[tool]
                found.setdefault("start to child (s)", []).append(to_child)
                found.setdefault("one run, whole command (s)", []).append(whole)
                label = f"{args.sweep}-run sweep, 2 at a time (s)"
                found.setdefault(label, []).append(_timed(sweep, env, work))
        print("| measure | MLflow 3.17.2 | mltrail | MLflow / mltrail |\n|---|---:|---:|---:|")
        for key in figures["mltrail"]:
            theirs, ours = figures["mlflow"][key], figures["mltrail"][key]
            ratio = statistics.median(theirs) / statistics.median(ours)
            cells = [", ".join(f"{v:.2f}" for v in vs) for vs in (theirs, ours)]
            print(f"| {key} | {cells[0]} | {cells[1]} | {ratio:.1f}× |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
