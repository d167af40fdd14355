"""search_registered_models / search_model_versions: MLflow's filter syntax and order_by."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

import mltrail
from mltrail.errors import InvalidParameterValue
from mltrail.registry.search import MODELS, VERSIONS, parse_filter
from tests.registry.conftest import log_model_run


@pytest.fixture
def populated(client: mltrail.Client) -> dict[str, str]:
    """churn (v1 from run a, v2 from run b), Churn Model (v1 from b), fraud (tagged)."""
    runs = {"a": log_model_run(client), "b": log_model_run(client, path="clf")}
    mltrail.register_model(f"runs:/{runs['a']}/model", "churn")
    mltrail.register_model(f"runs:/{runs['b']}/clf", "churn", tags={"stage": "candidate"})
    mltrail.register_model(f"runs:/{runs['b']}/clf", "Churn Model")
    client.create_registered_model("fraud", tags={"team": "risk", "my key": "x"})
    return runs


def _models(client: mltrail.Client, text: str | None = None, **kw: object) -> list[str]:
    return [m.name for m in client.search_registered_models(text, **kw)]  # type: ignore[arg-type]


def _versions(client: mltrail.Client, text: str | None = None, **kw: object) -> list[str]:
    found = client.search_model_versions(text, **kw)  # type: ignore[arg-type]
    return [f"{v.name}/{v.version}" for v in found]


def test_registered_model_filters(client: mltrail.Client, populated: dict[str, str]) -> None:
    assert _models(client) == ["Churn Model", "churn", "fraud"]
    assert _models(client, "name = 'churn'") == ["churn"]
    assert _models(client, 'name = "churn"') == ["churn"]
    assert _models(client, "name != 'churn'") == ["Churn Model", "fraud"]
    assert _models(client, "name LIKE 'churn%'") == ["churn"]
    assert _models(client, "name ILIKE 'churn%'") == ["Churn Model", "churn"]
    assert _models(client, "name IN ('fraud', 'churn')") == ["churn", "fraud"]
    assert _models(client, "name NOT IN ('fraud')") == ["Churn Model", "churn"]
    assert _models(client, "tags.team = 'risk'") == ["fraud"]
    assert _models(client, "tags.`my key` LIKE '%' and name = 'fraud'") == ["fraud"]
    assert _models(client, "tags.team != 'x'") == ["fraud"]  # a missing tag never matches
    assert _models(client, "attribute.name = 'fraud'") == ["fraud"]


def test_registered_model_order_and_pages(
    client: mltrail.Client, populated: dict[str, str]
) -> None:
    assert _models(client, order_by=["name DESC"]) == ["fraud", "churn", "Churn Model"]
    assert _models(client, order_by=["creation_timestamp ASC"])[0] == "churn"
    first = client.search_registered_models(max_results=2)
    assert [m.name for m in first] == ["Churn Model", "churn"] and first.token == "2"
    rest = client.search_registered_models(max_results=2, page_token=first.token)
    assert [m.name for m in rest] == ["fraud"] and rest.token is None


def test_model_version_filters(client: mltrail.Client, populated: dict[str, str]) -> None:
    a, b = populated["a"], populated["b"]
    assert sorted(_versions(client)) == ["Churn Model/1", "churn/1", "churn/2"]
    assert _versions(client, "name = 'churn'", order_by=["version_number ASC"]) == [
        "churn/1",
        "churn/2",
    ]
    assert _versions(client, f"run_id = '{a}'") == ["churn/1"]
    assert sorted(_versions(client, f"run_id IN ('{a}', '{b}') AND name = 'churn'")) == [
        "churn/1",
        "churn/2",
    ]
    assert _versions(client, f"source_path = 'runs:/{b}/clf' AND name ILIKE 'CHURN'") == ["churn/2"]
    assert _versions(client, "source_path LIKE '%/model'") == ["churn/1"]
    assert _versions(client, "version_number > 1") == ["churn/2"]
    assert sorted(_versions(client, "version_number = 1")) == ["Churn Model/1", "churn/1"]
    assert _versions(client, "tags.stage = 'candidate'") == ["churn/2"]
    # MLflow's default order: last updated first
    assert _versions(client)[0] == "Churn Model/1"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("creation_timestamp > 0", "unknown key 'creation_timestamp'; use name, tags.<key>"),
        ("name = 'a' OR name = 'b'", "expected AND"),
        ("name LIKE", "expected a quoted string"),
        ("name = 3", "needs a quoted string"),
        ("tags.x > 'a'", "comparator '>' is not valid"),
        ("name", "comparator"),
        ("name = 'a", "cannot read"),
        ("name IN ()", "expected a quoted string in the list"),
        ("name = ('a')", "IN or NOT IN"),
    ],
)
def test_bad_model_filters(client: mltrail.Client, text: str, fragment: str) -> None:
    with pytest.raises(
        InvalidParameterValue, match=fragment.replace("(", r"\(").replace(")", r"\)")
    ):
        client.search_registered_models(text)


@pytest.mark.parametrize(
    "text",
    ["version_number = 'a'", "source_path IN ('x')", "current_stage = 'None'", "run_id < 'a'"],
)
def test_bad_version_filters(client: mltrail.Client, text: str) -> None:
    with pytest.raises(InvalidParameterValue, match="Invalid filter for model versions"):
        client.search_model_versions(text)


def test_bad_order_by(client: mltrail.Client) -> None:
    with pytest.raises(InvalidParameterValue, match="version_number"):
        client.search_registered_models(order_by=["version_number ASC"])
    with pytest.raises(InvalidParameterValue, match="ASC or DESC"):
        client.search_model_versions(order_by=["name UP"])


@given(st.text(max_size=40))
def test_filter_parser_only_raises_invalid_parameter(text: str) -> None:
    for kind in (MODELS, VERSIONS):
        with contextlib.suppress(InvalidParameterValue):
            parse_filter(text, kind)
