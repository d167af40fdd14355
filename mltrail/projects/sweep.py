"""Sweeps: one entry point run over a grid, or over random points, as children of one run.

``-P alpha=0.1,0.5,1.0 -P l1_ratio=0,0.5`` is a grid (every combination, 6 runs); a comma
written ``\\,`` is part of the value. With ``random=N``, N points are drawn (with ``seed``)
from ``uniform:LOW:HIGH``, ``loguniform:LOW:HIGH``, ``int:LOW:HIGH`` (both ends included)
and ``choice:A,B,...`` (or a plain comma list); a value without a comma stays fixed.

A parent run groups the sweep and each child carries ``mlflow.parentRunId``. Up to ``jobs``
children run at once; one that fails does not stop the others; the parent ends FINISHED
when every child did, FAILED otherwise, KILLED when the sweep is interrupted (the running
children are stopped and end KILLED; those already done stay as they are).
"""

from __future__ import annotations

import functools
import itertools
import math
import random as random_module
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from mltrail.projects.runner import RunRequest, SubmittedRun, experiment_id_for, submit
from mltrail.projects.spec import ProjectError

_UNESCAPED_COMMA = re.compile(r"(?<!\\),")
_RANGE = re.compile(r"^(uniform|loguniform|int):([^:]+):([^:]+)$")
SWEEP_TAG = "mltrail.sweep"
#: Seconds between two looks at the running children.
POLL_S = 0.05


def split_values(text: str) -> list[str]:
    """``a,b\\,c`` -> ``["a", "b,c"]``: the values of one ``-P`` option."""
    return [v.replace("\\,", ",") for v in _UNESCAPED_COMMA.split(text)]


def is_sweep(parameters: dict[str, str], random: int | None) -> bool:
    """Whether ``parameters`` ask for more than one run."""
    return random is not None or any(len(split_values(v)) > 1 for v in parameters.values())


def grid(parameters: dict[str, str]) -> list[dict[str, str]]:
    """Every combination of the values, in the order the options were given."""
    names = list(parameters)
    choices = [split_values(parameters[n]) for n in names]
    return [dict(zip(names, point, strict=True)) for point in itertools.product(*choices)]


def random_points(parameters: dict[str, str], count: int, seed: int | None) -> list[dict[str, str]]:
    """``count`` points drawn from the ranges and choices of ``parameters``."""
    if count < 1:
        raise ProjectError(f"--random needs a positive number of runs; got {count}.")
    rng = random_module.Random(seed)
    samplers = {name: _sampler(name, text) for name, text in parameters.items()}
    return [{name: draw(rng) for name, draw in samplers.items()} for _ in range(count)]


def _sampler(name: str, text: str) -> Callable[[random_module.Random], str]:
    found = _RANGE.match(text)
    if found is not None:
        kind, low_text, high_text = found.groups()
        try:
            low, high = float(low_text), float(high_text)
        except ValueError:
            raise ProjectError(f"-P {name}={text}: the bounds must be numbers.") from None
        if not low <= high:
            raise ProjectError(f"-P {name}={text}: the low bound is above the high one.")
        if kind == "int":
            if low != int(low) or high != int(high):
                raise ProjectError(f"-P {name}={text}: int bounds must be whole numbers.")
            return lambda rng: str(rng.randint(int(low), int(high)))
        if kind == "loguniform":
            if low <= 0:
                raise ProjectError(f"-P {name}={text}: loguniform bounds must be above 0.")
            return lambda rng: repr(math.exp(rng.uniform(math.log(low), math.log(high))))
        return lambda rng: repr(rng.uniform(low, high))
    values = split_values(text.removeprefix("choice:"))
    return lambda rng: rng.choice(values)


@dataclass
class Child:
    """One point of the sweep and what became of it."""

    values: dict[str, str]
    run: SubmittedRun | None = None
    status: str = "PENDING"


def run_sweep(
    request: RunRequest,
    points: list[dict[str, str]],
    jobs: int = 1,
    report: Callable[[str], None] = lambda _: None,
) -> tuple[str, list[Child]]:
    """Run ``request`` once per point (its parameters updated by the point) under a new
    parent run; (the parent's id, the children) once all ended."""
    import mltrail

    if jobs < 1:
        raise ProjectError(f"--jobs needs a positive number; got {jobs}.")
    children = [Child(point) for point in points]
    _check_all(request, children)
    client = mltrail.MlflowClient()
    first = _child_request(request, children[0].values, "")
    experiment_id = experiment_id_for(client, first)
    parent = client.create_run(
        experiment_id,
        tags={
            SWEEP_TAG: str(len(children)),
            "mlflow.source.type": "PROJECT",
            "mlflow.project.entryPoint": request.entry_point,
        },
        run_name=request.run_name,
    )
    parent_id = parent.info.run_id
    report(f"Sweep {parent_id}: {len(children)} runs of {request.entry_point!r}, {jobs} at a time.")
    waiting = list(children)
    running: list[Child] = []
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                child = waiting.pop(0)
                number = children.index(child) + 1
                # Listed as running first, and handed its run by ``submit`` as soon as the
                # command runs: an interrupt at any moment finds it below (``submit`` ends
                # its own run when interrupted before that).
                child.status = "RUNNING"
                running.append(child)
                submit(
                    _child_request(request, child.values, parent_id, number), report,
                    echo=False, started=functools.partial(setattr, child, "run"),
                )  # fmt: skip
            for child in list(running):
                assert child.run is not None
                status = child.run.get_status()
                if status != "RUNNING":
                    child.status = status
                    running.remove(child)
                    report(f"  {child.run.run_id} {status}: {_describe(child.values)}")
            time.sleep(POLL_S)
    except BaseException:
        for child in running:
            if child.run is not None:
                child.run.cancel()
            child.status = "KILLED"
        client.set_terminated(parent_id, "KILLED")
        raise
    ok = all(c.status == "FINISHED" for c in children)
    client.set_terminated(parent_id, "FINISHED" if ok else "FAILED")
    return parent_id, children


def _describe(values: dict[str, str]) -> str:
    return " ".join(f"{k}={v}" for k, v in values.items())


def _child_request(
    request: RunRequest, values: dict[str, str], parent_id: str, number: int = 0
) -> RunRequest:
    """Child ``number`` (from 1) of the sweep: with ``--run-name NAME``, named ``NAME-<n>``
    (the parent is NAME); otherwise each gets a generated name."""
    name = f"{request.run_name}-{number}" if request.run_name and number else None
    return replace(
        request,
        parameters={**request.parameters, **values},
        parent_run_id=parent_id or None,
        run_name=name,
    )


def _check_all(request: RunRequest, children: list[Child]) -> None:
    """Every point's values are checked before the first run starts."""
    from pathlib import Path

    from mltrail.projects.fetch import fetch
    from mltrail.projects.spec import load_project

    checkout = fetch(request.uri, request.version)
    try:
        entry = load_project(checkout.directory).entry_point(request.entry_point)
        for child in children:
            try:
                entry.values({**request.parameters, **child.values}, Path.cwd(), checkout.directory)
            except ProjectError as e:
                raise ProjectError(f"Sweep point {_describe(child.values)}: {e}") from None
    finally:
        checkout.cleanup()


def primary_metric(run_ids: list[str], name: str | None) -> tuple[str | None, dict[str, Any]]:
    """(the metric shown for each child, its latest value per run id): ``name``, else the
    first metric name (alphabetically) any child logged."""
    import mltrail

    client = mltrail.MlflowClient()
    metrics = {run_id: client.get_run(run_id).data.metrics for run_id in run_ids}
    if name is None:
        names = sorted({m for found in metrics.values() for m in found})
        name = names[0] if names else None
    if name is None:
        return None, {}
    return name, {run_id: found.get(name) for run_id, found in metrics.items()}
