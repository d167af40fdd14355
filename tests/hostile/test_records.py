"""One bad file costs only its own record, with a message naming it.

Each case damages one record of the sample store (tests/hostile/conftest.py), then looks
at it the way users do: the Python API, `mltrail experiments list`, `runs list`,
`models list` (in a fresh process: what is printed) and `mltrail build`.
"""

from __future__ import annotations

import logging
import marshal
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import mltrail
from mltrail.errors import (
    CorruptedRecord,
    InvalidParameterValue,
    MltrailError,
    ResourceNotFound,
    StoreError,
)
from mltrail.store import FileStore, formats, indexfile
from mltrail.store.index import RunIndex
from mltrail_generator import build_site
from mltrail_generator.config import ConfigError
from tests.hostile.conftest import ALIAS_BOMB, EXPERIMENTS, Sample, mltrail_cli


@dataclass(frozen=True)
class Seen:
    """What the API, the CLI and a site build show of the sample store."""

    experiments: set[str]
    runs: set[str]
    #: Model -> its live version numbers.
    versions: dict[str, set[int]]
    aliases: dict[str, dict[str, str]]
    cli: dict[str, subprocess.CompletedProcess[str]]
    #: Pages of the built site, relative to it.
    pages: set[str]
    #: Warnings the build logged.
    build_log: str


def survey(sample: Sample, out: Path, caplog: pytest.LogCaptureFixture) -> Seen:
    client = mltrail.Client()
    models = client.search_registered_models()
    runs = mltrail.search_runs(output_format="list", search_all_experiments=True)
    cli = {
        what: mltrail_cli(what, "list", "--store", str(sample.root))
        for what in ("experiments", "runs", "models")
    }
    for result in cli.values():
        assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        build_site(sample.root, out)
    return Seen(
        experiments={e.name for e in mltrail.search_experiments()},
        runs={r.info.run_id for r in runs},
        versions={m.name: {int(v.version) for v in _versions(client, m.name)} for m in models},
        aliases={m.name: dict(m.aliases) for m in models},
        cli=cli,
        pages={p.relative_to(out).as_posix() for p in out.rglob("index.html")},
        build_log=caplog.text,
    )


def _versions(client: mltrail.Client, name: str) -> list[mltrail.registry.ModelVersion]:
    return list(client.search_model_versions(f"name = '{name}'"))


def all_runs(sample: Sample) -> set[str]:
    return set(sample.runs.values())


def assert_intact_except(sample: Sample, seen: Seen, *, runs: set[str] = frozenset()) -> None:
    """Every run but ``runs`` is searched, listed and has its page."""
    kept = all_runs(sample) - runs
    assert seen.runs == kept
    for run_id in kept:
        assert run_id in seen.cli["runs"].stdout
        assert f"runs/{run_id}/index.html" in seen.pages
    for run_id in runs:
        assert run_id not in seen.cli["runs"].stdout
        assert f"runs/{run_id}/index.html" not in seen.pages


# -- experiments ---------------------------------------------------------------------

EXPERIMENT_DAMAGE = {
    "invalid-yaml": "name: [unclosed\n",
    "not-a-mapping": "- just\n- a list\n",
    "missing-name": "experiment_id: '{id}'\nlifecycle_stage: active\n",
    "missing-id": "name: beta\nlifecycle_stage: active\n",
    "name-not-text": "experiment_id: '{id}'\nname: [1, 2]\n",
    "tags-not-mapping": "experiment_id: '{id}'\nname: beta\ntags: 7\n",
    "id-not-its-folder": "experiment_id: '0'\nname: beta\n",
    "control-characters": "experiment_id: '{id}'\nname: \"be\\x1b[2Jta\"\n",
    "alias-bomb": ALIAS_BOMB,
    "binary": "\x00\x01garbage",
}


@pytest.mark.parametrize("damage", sorted(EXPERIMENT_DAMAGE))
def test_a_bad_experiment_costs_only_itself(
    sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    bad = sample.experiment_file("beta")
    bad.write_text(EXPERIMENT_DAMAGE[damage].replace("{id}", sample.experiments["beta"]))

    seen = survey(sample, tmp_path / "site", caplog)

    assert seen.experiments == {"Default", "alpha", "gamma"}
    listing = seen.cli["experiments"]
    assert "alpha" in listing.stdout and "gamma" in listing.stdout
    assert "beta" not in listing.stdout
    assert str(bad) in listing.stderr and "skipping" in listing.stderr
    assert str(bad) in seen.build_log
    for name in ("alpha", "gamma"):
        assert f"experiments/{sample.experiments[name]}/index.html" in seen.pages
    assert f"experiments/{sample.experiments['beta']}/index.html" not in seen.pages
    # The runs of beta are intact records: the API still finds them; the site, which
    # shows runs inside their experiment, leaves them out with it.
    assert seen.runs == all_runs(sample)
    with pytest.raises(CorruptedRecord) as info:
        mltrail.get_experiment(sample.experiments["beta"])
    assert str(bad) in str(info.value)


def test_experiment_names_with_control_characters_are_refused(sample: Sample) -> None:
    for name in ("tab\there", "esc\x1b[31mred", "bell\x07"):
        with pytest.raises(InvalidParameterValue, match="control or unprintable"):
            mltrail.create_experiment(name)
    assert {e.name for e in mltrail.search_experiments()} == {"Default", *EXPERIMENTS}


# -- registry ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage", ["- a list\n", "name: m1\nversion: two\n", ALIAS_BOMB, "{unclosed"]
)
def test_a_bad_version_file_costs_only_that_version(
    sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture, damage: str
) -> None:
    bad = sample.versions[("m1", 2)]
    bad.write_text(damage)

    seen = survey(sample, tmp_path / "site", caplog)

    assert seen.versions == {"m1": {1}, "m2": {1, 2}}
    assert seen.aliases["m1"] == {"champion": "1"}
    listing = seen.cli["models"]
    assert "m1" in listing.stdout and "m2" in listing.stdout
    assert str(bad) in listing.stderr
    assert str(bad) in seen.build_log
    assert {"models/m1/v1/index.html", "models/m2/v2/index.html"} <= seen.pages
    assert "models/m1/v2/index.html" not in seen.pages
    assert_intact_except(sample, seen)

    client = mltrail.Client()
    with pytest.raises(ResourceNotFound) as info:  # a lookup says what it could not read
        client.get_model_version("m1", 2)
    assert str(bad) in str(info.value)
    with pytest.raises(CorruptedRecord) as refused:  # a writer must see every number
        client.create_model_version("m1", f"runs:/{sample.runs['alpha0']}/model")
    assert str(bad) in str(refused.value)


def test_an_alias_bomb_costs_only_the_alias(
    sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sample.alias.write_text(ALIAS_BOMB)

    seen = survey(sample, tmp_path / "site", caplog)

    assert seen.aliases == {"m1": {}, "m2": {}}
    assert seen.versions == {"m1": {1, 2}, "m2": {1, 2}}
    assert str(sample.alias) in seen.cli["models"].stderr
    assert "aliases" in seen.build_log and str(sample.alias) in seen.build_log
    with pytest.raises(ResourceNotFound) as info:
        mltrail.Client().get_model_version_by_alias("m1", "champion")
    assert "YAML aliases" in str(info.value) and str(sample.alias) in str(info.value)


def test_a_bad_model_file_costs_only_the_model_record(
    sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = sample.root / "models" / "m2" / "model.yaml"
    bad.write_text("name: m2\ncreation_timestamp: yesterday\n")

    seen = survey(sample, tmp_path / "site", caplog)

    # Its versions still name the model: it is listed, without its description.
    assert seen.versions == {"m1": {1, 2}, "m2": {1, 2}}
    assert mltrail.Client().get_registered_model("m2").description is None
    assert str(bad) in seen.cli["models"].stderr
    assert "models/m2/index.html" in seen.pages


# -- runs ----------------------------------------------------------------------------


def test_an_alias_bomb_in_a_run_costs_only_the_run(
    sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = sample.run_file("gamma1")
    bad.write_text(ALIAS_BOMB)

    seen = survey(sample, tmp_path / "site", caplog)

    assert_intact_except(sample, seen, runs={sample.runs["gamma1"]})
    assert str(bad) in seen.cli["runs"].stderr and "YAML aliases" in seen.cli["runs"].stderr
    with pytest.raises(CorruptedRecord, match="YAML aliases"):
        mltrail.get_run(sample.runs["gamma1"])


@pytest.mark.parametrize("name", ["run.yaml", "params.yaml", "tags.yaml"])
def test_an_alias_bomb_in_any_record_file_of_a_run(sample: Sample, name: str) -> None:
    (sample.run_file("beta1", name)).write_text(ALIAS_BOMB)
    found = mltrail.search_runs(output_format="list", search_all_experiments=True)
    assert {r.info.run_id for r in found} == all_runs(sample) - {sample.runs["beta1"]}


def test_a_huge_record_is_refused_unread(
    sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = sample.run_file("alpha1")
    with open(bad, "ab") as f:
        f.truncate(formats.MAX_RECORD_BYTES + 1)  # sparse: no disk used

    seen = survey(sample, tmp_path / "site", caplog)

    assert_intact_except(sample, seen, runs={sample.runs["alpha1"]})
    assert "larger than" in seen.cli["runs"].stderr and str(bad) in seen.cli["runs"].stderr


def test_a_record_linked_out_of_the_store_is_not_read(
    sample: Sample, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "secret.yaml"
    original = sample.run_file("beta0").read_text()
    secret.write_text(original.replace("FINISHED", "FINISHED\nrun_name: TOP-SECRET-NAME"))
    bad = sample.run_file("beta0")
    bad.unlink()
    bad.symlink_to(secret)

    seen = survey(sample, tmp_path / "site", caplog)

    assert_intact_except(sample, seen, runs={sample.runs["beta0"]})
    assert "symbolic link" in seen.cli["runs"].stderr
    site_text = "".join(p.read_text(errors="replace") for p in (tmp_path / "site").rglob("*.*"))
    assert "TOP-SECRET-NAME" not in site_text


def test_a_linked_metric_folder_is_not_followed(sample: Sample, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.tsv").write_text("1\t42.0\t0\n")
    metrics = sample.run_file("alpha0", "metrics")
    (metrics / "up").symlink_to(outside, target_is_directory=True)

    with pytest.raises(CorruptedRecord, match="outside the run's metrics folder"):
        mltrail.Client().get_metric_history(sample.runs["alpha0"], "up/leak")
    run = mltrail.get_run(sample.runs["alpha0"])
    assert "up/leak" not in run.data.metrics


# -- the derived cache ---------------------------------------------------------------


def _age(sample: Sample) -> None:
    """Make the sample's files older than the cache's racy window, so that runs are cached."""
    for path in sample.root.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000), follow_symlinks=False)


def _search(sample: Sample) -> dict[str, dict[str, str]]:
    found = mltrail.search_runs(output_format="list", search_all_experiments=True)
    return {r.info.run_id: r.data.params for r in found}


def _cached_params(index: RunIndex) -> dict[str, dict[str, str]]:
    """Run id → params, as the cache file holds them."""
    cache = index._read()
    return {run_id: marshal.loads(cache.entry(i))[1] for i, run_id in enumerate(cache.ids)}


def test_a_signed_cache_of_another_version_or_cut_short_is_rebuilt(sample: Sample) -> None:
    """Entries of a signed cache are trusted without a check of their shape (only our own
    code could have written them), so what it was written by must be exactly this code."""
    _age(sample)
    expected = _search(sample)  # writes the cache
    from mltrail.tracking import context

    context.close_all()
    index = RunIndex(sample.root)
    cache = index.path
    assert isinstance(cache, Path), cache
    whole = cache.read_bytes()
    assert set(_cached_params(index)) == all_runs(sample)
    target = sample.runs["alpha0"]
    header = marshal.dumps({"version": indexfile.CACHE_VERSION - 1, "parts": {}})
    older = index._digest(header) + indexfile.HEAD.pack(len(header)) + header
    for blob in (
        indexfile.MAGIC + older,  # an older version's, signed
        whole[: len(whole) // 2],  # cut short
        whole[:-1],
    ):
        cache.write_bytes(blob)
        fresh = FileStore(sample.root)
        assert {r.info.run_id: r.data.params for r in fresh.all_runs()} == expected
        assert _cached_params(fresh.index)[target] == {"p": "0"}  # rebuilt from the files


def test_a_cache_damaged_after_it_was_signed_is_read_again(sample: Sample) -> None:
    """A byte flipped inside one run's entry (a disk error) fails that entry's digest
    when a search first builds the run: the search reads the files instead."""
    _age(sample)
    expected = _search(sample)
    from mltrail.tracking import context

    context.close_all()
    index = RunIndex(sample.root)
    cache = index._read()
    target = sample.runs["alpha0"]
    entry = cache.entry(cache.ids.index(target))
    start = bytes(cache.data).index(bytes(entry))
    assert isinstance(index.path, Path)
    damaged = bytearray(index.path.read_bytes())
    damaged[start + len(entry) // 2] ^= 0xFF
    index.path.write_bytes(bytes(damaged))
    fresh = FileStore(sample.root)
    assert {r.info.run_id: r.data.params for r in fresh.all_runs()} == expected
    assert _cached_params(RunIndex(sample.root))[target] == {"p": "0"}  # written again


@pytest.mark.parametrize(
    "blob",
    [
        b"(" + (2**31 - 1).to_bytes(4, "little"),  # 15 bytes that made marshal take 16 GB
        b"[" + (2**31 - 1).to_bytes(4, "little") + b"\0" * 8,
        marshal.dumps({"version": 2, "runs": {"x": compile("1", "f", "eval")}}),
        b"",
        os.urandom(4096),
    ],
)
def test_a_cache_file_from_elsewhere_is_never_parsed(sample: Sample, blob: bytes) -> None:
    cache = sample.root / ".cache" / "runs-index.marshal"
    cache.parent.mkdir(exist_ok=True)
    cache.write_bytes(blob)
    _age(sample)
    assert set(_search(sample)) == all_runs(sample)
    assert set(RunIndex(sample.root)._read().ids) == all_runs(sample)  # rewritten, signed


# -- the store marker ----------------------------------------------------------------


def test_a_store_without_its_marker_is_not_a_store(sample: Sample) -> None:
    marker = sample.root / "mltrail-store.yaml"
    marker.unlink()
    for call in (
        lambda: mltrail.start_run(),
        lambda: mltrail.search_runs(search_all_experiments=True),
        lambda: mltrail.log_metric("m", 1.0),
    ):
        with pytest.raises(StoreError, match="not an mltrail store") as info:
            call()
        assert "already exists" not in str(info.value)
    assert not marker.exists()  # nothing wrote a new one
    listing = mltrail_cli("runs", "list", "--store", str(sample.root))
    assert listing.returncode != 0 and "not an mltrail store" in listing.stderr
    assert "Traceback" not in listing.stderr
    init = mltrail_cli("init", str(sample.root))
    assert init.returncode != 0 and "Restore the marker" in init.stderr
    assert not marker.exists()


# -- keys ----------------------------------------------------------------------------


def test_metric_keys_a_and_a_tsv_slash_b_do_not_clash(sample: Sample) -> None:
    with mltrail.start_run():
        mltrail.log_metric("a", 1.0)
        mltrail.log_metric("a/b", 2.0)  # the documented no-clash case
        with pytest.raises(InvalidParameterValue, match=r"may not end in '\.tsv'"):
            mltrail.log_metric("a.tsv/b", 3.0)
        run_id = mltrail.active_run().info.run_id
    assert mltrail.get_run(run_id).data.metrics == {"a": 1.0, "a/b": 2.0}


@pytest.mark.parametrize(
    "key",
    ["../../secret", "a\0b", "k" * 251, "/etc/passwd", "a//b", "a\\..\\b", 7],
)
def test_reads_check_keys_like_writes(sample: Sample, tmp_path: Path, key: object) -> None:
    (sample.root.parent / "secret.tsv").write_text("1\t42.0\t0\n")  # what ../.. would reach
    client = mltrail.Client()
    with pytest.raises(InvalidParameterValue, match="Invalid metric key"):
        client.get_metric_history(sample.runs["alpha0"], key)  # type: ignore[arg-type]


@pytest.mark.parametrize("log", ["log_metric", "log_param", "set_tag"])
def test_a_key_too_long_is_refused_clearly(sample: Sample, log: str) -> None:
    with mltrail.start_run():
        with pytest.raises(InvalidParameterValue, match="at most 250 characters"):
            getattr(mltrail, log)("k" * 300, 1)
        getattr(mltrail, log)("k" * 250, 1)  # the longest key fits any file system


# -- a create_run cut short ----------------------------------------------------------


def test_a_run_creation_cut_short_leaves_nothing_to_warn_about(
    sample: Sample, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = mltrail.Client().store
    real = formats.write_yaml

    def killed(path: Path, data: object) -> None:
        real(path, data)
        raise KeyboardInterrupt  # the process is stopped right after writing run.yaml

    monkeypatch.setattr(formats, "write_yaml", killed)
    with pytest.raises(KeyboardInterrupt):
        mltrail.start_run()
    monkeypatch.undo()
    # A leftover from a process killed outright (no cleanup): hidden, then collected.
    leftover = sample.root / "runs" / "ab" / f".{'0' * 30}ab.tmp"
    leftover.mkdir(parents=True)
    (leftover / "run.yaml").write_text("run_id: x\n")
    old = 1_000_000_000
    os.utime(leftover, (old, old))

    with caplog.at_level(logging.WARNING):
        assert set(_search(sample)) == all_runs(sample)
    assert "skipping" not in caplog.text
    assert [p.name for p in (sample.root / "runs").glob("*/*") if p.name.startswith(".")] == [
        leftover.name
    ]
    store.gc()
    assert not leftover.exists()
    with mltrail.start_run():  # the store works on
        pass


# -- YAML the site reads -------------------------------------------------------------


def test_an_alias_bomb_in_the_site_config_fails_the_build_clearly(
    sample: Sample, tmp_path: Path
) -> None:
    config = sample.root / "mltrail.yaml"
    config.write_text(ALIAS_BOMB)
    with pytest.raises(ConfigError, match="YAML aliases"):
        build_site(sample.root, tmp_path / "site")
    result = mltrail_cli("build", str(sample.root), "-o", str(tmp_path / "site"))
    assert result.returncode != 0 and "YAML aliases" in result.stderr
    assert "Traceback" not in result.stderr
    assert issubclass(ConfigError, MltrailError)


def test_linked_shards_and_run_folders_are_not_followed(sample: Sample, tmp_path: Path) -> None:
    """A store from a pull request may link a shard or a run folder to another place:
    a run lying there is never read."""
    source = sample.run_file("alpha0").parent
    outside = tmp_path / "outside"
    for shard, run_id in (("zy", "0" * 30 + "zy"), ("zx", "0" * 30 + "zx")):
        copy = outside / shard / run_id
        shutil.copytree(source, copy)
        record = copy / "run.yaml"
        text = record.read_text().replace(source.name, run_id)
        record.write_text(re.sub(r"(?m)^run_name: .*$", "run_name: OUTSIDE", text))
    (sample.root / "runs" / "zy").symlink_to(outside / "zy", target_is_directory=True)
    (sample.root / "runs" / "zx").mkdir()
    (sample.root / "runs" / "zx" / ("0" * 30 + "zx")).symlink_to(
        outside / "zx" / ("0" * 30 + "zx"), target_is_directory=True
    )
    names = {r.info.run_name for r in mltrail.search_runs(output_format="list",
                                                          search_all_experiments=True)}  # fmt: skip
    assert "OUTSIDE" not in names and len(names) > 1
