"""Serving benchmarks: ``mltrail models serve`` against ``mlflow models serve``, side by side.

One small scikit-learn model (a LogisticRegression on iris, four double columns, saved by
mltrail with its signature; MLflow loads the same folder) is served by each server in
turn, in alternating rounds. For each server and round:

- start: seconds from launching the command to the first 200 on ``GET /ping``;
- throughput and latency: ``wrk`` (the same load generator for both) posting a one-row
  ``dataframe_split`` request to ``/invocations``, at concurrency 1 and 16;

``--batch`` also scores 1,000,000 CSV rows with ``models predict`` of each, under
``/usr/bin/time`` (wall time and peak memory). ``--candidates`` instead compares ASGI
servers running mltrail's app (the choice recorded in docs/SERVING.md).

Needs: Debian's ``wrk`` (``apt-get install -y wrk``), MLflow 3.17.2 in its own venv
(``--mlflow-python``), and for ``--candidates`` granian and hypercorn in mltrail's venv.
Prints a Markdown table; nothing here asserts on time.

    .venv/bin/python benchmarks/serving.py --rounds 3 --duration 10 --batch
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BODY = {
    "dataframe_split": {
        "columns": ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                    "petal width (cm)"],
        "data": [[5.1, 3.5, 1.4, 0.2]],
    }
}  # fmt: skip
MAKE_MODEL = """
import sys, mltrail.sklearn
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from mltrail.models import infer_signature
X, y = load_iris(return_X_y=True, as_frame=True)
m = LogisticRegression(max_iter=500).fit(X, y)
mltrail.sklearn.save_model(m, sys.argv[1], signature=infer_signature(X, m.predict(X)))
import mltrail.pyfunc, bench_models
mltrail.pyfunc.save_model(sys.argv[2], python_model=bench_models.Identity())
"""
CUSTOM_MODEL = """
import mltrail.pyfunc
class Identity(mltrail.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input
"""
LOAD = "import sys, mltrail.pyfunc; mltrail.pyfunc.load_model(sys.argv[1])"
FACTORY = """
import os
import mltrail.pyfunc
from mltrail.serving.app import ScoringApp
def make():
    return ScoringApp(mltrail.pyfunc.load_model(os.environ["BENCH_MODEL"]), version="bench")
"""


def _wait_ping(port: int, proc: subprocess.Popen[bytes], limit: float = 120) -> float:
    start = time.monotonic()
    while time.monotonic() - start < limit:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1) as r:
                if r.status == 200:
                    return time.monotonic() - start
        except OSError:
            time.sleep(0.01)
    raise RuntimeError("no 200 on /ping")


def _wrk(port: int, connections: int, duration: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", str(script),
         f"http://127.0.0.1:{port}/invocations"],
        capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stderr}")
    out = out.stdout
    if "Non-2xx" in out:
        raise RuntimeError(f"errors under load:\n{out}")
    found = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])}  # type: ignore[index]
    for label, key in (("50%", "p50_ms"), ("99%", "p99_ms")):
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        found[key] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return found


def _measure(command: list[str], port: int, args: argparse.Namespace, env: dict[str, str],
             script: Path) -> dict[str, float]:  # fmt: skip
    proc = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,  # MLflow's command runs uvicorn in a child: stop them all
    )  # fmt: skip
    try:
        result = {"start_s": _wait_ping(port, proc)}
        _wrk(port, 4, 2, script)  # warm-up
        for c in (1, 16):
            for key, value in _wrk(port, c, args.duration, script).items():
                result[f"c{c}_{key}"] = value
        return result
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        while _port_taken(port):
            time.sleep(0.1)


def _timed(command: list[str], env: dict[str, str]) -> float:
    start = time.monotonic()
    subprocess.run(command, env=env, check=True)
    return time.monotonic() - start


def _start_only(command: list[str], port: int, env: dict[str, str]) -> float:
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)  # fmt: skip
    try:
        return _wait_ping(port, proc)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
        while _port_taken(port):
            time.sleep(0.1)


def _port_taken(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _servers(args: argparse.Namespace, model: Path, port: int) -> dict[str, list[str]]:
    mltrail = str(Path(args.mltrail_python).parent / "mltrail")
    mlflow = str(Path(args.mlflow_python).parent / "mlflow")
    if not args.candidates:
        return {
            "mlflow": [mlflow, "models", "serve", "-m", str(model), "-p", str(port),
                       "--env-manager", "local"],
            "mltrail": [mltrail, "models", "serve", "-m", str(model), "-p", str(port)],
        }  # fmt: skip
    bin_dir = Path(args.mltrail_python).parent
    uvicorn = [str(bin_dir / "uvicorn"), "--factory", "bench_factory:make", "--port", str(port),
               "--log-level", "warning", "--no-access-log"]  # fmt: skip
    return {
        "uvicorn (h11, asyncio)": [*uvicorn, "--http", "h11", "--loop", "asyncio"],
        "uvicorn (httptools, uvloop)": [*uvicorn, "--http", "httptools", "--loop", "uvloop"],
        "granian": [str(bin_dir / "granian"), "--interface", "asgi", "--factory", "--port",
                    str(port), "--log-level", "warning", "bench_factory:make"],
        "hypercorn (uvloop)": [str(bin_dir / "hypercorn"), "-b", f"127.0.0.1:{port}", "-k",
                               "uvloop", "bench_factory:make()"],
    }  # fmt: skip


def _batch(
    args: argparse.Namespace, model: Path, work: Path, env: dict[str, str]
) -> dict[str, Any]:
    import numpy as np

    rows = work / "rows.csv"
    rng = np.random.default_rng(0)
    data = rng.normal(5, 2, size=(args.batch_rows, 4)).round(3)
    header = ",".join(BODY["dataframe_split"]["columns"])  # type: ignore[arg-type]
    np.savetxt(rows, data, delimiter=",", header=header, comments="", fmt="%.3f")
    tools = {
        "mlflow": [str(Path(args.mlflow_python).parent / "mlflow"), "models", "predict",
                   "--env-manager", "local"],
        "mltrail": [str(Path(args.mltrail_python).parent / "mltrail"), "models", "predict"],
    }  # fmt: skip
    found: dict[str, Any] = {name: [] for name in tools}
    for _ in range(args.rounds):
        for name, tool in tools.items():
            out = work / f"{name}.json"
            timed = subprocess.run(
                ["/usr/bin/time", "-f", "%e %M", *tool, "-m", str(model), "-i", str(rows),
                 "-t", "csv", "-o", str(out)],
                env=env, capture_output=True, text=True, check=True,
            )  # fmt: skip
            seconds, kb = timed.stderr.strip().splitlines()[-1].split()
            found[name].append({"wall_s": float(seconds), "peak_mb": int(kb) / 1024})
    same = json.loads((work / "mlflow.json").read_text()) == json.loads(
        (work / "mltrail.json").read_text()
    )
    return {"rows": args.batch_rows, "same_predictions": same, "rounds": found}


def _table(results: dict[str, list[dict[str, float]]], baseline: str | None) -> str:
    keys = ["start_s", "c1_rps", "c1_p50_ms", "c1_p99_ms", "c16_rps", "c16_p50_ms", "c16_p99_ms"]
    names = list(results)
    lines = ["| measure | " + " | ".join(names) + (" | ratio |" if baseline else " |"),
             "|---|" + "---:|" * (len(names) + (1 if baseline else 0))]  # fmt: skip
    for key in keys:
        medians = {n: statistics.median(r[key] for r in results[n]) for n in names}
        cells = [
            f"{medians[n]:.3g} ({', '.join(f'{r[key]:.3g}' for r in results[n])})" for n in names
        ]
        ratio = ""
        if baseline:
            other = next(n for n in names if n != baseline)
            better = (
                medians[other] / medians[baseline]
                if "rps" in key
                else medians[baseline] / medians[other]
            )
            ratio = f" {better:.2f}× |"
        lines.append(f"| {key} (median; rounds) | " + " | ".join(cells) + " |" + ratio)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--mltrail-python", default=sys.executable)
    parser.add_argument("--mlflow-python", default="/work/venvs/mlflow/bin/python")
    parser.add_argument("--candidates", action="store_true", help="compare ASGI servers")
    parser.add_argument("--batch", action="store_true", help="also score a CSV in batch")
    parser.add_argument("--batch-rows", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    work = Path(tempfile.mkdtemp(prefix="mltrail-serving-bench-"))
    try:
        model, custom = work / "model", work / "custom"
        (work / "bench_factory.py").write_text(FACTORY)
        (work / "bench_models.py").write_text(CUSTOM_MODEL)
        subprocess.run([args.mltrail_python, "-c", MAKE_MODEL, str(model), str(custom)],
                       check=True, env={**os.environ, "PYTHONPATH": str(work)})  # fmt: skip
        script = work / "post.lua"
        script.write_text(
            'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = {json.dumps(json.dumps(BODY))}\n"
        )
        env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "BENCH_MODEL": str(model),
               "PYTHONPATH": str(work),
               "PATH": f"{Path(args.mlflow_python).parent}:{os.environ['PATH']}"}  # fmt: skip
        port = 5391
        servers = _servers(args, model, port)
        results: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
        floor: dict[str, list[float]] = {"load_model": [], "custom_start": []}
        for round_ in range(args.rounds):
            for name, command in servers.items():
                print(f"round {round_ + 1}: {name}", file=sys.stderr)
                results[name].append(_measure(command, port, args, env, script))
            if not args.candidates:
                floor["load_model"].append(
                    _timed([args.mltrail_python, "-c", LOAD, str(model)], env)
                )
                serve_custom = [*servers["mltrail"][:4], str(custom), *servers["mltrail"][5:]]
                floor["custom_start"].append(_start_only(serve_custom, port, env))
        raw: dict[str, Any] = {"serve": results, "floor": floor}
        print(_table(results, None if args.candidates else "mlflow"))
        if not args.candidates:
            print(
                "\n".join(f"{k}: {', '.join(f'{v:.2f}' for v in vs)} s" for k, vs in floor.items())
            )
        if args.batch and not args.candidates:
            raw["batch"] = _batch(args, model, work, env)
            print(json.dumps(raw["batch"], indent=1))
        if args.json:
            args.json.write_text(json.dumps(raw, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
