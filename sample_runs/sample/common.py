"""What every part of the sample shares: the seed, the start of the clock, the fixed
source record, the environment tag, and small logging helpers."""

from __future__ import annotations

import math
import platform
from importlib import metadata

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import PIL
import sklearn

import mltrail as mlflow

SEED = 20240506
#: Monday 6 May 2024, 08:30 UTC: the simulated clock starts here.
EPOCH_MS = 1_714_984_200_000
HOUR_MS = 3600 * 1000
#: What every run records as its source (instead of this machine's details).
SOURCE = {
    "name": "sample_runs/generate.py",
    "type": "LOCAL",
    "host": "sample-host",
    "python": "3.12.3",
    "platform": "Linux-6.8.0-x86_64-with-glibc2.39",
}


def installed(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "none"


#: Every installed version the store's bytes depend on: the fitted models and the PNGs,
#: and what the logged models record (Python, and the pins of requirements.txt; the build
#: tools named in python_env.yaml and conda.yaml are fixed by ``deterministic()``).
ENVIRONMENT = ", ".join(
    f"{name} {version}"
    for name, version in (
        ("python", platform.python_version()),
        ("scikit-learn", sklearn.__version__),
        ("numpy", np.__version__),
        ("scipy", installed("scipy")),
        ("skops", installed("skops")),
        ("matplotlib", matplotlib.__version__),
        ("pillow", PIL.__version__),
    )
)
PLOT_DPI = 80
#: Where the runs log their models, and how many test rows their input examples hold.
MODEL_PATH = "model"
#: Where the classification datasets come from (recorded as their source).
DATASET_SOURCE = (
    "https://scikit-learn.org/stable/modules/generated/sklearn.datasets.load_breast_cancer.html"
)
EXAMPLE_ROWS = 5


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
