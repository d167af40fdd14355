"""The model pages' snippets: their text for a version with and without a request
example, inline or from its file, and the quoting of hostile names and bodies."""

from __future__ import annotations

import json
import shlex

from mltrail_generator.gather.modelfiles import ModelFiles
from mltrail_generator.pages.snippets import INLINE_BODY_CHARS, version_snippets

FOLDER = "runs/ab/0190ab/artifacts/model"
CURL = "curl -X POST http://127.0.0.1:5000/invocations -H 'Content-Type: application/json'"


def _files(body: str | None, path: str = "serving_input_example.json") -> ModelFiles:
    return ModelFiles(mlmodel="flavors: {}", serving_example=body, serving_example_path=path)


def test_a_version_without_an_example_gets_load_and_serve_only() -> None:
    found = version_snippets("churn", 3, ("champion",), FOLDER, _files(None))
    assert [s.id for s in found] == ["snippet-1", "snippet-2", "snippet-3"]
    assert [s.title for s in found] == ["Load version 3", "Load alias @champion", "Serve version 3"]
    assert found[2].code == "mltrail models serve -m models:/churn/3 -p 5000"
    assert found[2].language == "shell"
    assert version_snippets("churn", 3, (), FOLDER) == version_snippets(
        "churn", 3, (), FOLDER, _files(None)
    )


def test_a_version_without_a_model_folder_has_no_serve_or_predict_snippet() -> None:
    body = json.dumps({"inputs": [1]})
    assert [s.title for s in version_snippets("churn", 1, (), None, _files(body))] == [
        "Load version 1"
    ]


def test_a_short_example_is_sent_inline() -> None:
    body = json.dumps({"dataframe_split": {"columns": ["x"], "data": [[1.5], [2.0]]}})
    *_, serve, query = version_snippets("churn", 2, (), FOLDER, _files(body))
    assert serve.title == "Serve version 2" and query.title == "Predict with version 2"
    assert query.code == f"{CURL} --data '{body}'"
    assert json.loads(shlex.split(query.code)[-1]) == json.loads(body)


def test_a_long_example_is_sent_from_its_file_in_the_model_folder() -> None:
    body = json.dumps({"inputs": list(range(INLINE_BODY_CHARS))})
    *_, query = version_snippets("churn", 2, (), FOLDER + "/", _files(body, "ex ample.json"))
    assert query.code == f"{CURL} --data '@{FOLDER}/ex ample.json'"


def test_hostile_names_and_bodies_stay_one_shell_word() -> None:
    name = "a'b\"; rm -rf / #$(x)`y`\n"
    body = json.dumps({"inputs": ["'; echo pwned; '", "$(id)"]})
    *_, serve, query = version_snippets(name, 1, (), FOLDER, _files(body))
    assert shlex.split(serve.code) == ["mltrail", "models", "serve", "-m", f"models:/{name}/1",
                                       "-p", "5000"]  # fmt: skip
    assert json.loads(shlex.split(query.code)[-1]) == json.loads(body)
