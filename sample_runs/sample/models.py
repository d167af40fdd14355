"""The model registry, on Thursday and Friday after the experiments: versions registered
from the runs' logged models, promoted through the stages, and aliased.

``breast-cancer-classifier`` (user ``ana``): four logistic regressions of the grid search.

======  =====================  ==========  ==========================================
version run (C)                stage       story
======  =====================  ==========  ==========================================
1       C=1 (best test acc.)   Archived    first in Production, replaced by v3
2       C=10                   None        registered for reference, never promoted
3       C=0.1 (best CV acc.)   Production  alias ``champion`` (moved from v1)
4       C=0.01                 Staging     alias ``challenger``
======  =====================  ==========  ==========================================

``diabetes-regressor`` (user ``ben``): v1 ridge (Production, ``champion``), v2 lasso
(Staging, ``challenger``).

The registry writes no git commits here (auto-commit is off: the store is committed as
plain files of the mltrail repository), so the registry's history in the sample is this
repository's own git log.
"""

from __future__ import annotations

import os

import mltrail as mlflow

from sample.clock import SimulatedClock
from sample.common import EPOCH_MS, HOUR_MS, MODEL_PATH

CLASSIFIER = "breast-cancer-classifier"
REGRESSOR = "diabetes-regressor"
CLASSIFICATION = "breast-cancer-classification"
REGRESSION = "diabetes-regression"

CLASSIFIER_DESCRIPTION = """\
# Breast cancer classifier

Flags a tumour as **malignant (`0`)** or **benign (`1`)** from the 30 measurements of a
fine-needle aspirate (the Wisconsin dataset bundled with scikit-learn).

* Input: the 30 features as named `double` columns (see a version's signature).
* Output: the predicted class.
* Trained in the `breast-cancer-classification` experiment (grid search, standardized
  logistic regression).

| alias | meaning |
|---|---|
| `champion` | the version in **Production** |
| `challenger` | the candidate under evaluation in **Staging** |

> A demo model: not validated on any clinical population.
"""

REGRESSOR_DESCRIPTION = """\
# Diabetes progression regressor

Predicts disease progression one year after baseline (a continuous score) from
`age`, `sex`, `bmi`, `bp` and six blood serum measurements `s1` ... `s6`.

Trained in the `diabetes-regression` experiment; selected by 5-fold CV RMSE.
"""


#: Monday 6 May 2024, 00:00 UTC.
MONDAY_MS = EPOCH_MS - 8 * HOUR_MS - 30 * 60_000


def at(clock: SimulatedClock, day: int, hour: int, minute: int = 0) -> None:
    """Move the clock to ``day`` days after Monday, at ``hour:minute`` UTC."""
    clock.at(MONDAY_MS + day * 24 * HOUR_MS + (hour * 60 + minute) * 60_000)


def find_run(experiment: str, filter_string: str) -> mlflow.Run:
    """The one finished run of ``experiment`` that ``filter_string`` selects."""
    runs = mlflow.search_runs(
        experiment_names=[experiment],
        filter_string=f"{filter_string} and attributes.status = 'FINISHED'",
        output_format="list",
    )
    if len(runs) != 1:
        raise RuntimeError(f"{filter_string!r} selects {len(runs)} runs of {experiment}")
    return runs[0]


def register(name: str, experiment: str, filter_string: str, description: str, **tags: str) -> str:
    """Register the model of the selected run as the next version of ``name``.

    ``description`` is formatted with the run's metrics (``{cv_accuracy:.3f}``).
    """
    run = find_run(experiment, filter_string)
    source = f"runs:/{run.info.run_id}/{MODEL_PATH}"
    version = mlflow.register_model(source, name, tags=tags).version
    text = description.format(**run.data.metrics)
    mlflow.MlflowClient().update_model_version(name, version, description=text)
    return str(version)


def logistic(c: str) -> str:
    return f"params.model = 'logistic_regression' and params.penalty = 'l2' and params.C = '{c}'"


def registry(clock: SimulatedClock) -> None:
    """The week's registry changes, in time order."""
    classifier_first_versions(clock)
    regressor_v1(clock)
    classifier_promotion(clock)
    regressor_v2(clock)


def classifier_first_versions(clock: SimulatedClock) -> None:
    """Thursday morning: the model, v1 in Production (``champion``), v2 for reference."""
    client = mlflow.MlflowClient()
    os.environ["MLTRAIL_USER"] = "ana"
    at(clock, 3, 9, 40)
    client.create_registered_model(
        CLASSIFIER,
        tags={"team": "diagnostics", "task": "binary-classification"},
        description=CLASSIFIER_DESCRIPTION,
    )
    clock.advance(75)
    v1 = register(
        CLASSIFIER,
        CLASSIFICATION,
        logistic("1.0"),
        "Logistic regression, `C=1`: the **best test accuracy** of the sweep "
        "({test_accuracy:.3f}).",
        validation="passed",
    )
    clock.advance(240)
    client.transition_model_version_stage(CLASSIFIER, v1, "Staging")
    at(clock, 3, 10, 15)
    client.transition_model_version_stage(CLASSIFIER, v1, "Production")
    client.set_registered_model_alias(CLASSIFIER, "champion", v1)
    at(clock, 3, 11, 5)
    register(
        CLASSIFIER,
        CLASSIFICATION,
        logistic("10.0"),
        "Logistic regression, `C=10`: the weakest regularization. Kept for reference; "
        "not promoted.",
        validation="skipped",
    )


def classifier_promotion(clock: SimulatedClock) -> None:
    """v3 through Staging to Production on Friday (v1 archived, ``champion`` moves), and
    v4 in Staging as the ``challenger``."""
    client = mlflow.MlflowClient()
    os.environ["MLTRAIL_USER"] = "ana"
    at(clock, 3, 14, 20)
    v3 = register(
        CLASSIFIER,
        CLASSIFICATION,
        logistic("0.1"),
        "Logistic regression, `C=0.1`: the **best cross-validated accuracy** "
        "({cv_accuracy:.3f}).\n\n"
        "Chosen by CV accuracy rather than by the test split, which v1 was picked on.",
        validation="passed",
    )
    clock.advance(600)
    client.transition_model_version_stage(CLASSIFIER, v3, "Staging")
    at(clock, 4, 10, 0)
    client.transition_model_version_stage(
        CLASSIFIER, v3, "Production", archive_existing_versions=True
    )
    client.set_registered_model_alias(CLASSIFIER, "champion", v3)
    at(clock, 4, 10, 30)
    v4 = register(
        CLASSIFIER,
        CLASSIFICATION,
        logistic("0.01"),
        "Logistic regression, `C=0.01`: the strongest regularization, a simpler model to "
        "compare with the champion.",
        validation="pending",
    )
    clock.advance(90)
    client.transition_model_version_stage(CLASSIFIER, v4, "Staging")
    client.set_registered_model_alias(CLASSIFIER, "challenger", v4)


def regressor_v1(clock: SimulatedClock) -> None:
    client = mlflow.MlflowClient()
    os.environ["MLTRAIL_USER"] = "ben"
    at(clock, 3, 11, 30)
    client.create_registered_model(
        REGRESSOR,
        tags={"team": "outcomes", "task": "regression"},
        description=REGRESSOR_DESCRIPTION,
    )
    clock.advance(45)
    v1 = register(
        REGRESSOR,
        REGRESSION,
        "attributes.run_name = 'ridge-alpha-0.1'",
        "Ridge, `alpha=0.1`: the lowest CV RMSE of the candidates ({cv_rmse:.2f}).",
        validation="passed",
    )
    clock.advance(300)
    client.transition_model_version_stage(REGRESSOR, v1, "Production")
    client.set_registered_model_alias(REGRESSOR, "champion", v1)


def regressor_v2(clock: SimulatedClock) -> None:
    client = mlflow.MlflowClient()
    os.environ["MLTRAIL_USER"] = "ben"
    at(clock, 4, 11, 0)
    v2 = register(
        REGRESSOR,
        REGRESSION,
        "attributes.run_name = 'lasso-alpha-0.1'",
        "Lasso, `alpha=0.1`: a CV RMSE ({cv_rmse:.2f}) next to the champion's, and sparse: "
        "the L1 penalty drops features the model does not need.",
        validation="pending",
    )
    clock.advance(120)
    client.transition_model_version_stage(REGRESSOR, v2, "Staging")
    client.set_registered_model_alias(REGRESSOR, "challenger", v2)
