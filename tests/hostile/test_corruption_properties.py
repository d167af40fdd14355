"""Property: corrupting any one record file (random bytes, truncation, an alias bomb,
a field of the wrong type) loses at most that record; every other experiment, run,
model version and alias is still listed, searched and built into the site."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mltrail
from mltrail.tracking import context
from mltrail_generator import build_site
from tests.hostile.conftest import ALIAS_BOMB, Sample, copy_sample


@dataclass(frozen=True)
class Target:
    """A record file of the sample and what may be lost with it."""

    path: Callable[[Sample], Path]
    #: ("experiment", name), ("run", label), ("version", "m1/2"), ("alias", "m1") ...
    lost: tuple[str, str]


TARGETS = [
    *(Target(lambda s, n=n: s.experiment_file(n), ("experiment", n)) for n in ("alpha", "beta")),
    *(
        Target(lambda s, r=r, f=f: s.run_file(r, f), ("run", r))
        for r in ("alpha0", "gamma1")
        for f in ("run.yaml", "params.yaml")
    ),
    *(
        Target(lambda s, m=m, v=v: s.versions[(m, v)], ("version", f"{m}/{v}"))
        for m, v in (("m1", 1), ("m2", 2))
    ),
    Target(lambda s: s.alias, ("alias", "m1")),
    Target(lambda s: s.root / "models" / "m2" / "model.yaml", ("model", "m2")),
    Target(lambda s: s.root / ".cache" / "runs-index.marshal", ("cache", "")),
]
_WRONG = [[1, 2], {"nested": {"deep": [1]}}, 12, -1, None, True, "text", 1.5]


def corrupt(path: Path, how: str, data: st.DataObject) -> None:
    """Damage ``path`` the way ``how`` says (hypothesis draws the details)."""
    original = path.read_bytes() if path.exists() else b""
    if how == "bytes":
        path.write_bytes(data.draw(st.binary(max_size=300), label="bytes"))
    elif how == "truncate":
        cut = data.draw(st.integers(0, max(len(original) - 1, 0)), label="cut")
        path.write_bytes(original[:cut])
    elif how == "bomb":
        path.write_text(ALIAS_BOMB)
    else:
        rec = yaml.safe_load(original) if original and path.suffix == ".yaml" else None
        if isinstance(rec, dict) and rec:
            key = data.draw(st.sampled_from(sorted(rec)), label="key")
            rec[key] = data.draw(st.sampled_from(_WRONG), label="value")
            path.write_text(yaml.safe_dump(rec))
        else:
            path.write_text(yaml.safe_dump(data.draw(st.sampled_from(_WRONG), label="record")))


@dataclass(frozen=True)
class Seen:
    experiments: set[str]
    runs: set[str]
    versions: set[str]
    aliases: set[str]
    pages: set[str]


def look(sample: Sample, out: Path) -> Seen:
    mltrail.set_tracking_uri(sample.root)
    try:
        client = mltrail.Client()
        runs = mltrail.search_runs(output_format="list", search_all_experiments=True)
        models = client.search_registered_models()
        versions = client.search_model_versions()
        seen = Seen(
            experiments={e.experiment_id for e in mltrail.search_experiments()},
            runs={r.info.run_id for r in runs},
            versions={f"{v.name}/{v.version}" for v in versions},
            aliases={f"{m.name}@{a}" for m in models for a in m.aliases},
            pages=set(),
        )
    finally:
        context.close_all()
        context.reset_tracking_uri()
    build_site(sample.root, out)
    pages = {p.parent.relative_to(out).as_posix() for p in out.rglob("index.html")}
    return Seen(seen.experiments, seen.runs, seen.versions, seen.aliases, pages)


def expected(sample: Sample, lost: tuple[str, str]) -> Seen:
    """What must still be seen when at most the ``lost`` record is gone."""
    kind, what = lost
    experiments = {n: i for n, i in sample.experiments.items() if (kind, what) != ("experiment", n)}
    runs = {label: r for label, r in sample.runs.items() if (kind, what) != ("run", label)}
    versions = {f"{m}/{v}" for m, v in sample.versions} - ({what} if kind == "version" else set())
    aliases = set() if lost == ("alias", "m1") or lost == ("version", "m1/1") else {"m1@champion"}
    shown = {label: r for label, r in runs.items() if label[:-1] in experiments}
    pages = {
        *(f"experiments/{i}" for i in experiments.values()),
        *(f"runs/{r}" for r in shown.values()),
        *(f"models/{v.replace('/', '/v')}" for v in versions),
    }
    return Seen(set(experiments.values()), set(runs.values()), versions, aliases, pages)


@settings(
    max_examples=12,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(TARGETS),
    how=st.sampled_from(["bytes", "truncate", "bomb", "wrong-type"]),
    data=st.data(),
)
def test_a_corrupted_record_loses_at_most_itself(
    sample_template: Sample, clean_env: None, target: Target, how: str, data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        sample = copy_sample(sample_template, Path(tmp) / "store")
        path = target.path(sample)
        if target.lost[0] == "cache":  # a cache that a search wrote, then damaged
            look(sample, Path(tmp) / "first")
        path.parent.mkdir(parents=True, exist_ok=True)
        corrupt(path, how, data)

        seen = look(sample, Path(tmp) / "site")

    want = expected(sample, target.lost)
    _assert_kept(want, seen)


def _assert_kept(want: Seen, seen: Any) -> None:
    assert want.experiments <= seen.experiments
    assert want.runs <= seen.runs
    assert want.versions <= seen.versions
    assert want.aliases <= seen.aliases
    assert want.pages <= seen.pages
