"""`mltrail server` against `mlflow server` (SQLite backend), side by side in one run.

The same client workload, run by the real MLflow client (its own venv) against each
server in turn, each server a child process on a free loopback port over a fresh store:

- `mltrail server --store STORE` over a new git repository with `mltrail init`;
- `mlflow server --backend-store-uri sqlite:///DIR/mlflow.db` (its default backend).

Workload (one client process, MLflow's fluent API, `MLFLOW_ENABLE_ASYNC_LOGGING=false`):
N runs (default 1,000), each `with mlflow.start_run():` `log_params` (10),
`log_metrics` (5), `set_tags` (3). Timed inside the client: the loop. Then, for mltrail,
the time from the client's exit until every run is committed (`git status` clean under
the store) is added ("commits included"). Afterwards both stores are checked through the
REST API (N FINISHED runs, each with its 10 params, 5 metrics and 3 tags) and, for
mltrail, `git ls-files` counts N committed `run.yaml` files.

Usage (from the repository root):

    python benchmarks/server.py [--runs 1000] [--mlflow-python PATH] [--mltrail-python PATH]

Prints a Markdown table; ratios are MLflow time / mltrail time (higher: mltrail faster).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

from site_servers import free_port, start, stop

CLIENT = textwrap.dedent(
    """
    import json, sys, time
    import mlflow
    n = int(sys.argv[1])
    mlflow.set_experiment("bench")
    started = time.perf_counter()
    for i in range(n):
        with mlflow.start_run():
            mlflow.log_params({f"p{k}": f"{i}-{k}" for k in range(10)})
            mlflow.log_metrics({f"m{k}": (i * 7 + k) % 100 / 100 for k in range(5)})
            mlflow.set_tags({f"t{k}": str(k) for k in range(3)})
    loop = time.perf_counter() - started
    print(json.dumps({"loop_s": loop}))
    """
)

CHECK = textwrap.dedent(
    """
    import json, sys
    from mlflow import MlflowClient
    c = MlflowClient()
    exp = c.get_experiment_by_name("bench").experiment_id
    runs, token = [], None
    while True:
        page = c.search_runs([exp], max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            break
    ok = sum(1 for r in runs if r.info.status == "FINISHED" and len(r.data.params) == 10
             and len(r.data.metrics) == 5 and sum(k.startswith("t") for k in r.data.tags) == 3)
    print(json.dumps({"runs": len(runs), "complete": ok}))
    """
)


def _wait_up(port: int, log: Path, child: subprocess.Popen[bytes], path: str) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise SystemExit(f"server exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def _client(python: str, code: str, port: int, *args: str) -> dict[str, Any]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{port}",
           "MLFLOW_ENABLE_ASYNC_LOGGING": "false", "GIT_PYTHON_REFRESH": "quiet"}  # fmt: skip
    for key in ("MLTRAIL_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_EXPERIMENT_ID"):
        env.pop(key, None)
    out = subprocess.run([python, "-c", code, *args], env=env, capture_output=True, text=True,
                         check=False, cwd=tempfile.gettempdir())  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"client failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _git(store: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(store), *args], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip


def run_mltrail(python: str, mlflow_python: str, work: Path, n: int) -> dict[str, Any]:
    repo = work / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.name", "Bench")
    _git(repo, "config", "user.email", "bench@example.com")
    store = repo / "store"
    subprocess.run([python, "-m", "mltrail", "init", str(store)], check=True,
                   capture_output=True)  # fmt: skip
    port = free_port()
    log = work / "server.log"
    child = start([python, "-m", "mltrail", "server", "--store", str(store), "--port",
                   str(port)], work, dict(os.environ), log)  # fmt: skip
    try:
        _wait_up(port, log, child, "/health")
        result = _client(mlflow_python, CLIENT, port, str(n))
        tail_start = time.perf_counter()
        while _git(store, "status", "--porcelain", "--untracked-files=all", "--", "runs"):
            time.sleep(0.05)
        result["commit_tail_s"] = time.perf_counter() - tail_start
        result.update(_client(mlflow_python, CHECK, port))
    finally:
        stop(child)
    result["committed_runs"] = sum(
        1 for line in _git(store, "ls-files", "runs").splitlines() if line.endswith("/run.yaml")
    )
    result["commits"] = int(_git(repo, "rev-list", "--count", "HEAD"))
    return result


def run_mlflow(mlflow_python: str, work: Path, n: int) -> dict[str, Any]:
    port = free_port()
    log = work / "server.log"
    command = [mlflow_python, "-m", "mlflow", "server", "--backend-store-uri",
               f"sqlite:///{work / 'mlflow.db'}", "--default-artifact-root",
               str(work / "mlartifacts"), "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    child = start(command, work, dict(os.environ), log)
    try:
        _wait_up(port, log, child, "/health")
        result = _client(mlflow_python, CLIENT, port, str(n))
        result["commit_tail_s"] = 0.0
        result.update(_client(mlflow_python, CHECK, port))
    finally:
        stop(child)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--mlflow-python", default="/work/venvs/mlflow/bin/python")
    parser.add_argument("--mltrail-python", default=sys.executable)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="bench-server-", dir=os.environ.get("MLTRAIL_BENCH_DIR")))
    try:
        results = {}
        for name in ("mltrail", "mlflow"):
            work = base / name
            work.mkdir()
            print(f"{name}: {args.runs} runs ...", file=sys.stderr)
            if name == "mltrail":
                results[name] = run_mltrail(args.mltrail_python, args.mlflow_python, work,
                                            args.runs)  # fmt: skip
            else:
                results[name] = run_mlflow(args.mlflow_python, work, args.runs)
            print(f"{name}: {json.dumps(results[name])}", file=sys.stderr)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    _report(results, args.runs)


def _report(results: dict[str, dict[str, Any]], n: int) -> None:
    a, b = results["mlflow"], results["mltrail"]
    total_a, total_b = a["loop_s"], b["loop_s"] + b["commit_tail_s"]
    print("| Measurement | mlflow server (sqlite) | mltrail server | MLflow / mltrail |")
    print("|---|---:|---:|---:|")
    print(f"| {n:,} runs, client loop (s) | {a['loop_s']:.1f} | {b['loop_s']:.1f} | "
          f"{a['loop_s'] / b['loop_s']:.1f}× |")  # fmt: skip
    print(f"| {n:,} runs, incl. commits (s) | {total_a:.1f} | {total_b:.1f} | "
          f"{total_a / total_b:.1f}× |")  # fmt: skip
    print(f"| ms per run, incl. commits | {1000 * total_a / n:.1f} | {1000 * total_b / n:.1f} |  |")
    print()
    print(f"- complete runs read back: MLflow {a['complete']}/{a['runs']}, mltrail "
          f"{b['complete']}/{b['runs']}; mltrail committed {b['committed_runs']} runs in "
          f"{b['commits']} commits; the commits finished {b['commit_tail_s']:.2f} s after "
          "the client's last call.")  # fmt: skip
    print(
        f"- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} cores, "
        f"{platform.platform()}."
    )


if __name__ == "__main__":
    main()
