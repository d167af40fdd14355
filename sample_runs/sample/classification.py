"""Experiment 1, ``breast-cancer-classification``: a baseline run and a grid search (a
parent run with one child run per configuration, one of which FAILS)."""

from __future__ import annotations

import os

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    log_loss,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)
from sklearn.model_selection import StratifiedKFold, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mltrail as mlflow

from sample.clock import SimulatedClock
from sample.common import (
    DATASET_SOURCE,
    EXAMPLE_ROWS,
    MODEL_PATH,
    PLOT_DPI,
    csv_text,
    experiment,
    log_figure,
    new_figure,
    r6,
)

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


#: The configuration whose model is also run through ``mlflow.evaluate``.
EVALUATED = {"model": "logistic_regression", "C": 10.0, "penalty": "l2", "solver": "lbfgs"}


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
    # Named columns: the logged models' signatures and input examples name the features.
    frame = pd.DataFrame(data.data, columns=features)
    x_train, x_test, y_train, y_test = train_test_split(
        frame, data.target, test_size=0.2, stratify=data.target, random_state=42
    )
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    # The splits as MLflow 3 datasets: every configuration logs them as its inputs, and
    # its metrics name the split they were measured on.
    splits = {
        name: mlflow.data.from_pandas(
            x.assign(target=y),
            source=DATASET_SOURCE,
            name=f"breast-cancer-{name}",
            targets="target",
        )
        for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test))
    }
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
                    mlflow.log_input(splits["train"], context="training")
                    mlflow.log_input(splits["test"], context="evaluation")
                    try:
                        results.append(
                            train_classifier(
                                cfg, child.info, splits, x_train, y_train, x_test, y_test, folds
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


def train_classifier(
    cfg, info, splits, x_train, y_train, x_test, y_test, folds
) -> dict[str, object]:
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
    model_id = None
    if cfg["model"] == "logistic_regression":
        # A linear model is a few KB in the skops format; the tree ensembles (hundreds of KB
        # each) stay out of the sample store. Logged first, so its metrics link to it.
        logged = mlflow.sklearn.log_model(
            model, name=MODEL_PATH, input_example=x_test.head(EXAMPLE_ROWS)
        )
        model_id = logged.model_id
    for split, prefix in (("train", "cv_"), ("test", "test_")):
        mlflow.log_metrics(
            {k: v for k, v in metrics.items() if k.startswith(prefix)},
            model_id=model_id,
            dataset=splits[split],
        )
    if cfg == EVALUATED:
        # MLflow's default evaluator on the test split: its metrics and plots, shown in the
        # run page's Evaluation section.
        mlflow.evaluate(
            f"models:/{model_id}", splits["test"], model_type="classifier", evaluators="default"
        )
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
