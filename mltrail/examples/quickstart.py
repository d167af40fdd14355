"""The quick-start example: a small grid search logged with the MLflow-style API.

Run it with ``python -m mltrail.examples.quickstart``; it logs into the store in use
(``MLTRAIL_TRACKING_URI``, else the nearest store above the current folder, else a
new ``./runs``).  It needs nothing beyond the standard library.
"""

from __future__ import annotations

import math
import random

import mltrail as mlflow


def train(alpha: float, epochs: int, rng: random.Random) -> list[float]:
    """A stand-in for training: a loss curve that depends on ``alpha``."""
    floor = 0.1 + abs(alpha - 0.3)
    return [floor + math.exp(-alpha * 3 * e) + rng.uniform(0, 0.02) for e in range(epochs)]


def main() -> None:
    rng = random.Random(42)
    mlflow.set_experiment("quickstart")
    for alpha in (0.1, 0.3, 0.5):
        with mlflow.start_run(run_name=f"alpha-{alpha}", description="A **quick-start** run."):
            mlflow.log_params({"alpha": alpha, "epochs": 20})
            mlflow.set_tag("model", "toy")
            losses = train(alpha, 20, rng)
            for step, loss in enumerate(losses):
                mlflow.log_metric("loss", loss, step=step)
            mlflow.log_metric("final_loss", losses[-1])
            mlflow.log_text(f"alpha={alpha}\nfinal loss={losses[-1]:.4f}\n", "summary.txt")
    best = mlflow.search_runs(
        order_by=["metrics.final_loss ASC"], max_results=1, output_format="list"
    )[0]
    print(f"best run: {best.info.run_name} (final_loss={best.data.metrics['final_loss']:.4f})")


if __name__ == "__main__":
    main()
