"""Experiment 3, ``training-curves``: three architectures x three learning rates as
nested runs with 2,000-step training curves (one run diverges and FAILS).  The curves
are simulated from a seeded noise model."""

from __future__ import annotations

import math
import os
import random

import mltrail as mlflow

from sample.clock import SimulatedClock
from sample.common import EPOCH_MS, SEED, csv_text, experiment, log_figure, new_figure, r6

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
