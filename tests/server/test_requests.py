"""Raw requests to ``mltrail server``: MLflow's error JSON for every bad request, the
token, and paths confined to a run's artifacts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import mltrail
from tests.server.conftest import Server, run_client

API = "/api/2.0/mlflow"
PROXY = "/api/2.0/mlflow-artifacts/artifacts"


@pytest.fixture(scope="module")
def guarded(server: Server) -> Iterator[Server]:
    """A second server over the same store that needs a token (from the environment)."""
    found = Server(server.store, env={"MLTRAIL_SERVER_TOKEN": "s3cret"})
    yield found
    found.stop()


def test_bad_requests_get_mlflow_errors_never_500(server: Server) -> None:
    cases = [
        ("POST", f"{API}/experiments/create", b"{not json", 400, "BAD_REQUEST"),
        ("POST", f"{API}/experiments/create", b"[1, 2]", 400, "BAD_REQUEST"),
        ("POST", f"{API}/experiments/create", {"name": "x", "bogus": 1}, 400,
         "INVALID_PARAMETER_VALUE"),
        ("POST", f"{API}/experiments/create", {}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", f"{API}/experiments/create", {"name": ["a"]}, 400, "INVALID_PARAMETER_VALUE"),
        ("POST", f"{API}/runs/log-metric", {"run_id": "nope", "key": "k", "value": "x"}, 400,
         "INVALID_PARAMETER_VALUE"),
        ("GET", f"{API}/runs/get?run_id=0123456789abcdef0123456789abcdef", None, 404,
         "RESOURCE_DOES_NOT_EXIST"),
        ("GET", f"{API}/experiments/create", None, 405, "BAD_REQUEST"),
        ("GET", f"{API}/no/such/thing", None, 404, "ENDPOINT_NOT_FOUND"),
        ("GET", f"{API}/traces/abc", None, 501, "NOT_IMPLEMENTED"),
        ("POST", f"{API}/runs/log-inputs", {"run_id": "x"}, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("POST", f"{API}/runs/log-inputs", {"run_id": "x", "datasets": [{"tags": []}]}, 400,
         "INVALID_PARAMETER_VALUE"),
        ("POST", f"{API}/logged-models", {"experiment_id": "0"}, 501, "NOT_IMPLEMENTED"),
        ("GET", f"{API}/logged-models/m-nope", None, 404, "RESOURCE_DOES_NOT_EXIST"),
        ("GET", f"{API}/logged-models/..%2F..", None, 501, "NOT_IMPLEMENTED"),
        ("PATCH", f"{API}/logged-models/m-nope", {"status": "BAD"}, 400,
         "INVALID_PARAMETER_VALUE"),
        ("DELETE", f"{API}/logged-models/m-nope", None, 501, "NOT_IMPLEMENTED"),
        ("POST", f"{API}/experiments/create", b"x" * (17 * 1024 * 1024), 413,
         "REQUEST_LIMIT_EXCEEDED"),
    ]  # fmt: skip
    for method, path, body, status, code in cases:
        got, answer = server.request(method, path, body)
        assert (got, answer["error_code"]) == (status, code), (path, body, answer)
        assert answer["message"] and "Traceback" not in answer["message"]


def test_model_sources_outside_the_store_are_refused(server: Server, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    server.request("POST", f"{API}/registered-models/create", {"name": "outside"})
    status, answer = server.request(
        "POST", f"{API}/model-versions/create", {"name": "outside", "source": str(model)}
    )
    assert (status, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE")


def test_artifact_paths_stay_in_their_run(server: Server) -> None:
    client = mltrail.Client(str(server.store))
    run = client.create_run("0")
    run_id = run.info.run_id
    base = f"{PROXY}/0/{run_id}/artifacts"
    assert server.request("PUT", f"{base}/a/b.txt", b"data") == (200, {})
    assert server.request("GET", f"{base}/a/b.txt") == (200, "data")
    assert client.store.artifacts(run_id).content_path("a/b.txt").read_bytes() == b"data"
    status, listing = server.request("GET", f"{PROXY}?path=0/{run_id}/artifacts/a")
    assert listing == {"files": [{"path": "b.txt", "is_dir": False, "file_size": 4}]}
    for bad in (f"{base}/../../../etc/passwd", f"{base}/%2e%2e/x", f"{PROXY}/etc/passwd",
                f"{PROXY}//etc/passwd", f"{base}/a/../../run.yaml"):  # fmt: skip
        for method in ("GET", "PUT"):
            status, answer = server.request(method, bad, b"x")
            assert status in (400, 404), (method, bad, answer)
    assert not (server.store.parent / "x").exists()


def test_a_token_is_required_when_set(guarded: Server) -> None:
    path = f"{API}/experiments/get?experiment_id=0"
    status, answer = guarded.request("GET", path)
    assert (status, answer["error_code"]) == (401, "UNAUTHENTICATED")
    status, _ = guarded.request("GET", path, headers={"Authorization": "Bearer wrong"})
    assert status == 401
    status, answer = guarded.request("GET", path, headers={"Authorization": "Bearer s3cret"})
    assert status == 200 and answer["experiment"]["name"] == "Default"
    status, answer = guarded.request("PUT", f"{PROXY}/0/x/artifacts/f", b"x")
    assert status == 401


def test_the_mlflow_client_sends_the_token(guarded: Server) -> None:
    out = run_client(guarded, "token_client.py", env={"MLFLOW_TRACKING_TOKEN": "s3cret"})
    assert out == {"name": "Default"}


def test_an_experiments_artifact_location_is_kept_and_checked(server: Server) -> None:
    """MLflow's client sends ``artifact_location`` with ``create_experiment``: kept as the
    experiment's blob location (uploads still go through the proxy), checked as mltrail's
    own ``create_experiment`` checks it."""
    got, answer = server.request(
        "POST", f"{API}/experiments/create", {"name": "to-s3", "artifact_location": "s3://b/p"}
    )
    assert got == 200, answer
    exp = mltrail.MlflowClient(str(server.store)).get_experiment(answer["experiment_id"])
    assert exp.artifact_location == "s3://b/p"
    got, answer = server.request(
        "POST", f"{API}/experiments/create", {"name": "escape", "artifact_location": "../../etc"}
    )
    assert (got, answer["error_code"]) == (400, "INVALID_PARAMETER_VALUE"), answer


def test_a_search_answers_inputs_and_survives_one_damaged_inputs_file(server: Server) -> None:
    """As MLflow's ``runs/search``, each run comes with its inputs; a damaged
    ``inputs.yaml`` costs only that run's inputs, never the whole answer."""
    client = mltrail.Client(str(server.store))
    experiment = client.create_experiment("inputs-search")
    good, bad = client.create_run(experiment), client.create_run(experiment)
    dataset = {"name": "train", "digest": "d1", "source_type": "local", "source": "{}"}
    status, _ = server.request(
        "POST",
        f"{API}/runs/log-inputs",
        {"run_id": good.info.run_id, "datasets": [{"dataset": dataset}]},
    )
    assert status == 200
    (client.store.run_path(bad.info.run_id) / "inputs.yaml").write_text("datasets: 3\n")
    status, answer = server.request("POST", f"{API}/runs/search", {"experiment_ids": [experiment]})
    assert status == 200
    inputs = {r["info"]["run_id"]: r.get("inputs", {}) for r in answer["runs"]}
    assert [d["dataset"]["name"] for d in inputs[good.info.run_id]["dataset_inputs"]] == ["train"]
    assert inputs[bad.info.run_id] == {}
