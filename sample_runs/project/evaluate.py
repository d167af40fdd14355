"""Cross-validate one elastic net configuration on scikit-learn's diabetes data.

Logs the mean and the spread of the RMSE over ``--folds`` folds: a steadier estimate than
``train``'s single held-out split, for the configuration a sweep picked.
"""

import argparse

from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.model_selection import KFold, cross_val_score

import mltrail


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alpha", type=float, required=True)
    parser.add_argument("--l1-ratio", type=float, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x, y = load_diabetes(return_X_y=True)
    model = ElasticNet(alpha=args.alpha, l1_ratio=args.l1_ratio, max_iter=10000)
    folds = KFold(n_splits=args.folds, shuffle=True, random_state=args.seed)
    scores = -cross_val_score(model, x, y, cv=folds, scoring="neg_root_mean_squared_error")
    with mltrail.start_run():
        mltrail.log_metrics(
            {"cv_rmse": round(float(scores.mean()), 6), "cv_rmse_std": round(float(scores.std()), 6)}
        )
    print(f"elastic net alpha={args.alpha} l1_ratio={args.l1_ratio}, {args.folds} folds")
    print(f"  cv_rmse {scores.mean():.4f} +/- {scores.std():.4f}")


if __name__ == "__main__":
    main()
