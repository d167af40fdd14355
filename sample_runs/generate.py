"""Regenerate the example store in ``sample_runs/store/`` (byte for byte).

    python sample_runs/generate.py [--out DIR]

The store is written through mltrail's public tracking API (``import mltrail as
mlflow``), exactly as a training script would write it, with three experiments:

* ``breast-cancer-classification``: a scikit-learn grid search (a parent run with one
  child run per configuration, one of which FAILED), plus a baseline run;
* ``diabetes-regression``: flat runs of several regressors, a KILLED run and a deleted
  (not purged) run;
* ``training-curves``: three architectures x three learning rates as nested runs with
  2,000-step training curves (one run diverges and FAILS).

Determinism: everything the library would take from the outside world is fixed here,
inside this script, for the duration of the generation (see ``deterministic()``).  The
public API cannot choose ids, experiment or deletion times, or the source record, so
those are patched here, and only here:

* the clock: ``time.time`` is replaced by a simulated clock that only moves when this
  script advances it, so run start/end times, experiment creation times and deletion
  times are reproducible (the long curves also pass explicit metric timestamps);
* randomness: the library draws run ids, experiment ids and generated run names from
  the ``secrets`` module; those module references are replaced by a seeded stand-in,
  so the ids keep their real format (time-sortable, UUIDv7-like) but repeat;
* the source record (script, host, platform, Python, git commit) is replaced by a
  fixed one without git fields: the real one names this machine and the commit being
  worked on, which changes with every commit of this repository;
* the user comes from ``MLTRAIL_USER``; auto-commit is off (``MLTRAIL_AUTO_COMMIT=0``)
  because the store is committed as ordinary files of the mltrail repository.

Models are trained for real on scikit-learn's bundled datasets (no download) with fixed
seeds; logged values are rounded to 6 decimals so the last-bit noise of a BLAS does not
show.  The training curves are simulated from a seeded noise model.  Byte-identical
output needs the same scikit-learn, numpy, matplotlib and Pillow versions: they are
recorded in each experiment's ``environment`` tag.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

os.environ["MLTRAIL_AUTO_COMMIT"] = "0"  # read when the store is opened: set it first
os.environ["MLTRAIL_USER"] = "sample"

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import PIL
import sklearn
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    r2_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mltrail as mlflow
from mltrail.store import layout
from mltrail.tracking import context, names

SEED = 20240506
#: Monday 6 May 2024, 08:30 UTC: the simulated clock starts here.
EPOCH_MS = 1_714_984_200_000
DEFAULT_OUT = Path(__file__).resolve().parent / "store"
#: What every run records as its source (instead of this machine's details).
SOURCE = {
    "name": "sample_runs/generate.py",
    "type": "LOCAL",
    "host": "sample-host",
    "python": "3.12.3",
    "platform": "Linux-6.8.0-x86_64-with-glibc2.39",
}
ENVIRONMENT = (
    f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, "
    f"matplotlib {matplotlib.__version__}, pillow {PIL.__version__}"
)
PLOT_DPI = 80


# --- determinism ------------------------------------------------------------------


class SimulatedClock:
    """Stands in for ``time.time``: a time that moves only when ``advance`` is called."""

    def __init__(self, start_ms: int) -> None:
        self.ms = start_ms

    def time(self) -> float:
        return self.ms / 1000

    def advance(self, seconds: float) -> int:
        self.ms += round(seconds * 1000)
        return self.ms

    def at(self, ms: int) -> None:
        if ms < self.ms:
            raise ValueError("the simulated clock cannot go back")
        self.ms = ms


class SeededSecrets:
    """Stands in for the ``secrets`` module where mltrail draws ids and run names."""

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def token_bytes(self, n: int) -> bytes:
        return self._rng.randbytes(n)

    def randbelow(self, n: int) -> int:
        return self._rng.randrange(n)


@contextlib.contextmanager
def deterministic(clock: SimulatedClock) -> Iterator[None]:
    """Fix the clock, the id/name randomness and the source record (see the docstring)."""
    seeded = SeededSecrets(SEED)
    with contextlib.ExitStack() as stack:
        stack.enter_context(mock.patch("time.time", clock.time))
        stack.enter_context(mock.patch.object(layout, "secrets", seeded))
        stack.enter_context(mock.patch.object(names, "secrets", seeded))
        stack.enter_context(
            mock.patch.object(context, "source_record", lambda store_path: (dict(SOURCE), ""))
        )
        yield


# --- small helpers ----------------------------------------------------------------


def r6(x: float) -> float:
    """A logged value: rounded to 6 decimals, a plain float."""
    return round(float(x), 6)


def csv_text(header: list[str], rows: list[list[object]]) -> str:
    def cell(v: object) -> str:
        if isinstance(v, float):
            return "nan" if math.isnan(v) else f"{v:.6f}"
        text = str(v)
        return f'"{text}"' if "," in text else text

    return "".join(",".join(cell(v) for v in row) + "\n" for row in [header, *rows])


def new_figure(width: float = 6.0, height: float = 4.0) -> tuple[plt.Figure, plt.Axes]:
    fig, ax = plt.subplots(figsize=(width, height), dpi=PLOT_DPI)
    ax.grid(True, alpha=0.3)
    return fig, ax


def log_figure(fig: plt.Figure, artifact_file: str) -> None:
    fig.tight_layout()
    mlflow.log_figure(fig, artifact_file, save_kwargs={"dpi": PLOT_DPI})
    plt.close(fig)


def experiment(name: str, description: str, tags: dict[str, str]) -> str:
    tags = {**tags, "environment": ENVIRONMENT, "mlflow.note.content": description}
    exp_id = mlflow.create_experiment(name, tags=tags)
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


# --- experiment 1: classification grid search ---------------------------------------

CLASSIFICATION_DESCRIPTION = """\
# Breast cancer classification

Binary classification of the **Wisconsin breast cancer** dataset (569 samples,
30 features; bundled with scikit-learn).

* Split: 80 % train / 20 % test, stratified, `random_state=42`.
* Model selection: 5-fold stratified cross-validation accuracy on the train split.
* The `grid-search` run holds one child run per configuration; its artifacts summarize
  the sweep.

| family | grid |
|---|---|
| logistic regression | `C` in 0.01, 0.1, 1, 10 |
| random forest | `n_estimators` in 25, 75 x `max_depth` in 3, unlimited |
| gradient boosting | `learning_rate` in 0.05, 0.2 (100 stages) |
"""


def classification_grid() -> list[dict[str, object]]:
    grid: list[dict[str, object]] = []
    for c in (0.01, 0.1, 1.0, 10.0):
        grid.append({"model": "logistic_regression", "C": c, "penalty": "l2", "solver": "lbfgs"})
    # A typo in the grid: l1 is not supported by lbfgs, so this run fails.
    grid.append({"model": "logistic_regression", "C": 1.0, "penalty": "l1", "solver": "lbfgs"})
    for n in (25, 75):
        for depth in (3, None):
            grid.append({"model": "random_forest", "n_estimators": n, "max_depth": depth})
    for lr in (0.05, 0.2):
        grid.append(
            {"model": "gradient_boosting", "learning_rate": lr, "n_estimators": 100, "max_depth": 2}
        )
    return grid


def build_classifier(cfg: dict[str, object]) -> object:
    if cfg["model"] == "logistic_regression":
        l1_ratio = 1.0 if cfg["penalty"] == "l1" else 0.0
        lr = LogisticRegression(C=cfg["C"], l1_ratio=l1_ratio, solver=cfg["solver"], max_iter=1000)
        return make_pipeline(StandardScaler(), lr)
    if cfg["model"] == "random_forest":
        return RandomForestClassifier(
            n_estimators=cfg["n_estimators"], max_depth=cfg["max_depth"], random_state=0, n_jobs=1
        )
    return GradientBoostingClassifier(
        learning_rate=cfg["learning_rate"],
        n_estimators=cfg["n_estimators"],
        max_depth=cfg["max_depth"],
        random_state=0,
    )


def fit_seconds(cfg: dict[str, object]) -> float:
    """How long a fit 'takes' on the simulated clock."""
    if cfg["model"] == "logistic_regression":
        return 1.8
    if cfg["model"] == "random_forest":
        return 0.9 + 0.06 * int(cfg["n_estimators"])
    return 4.5 + 0.05 * int(cfg["n_estimators"])


def classification(clock: SimulatedClock) -> None:
    data = load_breast_cancer()
    features = list(data.feature_names)
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, stratify=data.target, random_state=42
    )
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    os.environ["MLTRAIL_USER"] = "ana"
    experiment(
        "breast-cancer-classification",
        CLASSIFICATION_DESCRIPTION,
        {
            "team": "diagnostics",
            "task": "binary-classification",
            "dataset": "sklearn/breast_cancer",
        },
    )
    common = {"test_size": 0.2, "split_seed": 42, "cv_folds": 5, "n_train": len(y_train)}

    clock.advance(240)
    with mlflow.start_run(
        run_name="majority-baseline",
        description="Predicts the majority class (*benign*): the floor every model must beat.",
        tags={"model_family": "baseline"},
    ):
        model = DummyClassifier(strategy="most_frequent").fit(x_train, y_train)
        mlflow.log_params({"model": "dummy", "strategy": "most_frequent", **common})
        pred = model.predict(x_test)
        mlflow.log_metrics(
            {
                "cv_accuracy": r6(cross_val_score(model, x_train, y_train, cv=folds).mean()),
                "test_accuracy": r6(accuracy_score(y_test, pred)),
                "test_f1": r6(f1_score(y_test, pred)),
            }
        )
        clock.advance(3.2)

    clock.advance(1260)
    grid = classification_grid()
    results: list[dict[str, object]] = []
    failures = 0
    with mlflow.start_run(
        run_name="grid-search",
        description=(
            "Grid search over three model families; **selection metric: `cv_accuracy`**.\n\n"
            "See `sweep_results.csv` for every configuration and `summary.md` for the pick."
        ),
        tags={"sweep": "grid", "model_family": "mixed"},
    ):
        mlflow.log_params(
            {"n_configs": len(grid), "selection_metric": "cv_accuracy", "search": "grid", **common}
        )
        for cfg in grid:
            clock.advance(2.5)
            family = "linear" if cfg["model"] == "logistic_regression" else "tree-ensemble"
            try:
                with mlflow.start_run(nested=True, tags={"model_family": family}) as child:
                    mlflow.log_params({**cfg, **common})
                    try:
                        results.append(
                            train_classifier(
                                cfg, child.info, x_train, y_train, x_test, y_test, folds
                            )
                        )
                    except ValueError as e:
                        mlflow.log_text(f"{type(e).__name__}: {e}\n", "error.txt")
                        raise
                    finally:
                        clock.advance(fit_seconds(cfg))
            except ValueError:
                # The `with` ended the child run FAILED; the sweep goes on.
                failures += 1
                mlflow.set_tag("failed_configs", str(failures))
        best = max(results, key=lambda r: (r["cv_accuracy"], r["test_accuracy"]))
        log_sweep_summary(results, best, failures)
        clock.advance(4.0)

    client = mlflow.Client()
    client.set_tag(str(best["run_id"]), "best", "true")
    log_best_classifier(client, best, features, x_train, y_train, x_test, y_test)


def train_classifier(cfg, info, x_train, y_train, x_test, y_test, folds) -> dict[str, object]:
    model = build_classifier(cfg)
    model.fit(x_train, y_train)  # first: a bad config fails here with sklearn's own message
    cv = cross_val_score(model, x_train, y_train, cv=folds, scoring="accuracy")
    pred = model.predict(x_test)
    proba = model.predict_proba(x_test)[:, 1]
    metrics = {
        "cv_accuracy": r6(cv.mean()),
        "cv_accuracy_std": r6(cv.std()),
        "test_accuracy": r6(accuracy_score(y_test, pred)),
        "test_precision": r6(precision_score(y_test, pred)),
        "test_recall": r6(recall_score(y_test, pred)),
        "test_f1": r6(f1_score(y_test, pred)),
        "test_roc_auc": r6(roc_auc_score(y_test, proba)),
        "test_log_loss": r6(log_loss(y_test, proba)),
    }
    mlflow.log_metrics(metrics)
    if cfg["model"] == "gradient_boosting":
        # One point per boosting stage: a short curve in a tabular experiment.
        for stage, p in enumerate(model.staged_predict_proba(x_test), start=1):
            mlflow.log_metric("staged_test_log_loss", r6(log_loss(y_test, p[:, 1])), step=stage)
    cm = confusion_matrix(y_test, pred)
    mlflow.log_dict(
        {"labels": ["malignant", "benign"], "matrix": cm.tolist()}, "confusion_matrix.json"
    )
    return {
        "run_id": info.run_id,
        "run_name": info.run_name,
        "config": cfg,
        "model": model,
        **metrics,
    }


def describe_config(cfg: dict[str, object]) -> str:
    return " ".join(f"{k}={v}" for k, v in cfg.items() if k != "model")


def short_label(cfg: dict[str, object]) -> str:
    if cfg["model"] == "logistic_regression":
        return f"logreg C={cfg['C']:g}"
    if cfg["model"] == "random_forest":
        return f"forest {cfg['n_estimators']} trees, depth {cfg['max_depth'] or 'any'}"
    return f"boosting lr={cfg['learning_rate']:g}"


def log_sweep_summary(
    results: list[dict[str, object]], best: dict[str, object], failures: int
) -> None:
    header = [
        "run_name",
        "model",
        "config",
        "cv_accuracy",
        "cv_accuracy_std",
        "test_accuracy",
        "test_roc_auc",
    ]
    rows = [
        [
            r["run_name"],
            r["config"]["model"],
            describe_config(r["config"]),
            r["cv_accuracy"],
            r["cv_accuracy_std"],
            r["test_accuracy"],
            r["test_roc_auc"],
        ]
        for r in results
    ]
    mlflow.log_text(csv_text(header, rows), "sweep_results.csv")

    fig, ax = new_figure(6.5, 4.0)
    ys = np.arange(len(results))[::-1]
    colors = ["#d62728" if r is best else "#1f77b4" for r in results]
    ax.barh(
        ys,
        [r["cv_accuracy"] for r in results],
        xerr=[r["cv_accuracy_std"] for r in results],
        color=colors,
        capsize=3,
    )
    ax.set_yticks(ys, [short_label(r["config"]) for r in results])
    ax.set_xlim(0.85, 1.0)
    ax.set_xlabel("5-fold CV accuracy (mean ± std)")
    ax.set_title("Grid search (best in red)")
    log_figure(fig, "plots/cv_accuracy.png")

    mlflow.log_metrics(
        {"best_cv_accuracy": best["cv_accuracy"], "best_test_accuracy": best["test_accuracy"]}
    )
    mlflow.set_tags(
        {"best_run_id": str(best["run_id"]), "best_model": str(best["config"]["model"])}
    )
    note = (
        "# Sweep summary\n\n"
        f"* Configurations tried: **{len(results) + failures}**; {failures} failed "
        "(`penalty=l1` is not supported by the `lbfgs` solver).\n"
        f"* Best by CV accuracy: run `{best['run_name']}` ({best['config']['model']}, "
        f"{describe_config(best['config'])}), CV accuracy {best['cv_accuracy']:.4f}, "
        f"test accuracy {best['test_accuracy']:.4f}.\n\n"
        "Next: calibrate the probabilities before choosing a decision threshold.\n"
    )
    mlflow.log_text(note, "summary.md")


def log_best_classifier(client, best, features, x_train, y_train, x_test, y_test) -> None:
    run_id = str(best["run_id"])
    model = best["model"]
    proba = model.predict_proba(x_test)[:, 1]
    fpr, tpr, _ = roc_curve(y_test, proba)
    fig, ax = new_figure(4.5, 4.2)
    ax.plot(fpr, tpr, color="#d62728", lw=2, label=f"AUC = {best['test_roc_auc']:.3f}")
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("ROC curve (test split)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    client.log_figure(run_id, fig, "plots/roc_curve.png", save_kwargs={"dpi": PLOT_DPI})
    plt.close(fig)

    estimator = model[-1] if hasattr(model, "steps") else model
    if hasattr(estimator, "feature_importances_"):
        weights, column = estimator.feature_importances_, "importance"
    else:
        weights, column = estimator.coef_[0], "coefficient"
    order = sorted(range(len(features)), key=lambda i: (-abs(weights[i]), features[i]))
    rows = [[features[i], r6(weights[i])] for i in order]
    client.log_text(run_id, csv_text(["feature", column], rows), "feature_importance.csv")
    top = ", ".join(f"`{features[i]}`" for i in order[:3])
    client.log_text(
        run_id,
        "# Model card\n\n"
        f"**Model**: {best['config']['model']} ({describe_config(best['config'])}).\n\n"
        f"**Data**: breast cancer, {len(y_train)} training / {len(y_test)} test samples.\n\n"
        f"**Test metrics**: accuracy {best['test_accuracy']:.4f}, F1 {best['test_f1']:.4f}, "
        f"ROC AUC {best['test_roc_auc']:.4f}.\n\n"
        f"**Most influential features**: {top}.\n\n"
        "**Limitations**: a 569-sample public dataset; not validated on any clinical population.\n",
        "model_card.md",
    )


# --- experiment 2: regression -------------------------------------------------------------

REGRESSION_DESCRIPTION = """\
# Diabetes progression regression

Predict disease progression one year after baseline from 10 standardized features
(age, sex, BMI, blood pressure and six blood serum measurements); 442 patients,
bundled with scikit-learn.

* Split: 80 % / 20 %, `random_state=7`; model selection by 5-fold CV RMSE.
* `gbr-deep` was stopped by hand (KILLED) once it clearly overfitted.
* A debug run with a wrongly scaled target was deleted (it is still in the store, in
  the *deleted* lifecycle stage, until `mltrail gc`).
"""


def regression(clock: SimulatedClock) -> None:
    data = load_diabetes()
    x_train, x_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=7
    )
    folds = KFold(n_splits=5, shuffle=True, random_state=0)
    os.environ["MLTRAIL_USER"] = "ben"
    clock.at(EPOCH_MS + 26 * 3600 * 1000)  # Tuesday, 09:30
    experiment(
        "diabetes-regression",
        REGRESSION_DESCRIPTION,
        {"team": "outcomes", "task": "regression", "dataset": "sklearn/diabetes"},
    )
    candidates = [
        ("ridge-alpha-0.1", {"model": "ridge", "alpha": 0.1}, Ridge(alpha=0.1)),
        ("ridge-alpha-1", {"model": "ridge", "alpha": 1.0}, Ridge(alpha=1.0)),
        ("ridge-alpha-10", {"model": "ridge", "alpha": 10.0}, Ridge(alpha=10.0)),
        ("lasso-alpha-0.1", {"model": "lasso", "alpha": 0.1}, Lasso(alpha=0.1)),
        (
            "random-forest",
            {"model": "random_forest", "n_estimators": 150, "max_depth": 6, "min_samples_leaf": 3},
            RandomForestRegressor(
                n_estimators=150, max_depth=6, min_samples_leaf=3, random_state=0, n_jobs=1
            ),
        ),
        (
            "gbr",
            {
                "model": "gradient_boosting",
                "n_estimators": 200,
                "learning_rate": 0.03,
                "max_depth": 2,
            },
            GradientBoostingRegressor(
                n_estimators=200, learning_rate=0.03, max_depth=2, random_state=0
            ),
        ),
    ]
    results = []
    for name, params, model in candidates:
        clock.advance(95)
        with mlflow.start_run(run_name=name, tags={"model_family": params["model"]}) as run:
            mlflow.log_params({**params, "features": "all (10)", "target_transform": "none"})
            results.append(
                train_regressor(
                    run.info.run_id, name, model, x_train, y_train, x_test, y_test, folds
                )
            )
            clock.advance(6.0)

    # Stopped by hand: a deep, slow-learning booster that overfits.
    clock.advance(300)
    with mlflow.start_run(
        run_name="gbr-deep",
        description="Deep trees, 2,000 stages planned. **Stopped at stage 340**: test RMSE rising.",
        tags={"model_family": "gradient_boosting"},
    ):
        params = {
            "model": "gradient_boosting",
            "n_estimators": 2000,
            "learning_rate": 0.05,
            "max_depth": 6,
        }
        mlflow.log_params({**params, "features": "all (10)", "target_transform": "none"})
        model = GradientBoostingRegressor(
            n_estimators=340, learning_rate=0.05, max_depth=6, random_state=0
        ).fit(x_train, y_train)
        start = clock.ms
        for stage, (p_train, p_test) in enumerate(
            zip(model.staged_predict(x_train), model.staged_predict(x_test), strict=True), start=1
        ):
            ts = start + stage * 450
            mlflow.log_metrics(
                {
                    "staged_train_rmse": r6(math.sqrt(mean_squared_error(y_train, p_train))),
                    "staged_test_rmse": r6(math.sqrt(mean_squared_error(y_test, p_test))),
                },
                step=stage,
                timestamp=ts,
            )
        clock.at(start + 340 * 450 + 2100)
        mlflow.end_run("KILLED")

    # A mistake, deleted afterwards (kept in the store until purged).
    clock.advance(420)
    with mlflow.start_run(
        run_name="ridge-debug",
        description="Debug run: the target was standardized twice. Deleted.",
        tags={"model_family": "ridge"},
    ) as run:
        y_bad = (y_train - y_train.mean()) / y_train.std()
        y_bad = (y_bad - y_bad.mean()) / y_bad.std()
        model = Ridge(alpha=1.0).fit(x_train, y_bad)
        mlflow.log_params({"model": "ridge", "alpha": 1.0, "target_transform": "standardize x2"})
        mlflow.log_metric(
            "test_rmse", r6(math.sqrt(mean_squared_error(y_test, model.predict(x_test))))
        )
        clock.advance(2.0)
        debug_id = run.info.run_id
    clock.advance(75)
    mlflow.delete_run(debug_id)

    best = min(results, key=lambda r: r["cv_rmse"])
    trees = min(r["cv_rmse"] for r in results if r["run_name"] in ("random-forest", "gbr"))
    log_best_regressor(mlflow.Client(), best, y_test, trees_win=trees <= best["cv_rmse"])


def train_regressor(
    run_id, name, model, x_train, y_train, x_test, y_test, folds
) -> dict[str, object]:
    cv = -cross_val_score(model, x_train, y_train, cv=folds, scoring="neg_root_mean_squared_error")
    model.fit(x_train, y_train)
    pred = model.predict(x_test)
    metrics = {
        "cv_rmse": r6(cv.mean()),
        "cv_rmse_std": r6(cv.std()),
        "test_rmse": r6(math.sqrt(mean_squared_error(y_test, pred))),
        "test_mae": r6(mean_absolute_error(y_test, pred)),
        "test_r2": r6(r2_score(y_test, pred)),
    }
    mlflow.log_metrics(metrics)
    if hasattr(model, "staged_predict"):
        for stage, p in enumerate(model.staged_predict(x_test), start=1):
            mlflow.log_metric(
                "staged_test_rmse", r6(math.sqrt(mean_squared_error(y_test, p))), step=stage
            )
    rows = [[i, r6(t), r6(p), r6(t - p)] for i, (t, p) in enumerate(zip(y_test, pred, strict=True))]
    mlflow.log_text(csv_text(["row", "y_true", "y_pred", "residual"], rows), "predictions.csv")
    return {"run_id": run_id, "run_name": name, "pred": pred, **metrics}


def log_best_regressor(client, best, y_test, trees_win) -> None:
    run_id = str(best["run_id"])
    client.set_tag(run_id, "candidate", "production")
    pred = best["pred"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8.0, 3.6), dpi=PLOT_DPI)
    lo, hi = float(min(y_test.min(), pred.min())), float(max(y_test.max(), pred.max()))
    ax1.scatter(y_test, pred, s=12, alpha=0.7, color="#1f77b4")
    ax1.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1)
    ax1.set_xlabel("true progression")
    ax1.set_ylabel("predicted")
    ax1.set_title("Predicted vs true")
    ax2.hist(y_test - pred, bins=20, color="#ff7f0e", alpha=0.8)
    ax2.set_xlabel("residual")
    ax2.set_title("Residuals")
    for ax in (ax1, ax2):
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    client.log_figure(run_id, fig, "plots/residuals.png", save_kwargs={"dpi": PLOT_DPI})
    plt.close(fig)
    client.log_text(
        run_id,
        f"# Notes on `{best['run_name']}`\n\n"
        f"Lowest cross-validated RMSE of the candidates (**{best['cv_rmse']:.2f}**; "
        f"test RMSE {best['test_rmse']:.2f}, R² {best['test_r2']:.3f}).\n\n"
        "- Residuals are roughly symmetric; the largest errors are on high-progression patients.\n"
        + (
            "- The tree ensembles beat the linear models.\n"
            if trees_win
            else "- The tree ensembles did not beat the linear models on 353 training rows.\n"
        ),
        "notes.md",
    )


# --- experiment 3: training curves ----------------------------------------------------------

CURVES_DESCRIPTION = """\
# Training curves

Long metric histories for the dashboard: three architectures, each a parent run with
one child run per learning rate (nested runs), **2,000 optimizer steps** each.

* `train/loss` and `train/lr` every step; `val/loss` and `val/accuracy` every 2 steps.
* Schedule: 100 warm-up steps, then cosine decay to 5 % of the peak learning rate.
* `convnet-small` at `lr=0.003` **diverged** (loss became NaN) and is marked FAILED.

> The curves are *simulated* from a seeded noise model (no dataset is downloaded), so
> the store regenerates byte for byte.
"""

STEPS = 2000
VAL_EVERY = 2
WARMUP = 100
ARCHITECTURES = [
    # name, params, capacity (lower final loss), overfitting strength, ms per step
    (
        "mlp-2x128",
        {"layers": 2, "width": 128, "dropout": 0.1, "params_millions": 0.12},
        0.42,
        0.00,
        95,
    ),
    (
        "mlp-4x256",
        {"layers": 4, "width": 256, "dropout": 0.2, "params_millions": 0.43},
        0.30,
        0.10,
        160,
    ),
    (
        "convnet-small",
        {"layers": 6, "width": 64, "dropout": 0.0, "params_millions": 0.88},
        0.20,
        0.25,
        310,
    ),
]
LEARNING_RATES = (0.0003, 0.001, 0.003)
DIVERGES = ("convnet-small", 0.003)
DIVERGE_STEP = 1420


def schedule(step: int, peak: float) -> float:
    if step < WARMUP:
        return peak * (step + 1) / WARMUP
    progress = (step - WARMUP) / (STEPS - WARMUP)
    return peak * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * progress)))


def simulate(
    arch: str, floor: float, overfit: float, peak_lr: float, seed: int
) -> list[tuple[int, dict[str, float]]]:
    """One run's metrics per step: a decaying loss with batch noise and overfitting."""
    rng = random.Random(seed)
    speed = 1.2 * (peak_lr / 0.001) ** 0.6  # how fast the loss falls per unit of lr
    start_loss = 2.30  # log(10): ten classes, random guessing
    progress = 0.0
    points = []
    val_noise = 0.0
    diverges = (arch, peak_lr) == DIVERGES
    for step in range(STEPS):
        lr = schedule(step, peak_lr)
        progress += lr / peak_lr / 250 * speed
        smooth = floor + (start_loss - floor) * math.exp(-progress)
        if diverges and step >= DIVERGE_STEP - 60:
            smooth *= math.exp((step - DIVERGE_STEP + 60) / 9)
        train = smooth * (1 + rng.gauss(0, 0.06)) + abs(rng.gauss(0, 0.01))
        values = {"train/loss": r6(train), "train/lr": r6(lr)}
        if diverges and step >= DIVERGE_STEP:
            values["train/loss"] = math.nan
        if step % VAL_EVERY == 0 or step == STEPS - 1:
            gap = 0.04 + overfit * max(0.0, progress - 3.0) * 0.3
            val_noise = 0.7 * val_noise + rng.gauss(0, 0.012)
            val = smooth + gap + val_noise
            acc = 0.1 + 0.88 / (1 + math.exp(min(50.0, 4.0 * (val - 0.9))))
            values["val/loss"] = r6(val) if not math.isnan(values["train/loss"]) else math.nan
            values["val/accuracy"] = r6(min(1.0, max(0.0, acc + rng.gauss(0, 0.004))))
        points.append((step, values))
        if diverges and step >= DIVERGE_STEP:
            break
    return points


def training_curves(clock: SimulatedClock) -> None:
    os.environ["MLTRAIL_USER"] = "chen"
    clock.at(EPOCH_MS + 49 * 3600 * 1000)  # Wednesday, 09:30
    experiment(
        "training-curves",
        CURVES_DESCRIPTION,
        {"team": "vision", "task": "image-classification", "dataset": "simulated (10 classes)"},
    )
    for index, (arch, arch_params, floor, overfit, step_ms) in enumerate(ARCHITECTURES):
        clock.advance(1800 if index else 60)
        children = []
        with mlflow.start_run(
            run_name=arch,
            description=(
                f"Learning-rate sweep for **{arch}** "
                f"({arch_params['params_millions']} M parameters)."
            ),
            tags={"architecture": arch, "sweep": "learning_rate"},
        ):
            mlflow.log_params(
                {**arch_params, "optimizer": "adam", "batch_size": 64, "steps": STEPS}
            )
            for lr in LEARNING_RATES:
                clock.advance(12)
                seed = SEED + 1000 * index + round(lr * 1e5)
                try:
                    train_child(
                        clock, arch, arch_params, floor, overfit, step_ms, lr, seed, children
                    )
                except FloatingPointError:
                    # The `with` in train_child ended the child run FAILED.
                    mlflow.set_tag("diverged", f"lr={lr:g}")
            summarize_children(arch, children)
            clock.advance(8)


def train_child(clock, arch, arch_params, floor, overfit, step_ms, lr, seed, children) -> None:
    """One nested run; appends its summary to ``children`` (even when it fails)."""
    name = f"{arch}-lr{lr:g}"
    diverges = (arch, lr) == DIVERGES
    note = f"Loss became **NaN** at step {DIVERGE_STEP}: the learning rate is too high."
    with mlflow.start_run(
        run_name=name,
        nested=True,
        tags={"architecture": arch, "learning_rate": f"{lr:g}"},
        description=note if diverges else None,
    ) as run:
        mlflow.log_params(
            {
                "learning_rate": lr,
                "warmup_steps": WARMUP,
                "schedule": "cosine",
                "seed": seed,
                **arch_params,
            }
        )
        start = clock.ms
        points = simulate(arch, floor, overfit, lr, seed)
        for step, values in points:
            mlflow.log_metrics(values, step=step, timestamp=start + step * step_ms + step % 7)
        clock.at(start + len(points) * step_ms + 1500)
        vals = [(s, v) for s, v in points if "val/accuracy" in v]
        children.append(
            {
                "run_id": run.info.run_id,
                "run_name": name,
                "lr": lr,
                "status": "FAILED" if diverges else "FINISHED",
                "best_val_accuracy": max(v["val/accuracy"] for _, v in vals),
                "final_val_loss": vals[-1][1]["val/loss"],
                "final_train_loss": points[-1][1]["train/loss"],
                "val": [(s, v["val/accuracy"]) for s, v in vals],
            }
        )
        if diverges:
            raise FloatingPointError(f"train/loss is NaN at step {points[-1][0]}")


def summarize_children(arch: str, children: list[dict[str, object]]) -> None:
    best = max(
        (c for c in children if c["status"] == "FINISHED"), key=lambda c: c["best_val_accuracy"]
    )
    mlflow.log_metrics(
        {
            "best_val_accuracy": best["best_val_accuracy"],
            "best_final_val_loss": best["final_val_loss"],
        }
    )
    mlflow.set_tags({"best_learning_rate": f"{best['lr']:g}", "best_run_id": str(best["run_id"])})
    header = ["run_name", "learning_rate", "status", "best_val_accuracy", "final_val_loss"]
    rows = [
        [c["run_name"], c["lr"], c["status"], c["best_val_accuracy"], c["final_val_loss"]]
        for c in children
    ]
    mlflow.log_text(
        csv_text(
            [*header, "final_train_loss"],
            [[*row, c["final_train_loss"]] for row, c in zip(rows, children, strict=True)],
        ),
        "lr_sweep.csv",
    )
    fig, ax = new_figure(6.0, 3.8)
    for c in children:
        steps, acc = zip(*c["val"], strict=True)
        failed = c["status"] != "FINISHED"
        label = f"lr={c['lr']:g}" + (" (diverged)" if failed else "")
        ax.plot(steps, acc, lw=1, ls="--" if failed else "-", label=label)
    ax.set_xlabel("step")
    ax.set_ylabel("val/accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.set_title(f"{arch}: validation accuracy")
    ax.legend(loc="lower right")
    log_figure(fig, "plots/val_accuracy.png")
    if arch == "mlp-4x256":
        mlflow.log_text(
            f"# {arch}\n\nThe larger MLP overfits at the highest learning rate: after a few "
            "hundred steps `val/loss` turns up while `train/loss` keeps falling.\n"
            f"Best learning rate: **{best['lr']:g}**.\n",
            "notes.md",
        )


# --- main -------------------------------------------------------------------------


def generate(out: Path) -> None:
    out = out.resolve()
    if out.exists():
        if not (out / layout.MARKER).is_file() and any(out.iterdir()):
            sys.exit(f"{out} exists and is not an mltrail store: refusing to delete it.")
        shutil.rmtree(out)
    matplotlib.rcdefaults()  # ignore any matplotlibrc of this machine: the PNGs must not vary
    clock = SimulatedClock(EPOCH_MS)
    with deterministic(clock):
        mlflow.set_tracking_uri(out)
        classification(clock)
        regression(clock)
        training_curves(clock)
        mlflow.flush()
    context.close_all()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"store folder (default: {DEFAULT_OUT})"
    )
    args = parser.parse_args(argv)
    generate(args.out)
    total = sum(
        p.stat().st_size
        for p in args.out.rglob("*")
        if p.is_file() and not {".cache", ".git"} & set(p.parts)
    )
    print(f"wrote {args.out} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
