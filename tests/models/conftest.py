"""Model fixtures: small fitted scikit-learn models and a runner for the real MLflow.

MLflow runs only in subprocesses (``run_mlflow``) with this interpreter, so its import
cost and global state stay out of the test process; tests needing it are skipped where
the ``mlflow`` package is not installed (it is in the ``test`` extra).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

MlflowRunner = Callable[..., Any]


@pytest.fixture(scope="session")
def frame() -> Any:
    """Four rows, a double and a long column (what MLflow's examples use)."""
    import pandas as pd

    return pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [1, 0, 1, 0]})


@pytest.fixture(scope="session")
def labels() -> list[int]:
    return [0, 1, 0, 1]


@pytest.fixture(scope="session")
def lr(frame: Any, labels: list[int]) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression().fit(frame, labels)


@pytest.fixture(scope="session")
def run_mlflow(tmp_path_factory: pytest.TempPathFactory) -> MlflowRunner:
    """``run_mlflow(source, cwd, args=[...])``: run a script using MLflow; its last line (JSON)."""
    if importlib.util.find_spec("mlflow") is None:
        pytest.skip("the mlflow package is not installed (pip install -e '.[test]')")

    def run(source: str, cwd: Path, args: Sequence[str] = (), timeout: float = 120) -> Any:
        script = cwd / "mlflow_script.py"
        script.write_text(textwrap.dedent(source))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "MLTRAIL_"))}
        env.update(MLFLOW_ALLOW_FILE_STORE="true", PYTHONWARNINGS="ignore")
        proc = subprocess.run(
            [sys.executable, str(script), *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert proc.returncode == 0, f"the MLflow script failed:\n{proc.stderr[-4000:]}"
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return run
