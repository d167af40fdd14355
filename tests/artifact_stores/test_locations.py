"""Artifact store locations: the store's setting and an experiment's artifact_location."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mltrail
from mltrail.errors import InvalidParameterValue, StoreError
from mltrail.store import FileStore
from mltrail.store.blobs import REMOTE_SCHEMES, experiment_location, scheme_of
from tests.conftest import set_store_config

ROOT = Path("/srv/store")


SCHEMES = st.sampled_from(["s3", "gs", "file", "ftp", "http", "A"])


@given(st.text(max_size=40) | st.builds(lambda s, t: f"{s}://{t}", SCHEMES, st.text(max_size=30)))
def test_a_location_is_a_supported_url_or_a_folder_inside_the_store(text: str) -> None:
    try:
        found = experiment_location(text, ROOT, "artifact_location")
    except InvalidParameterValue as e:
        assert "\n" not in str(e)
        return
    scheme = scheme_of(found)
    if scheme:
        assert scheme in REMOTE_SCHEMES and "@" not in found.split("/")[2]
    else:
        assert not found.startswith("/") and ".." not in found.split("/")
        assert (ROOT / found).resolve().is_relative_to(ROOT)


@pytest.mark.parametrize(
    "location",
    ["/etc", "../outside", "file:///etc", "ftp://host/x", "s3://key:secret@bucket/x",
     "s3://bucket/x?token=1", "s3:///no-bucket", ""],
)  # fmt: skip
def test_create_experiment_refuses_a_location_that_escapes_or_holds_secrets(
    tracking: FileStore, location: str
) -> None:
    with pytest.raises(InvalidParameterValue) as err:
        mltrail.create_experiment("e", artifact_location=location)
    assert "\n" not in str(err.value)
    assert mltrail.get_experiment_by_name("e") is None


def test_a_relative_location_is_kept_relative_and_used(tracking: FileStore) -> None:
    set_store_config(tracking, large_artifact_threshold=3)
    eid = mltrail.create_experiment("e", artifact_location="blobs/e")
    record = (tracking.root / "experiments" / eid / "experiment.yaml").read_text()
    assert "artifact_location: blobs/e" in record
    with mltrail.start_run(experiment_id=eid):
        mltrail.log_text("long enough", "a.txt")
    assert len(list((tracking.root / "blobs" / "e" / "sha256").rglob("*"))) == 2  # dir + blob


def test_a_hostile_experiment_location_makes_its_record_unreadable(tracking: FileStore) -> None:
    eid = mltrail.create_experiment("e")
    path = tracking.root / "experiments" / eid / "experiment.yaml"
    path.write_text(path.read_text() + "artifact_location: /etc\n")
    with pytest.raises(StoreError, match="outside the store"):
        FileStore(tracking.root).experiments.get(eid)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"artifact_store": "ftp://host/x"}, "unsupported URL scheme 'ftp'"),
        ({"artifact_store": "s3://user:pw@bucket"}, "may not hold credentials"),
        ({"artifact_store_files": "some"}, "'artifact_store_files' must be 'large' or 'all'"),
    ],
)
def test_bad_artifact_settings_name_the_file_and_key(
    store: FileStore, settings: dict[str, str], message: str
) -> None:
    set_store_config(store, **settings)
    with pytest.raises(StoreError) as err:
        FileStore(store.root)
    assert message in str(err.value) and "mltrail-store.yaml" in str(err.value)
