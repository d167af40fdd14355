"""Property tests for the registry's on-disk records, the name -> folder mapping, and the
parsers of models:/ specs, sources and commit trailers."""

from __future__ import annotations

import contextlib
import re
import string
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mltrail.errors import CorruptedRecord, InvalidParameterValue
from mltrail.registry import names
from mltrail.registry.commits import message, parse_trailer
from mltrail.registry.specs import ModelSpec, RunSource, parse_source, parse_spec
from mltrail.store import formats, layout
from mltrail.store.registry import (
    STAGES,
    AliasRecord,
    ModelRecord,
    VersionRecord,
    alias_from_record,
    model_from_record,
    version_from_record,
)

texts = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
small = st.integers(min_value=0, max_value=2**62)
tags = st.dictionaries(st.text(string.ascii_letters + "._- /", min_size=1, max_size=10), texts)
version_ids = st.text("0123456789abcdef", min_size=32, max_size=32)

model_records = st.builds(
    ModelRecord,
    name=texts,
    creation_timestamp=small,
    last_updated_timestamp=small,
    description=texts,
    tags=tags,
)
version_records = st.builds(
    VersionRecord,
    version_id=version_ids,
    name=texts,
    version=st.integers(min_value=1, max_value=10**9),
    creation_timestamp=small,
    last_updated_timestamp=small,
    source=texts,
    run_id=st.none() | texts,
    current_stage=st.sampled_from(STAGES),
    description=texts,
    user_id=texts,
    run_link=st.none() | texts,
    tags=tags,
    deleted_timestamp=st.none() | small,
)
alias_records = st.builds(
    AliasRecord,
    alias=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
    version=st.integers(min_value=1, max_value=10**6),
    version_id=st.none() | version_ids,
)


def _round_trip(tmp_path: Path, record: object) -> dict[str, object]:
    path = tmp_path / "record.yaml"
    formats.write_yaml(path, record.to_record())  # type: ignore[attr-defined]
    return formats.read_mapping(path, missing_ok=False)


@given(model_records)
@example(ModelRecord("yes", 0, 0, "multi\nline\n", {"null": "true"}))
def test_model_records_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rec: ModelRecord
) -> None:
    tmp = tmp_path_factory.mktemp("m")
    assert model_from_record(tmp / "model.yaml", _round_trip(tmp, rec)) == rec


@given(version_records)
@example(VersionRecord("0" * 32, "a: b", 1, 0, 0, "runs:/0123/model", "0123", tags={"k": "007"}))
def test_version_records_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rec: VersionRecord
) -> None:
    tmp = tmp_path_factory.mktemp("v")
    assert version_from_record(tmp / f"{rec.version_id}.yaml", _round_trip(tmp, rec)) == rec


@given(alias_records)
def test_alias_records_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rec: AliasRecord
) -> None:
    tmp = tmp_path_factory.mktemp("a")
    assert alias_from_record(tmp / f"{rec.alias}.yaml", _round_trip(tmp, rec)) == rec


@pytest.mark.parametrize(
    "rec",
    [
        {"name": "m", "version": "1", "creation_timestamp": 1, "source": "x"},
        {"name": "m", "version": 1, "creation_timestamp": 1},
        {
            "name": "m",
            "version": 1,
            "creation_timestamp": 1,
            "source": "x",
            "current_stage": "Prod",
        },
        {"name": "m", "version": True, "creation_timestamp": 1, "source": "x"},
    ],
)
def test_malformed_version_records_name_the_file(rec: dict[str, object]) -> None:
    with pytest.raises(CorruptedRecord, match=r"v\.yaml"):
        version_from_record(Path("v.yaml"), rec)


_SAFE_DIRNAME = re.compile(r"[a-z0-9][a-z0-9._+-]*")


@given(st.text(max_size=300))
@example("..")
@example(".")
@example("con")
@example("Churn")
@example("a/../../etc")
@example("x" * 300)
def test_model_folder_names_never_escape(name: str) -> None:
    folder = layout.model_dirname(name)
    assert _SAFE_DIRNAME.fullmatch(folder), folder
    assert folder not in (".", "..") and not folder.endswith(".")
    assert len(folder.encode()) <= 64 and "/" not in folder and "\\" not in folder
    assert folder.split(".")[0] not in ("con", "prn", "aux", "nul")
    root = Path("/store")
    assert layout.model_dir(root, name).parent == root / layout.MODELS_DIR
    assert layout.model_dirname(name) == folder  # deterministic


@given(st.text(max_size=60), st.text(max_size=60))
@example("Churn", "churn")
@example("churn", "churn+x")
def test_distinct_names_get_distinct_folders_even_ignoring_case(a: str, b: str) -> None:
    if a != b:
        assert layout.model_dirname(a).lower() != layout.model_dirname(b).lower()


def test_readable_names_are_their_own_folder() -> None:
    assert layout.model_dirname("churn") == "churn"
    assert layout.model_dirname("churn-v2.1_x") == "churn-v2.1_x"
    assert layout.model_dirname("Churn Model").startswith("churn-model+")


model_names = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="/:\ufeff"),
    min_size=1,
    max_size=30,
).filter(str.strip)


@given(model_names, st.integers(min_value=1, max_value=10**9))
def test_version_specs_round_trip(name: str, version: int) -> None:
    assert names.check_model_name(name) == name
    spec = ModelSpec(name, version=version)
    assert parse_spec(spec.to_string()) == spec
    assert parse_spec("models:/" + spec.to_string()) == spec


@given(
    model_names.filter(lambda n: "@" not in n),
    st.from_regex(r"[A-Za-z0-9_-]{1,10}", fullmatch=True),
)
def test_alias_and_stage_specs_round_trip(name: str, word: str) -> None:
    assert parse_spec(f"{name}@{word}") == ModelSpec(name, alias=word)
    expected = ModelSpec(name) if word.lower() == "latest" else ModelSpec(name, stage=word)
    if not word.isdigit():
        assert parse_spec(f"{name}/{word}") == expected


@given(st.text(max_size=40))
def test_spec_parser_only_raises_invalid_parameter(text: str) -> None:
    with contextlib.suppress(InvalidParameterValue):
        parse_spec(text)


def test_sources(tmp_path: Path) -> None:
    root = tmp_path / "store"
    run_id = "0123456789abcdef0123456789abcdef"
    artifacts = root / "runs" / "ef" / run_id / "artifacts"
    assert parse_source(root, f"runs:/{run_id}/model") == RunSource(run_id, "model")
    assert parse_source(root, str(artifacts / "a" / "m")) == RunSource(run_id, "a/m")
    assert parse_source(root, (artifacts / "m").as_uri()) == RunSource(run_id, "m")
    assert parse_source(root, "models:/churn@champion") == ModelSpec("churn", alias="champion")
    for bad in (str(root / "runs" / "00" / run_id / "artifacts" / "m"), str(tmp_path), "hdfs://x"):
        with pytest.raises(InvalidParameterValue):
            parse_source(root, bad)


@given(
    st.dictionaries(
        st.text(max_size=8), st.none() | st.integers() | texts | st.lists(st.integers()), max_size=5
    ),
    texts.filter(lambda t: "\n" not in t and "\r" not in t),
)
def test_commit_trailers_round_trip(data: dict[str, object], title: str) -> None:
    event = {**data, "action": "register"}
    assert parse_trailer(message(title, event)) == event
