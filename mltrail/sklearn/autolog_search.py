"""Parameter searches (GridSearchCV, RandomizedSearchCV): what MLflow logs besides the fit.

On the search's run: ``best_<param>`` params, the ``best_cv_score`` metric and the
``cv_results.csv`` artifact.  One finished child run per top candidate (by
``rank_test_score``, or the first ``rank_test_*`` column with several scorers), at most
``max_tuning_runs`` of them (all with None), holding the seed estimator's params
updated with the candidate's, and the candidate's aggregate scores and times.
"""

from __future__ import annotations

import tempfile
import time
import warnings
from numbers import Real
from pathlib import Path
from typing import Any

from mltrail.entities import RunStatus
from mltrail.sklearn.autolog_config import AUTOLOGGING_TAG, FLAVOR, log
from mltrail.sklearn.autolog_content import estimator_params, estimator_tags, loggable_params

CV_RESULTS_FILE = "cv_results.csv"
_EXCLUDED_PREFIXES = ("param", "split")


def best_params(search: Any) -> dict[str, str]:
    found = getattr(search, "best_params_", None) or {}
    return loggable_params({f"best_{k}": v for k, v in found.items()})


def best_metrics(search: Any) -> dict[str, float]:
    return {"best_cv_score": search.best_score_} if hasattr(search, "best_score_") else {}


def _client() -> Any:
    from mltrail.tracking.client import Client

    return Client()


def log_cv_results(run_id: str, search: Any) -> None:
    """``cv_results.csv``: the search's ``cv_results_`` as a table, one row per candidate."""
    import pandas as pd

    frame = pd.DataFrame.from_dict(search.cv_results_)
    with tempfile.TemporaryDirectory(prefix="mltrail-autolog-") as tmp:
        path = Path(tmp) / CV_RESULTS_FILE
        frame.to_csv(path, index=False)
        _client().log_artifact(run_id, str(path))


def _rank_column(frame: Any, max_runs: int) -> str:
    if "rank_test_score" in frame.columns:
        return "rank_test_score"
    column = next(str(c) for c in frame.columns if "rank_test_" in str(c))
    warnings.warn(
        f"The top {max_runs} child runs are chosen by the {column} column; pass "
        "max_tuning_runs=None to log a child run for every candidate.",
        stacklevel=2,
    )
    return column


def top_candidates(search: Any, max_runs: int | None) -> Any:
    """The rows of ``cv_results_`` that get a child run, best first."""
    import pandas as pd

    frame = pd.DataFrame.from_dict(search.cv_results_)
    if max_runs is None:
        return frame
    chosen = frame.nsmallest(max_runs, _rank_column(frame, max_runs))
    omitted = len(frame) - len(chosen)
    log.info("Logging %d child runs of the search; %d omitted.", len(chosen), omitted)
    return chosen


def candidate_metrics(row: Any) -> dict[str, float]:
    return {
        str(k): float(v)
        for k, v in row.items()
        if not str(k).startswith(_EXCLUDED_PREFIXES)
        and isinstance(v, Real)
        and not isinstance(v, bool)
    }


def create_child_runs(parent_run_id: str, search: Any, max_runs: int | None) -> int:
    """One finished child run of ``parent_run_id`` per top candidate; their number."""
    client = _client()
    parent = client.get_run(parent_run_id)
    seed = search.estimator
    base = estimator_params(seed)
    tags = {**estimator_tags(seed), AUTOLOGGING_TAG: FLAVOR}
    end_time = int(time.time() * 1000)
    rows = top_candidates(search, max_runs)
    for _, row in rows.iterrows():
        child = client.create_run(
            parent.info.experiment_id,
            start_time=parent.info.start_time,
            tags={**tags, "mlflow.parentRunId": parent_run_id},
        )
        child_id = child.info.run_id
        client.log_params(child_id, {**base, **loggable_params(row.get("params", {}))})
        _log_metrics(client, child_id, candidate_metrics(row))
        client.set_terminated(child_id, RunStatus.FINISHED, end_time)
    return len(rows)


def _log_metrics(client: Any, run_id: str, metrics: dict[str, float]) -> None:
    from mltrail.entities import Metric

    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(k, v, now, 0) for k, v in metrics.items()])
