"""Fit an elastic net to scikit-learn's diabetes data and log its scores on a held-out split.

Run it through the project (``mltrail run . -e train -P alpha=0.05``): the run the command
resumes already holds the parameters; this script adds the metrics.
"""

import argparse
import math

from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import mltrail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--l1-ratio", type=float, required=True)
    parser.add_argument("--max-iter", type=int, default=10000)
    parser.add_argument("--selection", choices=["cyclic", "random"], default="cyclic")
    parser.add_argument("--test-size", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=args.test_size, random_state=args.seed
    )
    model = ElasticNet(
        alpha=args.alpha,
        l1_ratio=args.l1_ratio,
        max_iter=args.max_iter,
        selection=args.selection,
        random_state=args.seed,
    )
    with mltrail.start_run():  # resumes the run `mltrail run` made for this command
        model.fit(x_train, y_train)
        pred = model.predict(x_test)
        metrics = {
            "test_rmse": math.sqrt(mean_squared_error(y_test, pred)),
            "test_mae": mean_absolute_error(y_test, pred),
            "test_r2": r2_score(y_test, pred),
            "zero_coefs": int((model.coef_ == 0).sum()),  # set to 0 by the L1 part
        }
        # 6 decimals: the last bits of a float depend on the machine's BLAS
        mltrail.log_metrics({k: round(float(v), 6) for k, v in metrics.items()})
    print(f"elastic net alpha={args.alpha} l1_ratio={args.l1_ratio} ({args.selection})")
    print(f"  train rows {len(y_train)}, test rows {len(y_test)}, {model.n_iter_} iterations")
    for name, value in metrics.items():
        print(f"  {name:<14} {value:.4f}" if isinstance(value, float) else f"  {name:<14} {value}")


if __name__ == "__main__":
    main()
