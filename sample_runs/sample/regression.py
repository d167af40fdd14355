"""Experiment 2, ``diabetes-regression``: flat runs of several regressors, a KILLED run
and a deleted (not purged) run."""

from __future__ import annotations

import math
import os

import matplotlib.pyplot as plt
import pandas as pd
from sklearn.datasets import load_diabetes
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.linear_model import Lasso, Ridge
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import KFold, cross_val_score, train_test_split

import mltrail as mlflow

from sample.clock import SimulatedClock
from sample.common import EPOCH_MS, EXAMPLE_ROWS, MODEL_PATH, PLOT_DPI, csv_text, experiment, r6

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
    frame = pd.DataFrame(data.data, columns=data.feature_names)  # age, sex, bmi, bp, s1..s6
    x_train, x_test, y_train, y_test = train_test_split(
        frame, data.target, test_size=0.2, random_state=7
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
    if isinstance(model, (Ridge, Lasso)):  # the linear models: a few KB each
        mlflow.sklearn.log_model(model, name=MODEL_PATH, input_example=x_test.head(EXAMPLE_ROWS))
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
