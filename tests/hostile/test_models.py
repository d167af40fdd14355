"""A hostile model folder: an MLmodel naming a module to import, paths that leave the
folder, symbolic links, a registry version pointing outside its run.

Each case builds the bad model, then loads it with the API (``mltrail.pyfunc`` and
``mltrail.sklearn``), registers it with the CLI and builds the site: it is refused with
an error naming what is wrong, before anything is imported or read outside the folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import mltrail
from mltrail.errors import CorruptedRecord, InvalidParameterValue, StoreError
from mltrail.store import FileStore
from tests.hostile.test_artifacts import (
    PASSWD,
    SECRET,
    script_in_repo,  # noqa: F401 (a fixture)
    site_text,
)


class Doubler(mltrail.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: Any = None) -> Any:
        return [2 * x for x in model_input]


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text(SECRET + "\n")
    return path


@pytest.fixture
def model(tmp_path: Path) -> Path:
    """A good custom model (with recorded file hashes)."""
    path = tmp_path / "model"
    mltrail.pyfunc.save_model(path, python_model=Doubler())
    assert mltrail.pyfunc.load_model(path).predict([1, 2]) == [2, 4]
    return path


def edit_mlmodel(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    data = yaml.safe_load((folder / "MLmodel").read_text())
    change(data)
    (folder / "MLmodel").write_text(yaml.safe_dump(data))


def pyfunc_conf(data: dict[str, Any]) -> dict[str, Any]:
    conf: dict[str, Any] = data["flavors"]["python_function"]
    return conf


# --- loader_module -------------------------------------------------------------------------

EVIL_MODULE = "mltrail_hostile_loader"


@pytest.mark.parametrize(
    "loader",
    [EVIL_MODULE, "os", "subprocess", "builtins", "a;b", "../x", "", None, 3, ["os"]],
    ids=repr,
)
def test_an_unknown_loader_module_is_refused_before_any_import(
    model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: Any
) -> None:
    marker = tmp_path / "imported"
    planted = tmp_path / "site-packages"
    planted.mkdir()
    (planted / f"{EVIL_MODULE}.py").write_text(
        f"open({str(marker)!r}, 'w').write('ran')\ndef _load_pyfunc(path):\n    return None\n"
    )
    monkeypatch.syspath_prepend(str(planted))  # installed, importable: still never imported
    edit_mlmodel(model, lambda d: pyfunc_conf(d).update(loader_module=loader))
    with pytest.raises(InvalidParameterValue, match="Refusing to load the model") as e:
        mltrail.pyfunc.load_model(model)
    assert repr(loader) in str(e.value)
    assert str(model) in str(e.value)
    assert not marker.exists()
    assert EVIL_MODULE not in sys.modules


def test_known_loader_names_still_load(model: Path) -> None:
    for name in ("mlflow.pyfunc.model", "mltrail.pyfunc.model"):
        edit_mlmodel(model, lambda d, n=name: pyfunc_conf(d).update(loader_module=n))
        assert mltrail.pyfunc.load_model(model).predict([3]) == [6]


def test_a_shipped_loader_may_not_shadow_an_imported_module(tmp_path: Path) -> None:
    code = tmp_path / "json.py"
    code.write_text("def _load_pyfunc(path):\n    raise SystemExit('ran')\n")
    data = tmp_path / "data.txt"
    data.write_text("x")
    path = tmp_path / "m"
    mltrail.pyfunc.save_model(path, loader_module="json", data_path=data, code_paths=[code])
    with pytest.raises(InvalidParameterValue, match="nor a module in the model's own code"):
        mltrail.pyfunc.load_model(path)


def test_a_private_predict_fn_is_refused(model: Path) -> None:
    edit_mlmodel(model, lambda d: pyfunc_conf(d).update(predict_fn="__reduce__"))
    with pytest.raises(InvalidParameterValue, match="predict_fn '__reduce__' is not a public"):
        mltrail.pyfunc.load_model(model)


# --- paths in MLmodel ----------------------------------------------------------------------


def _set(*keys: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        node = data
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value

    return change


ESCAPES = {
    "data": (_set("flavors", "python_function", "data", value="../outside/secret.txt"), "'..'"),
    "code": (_set("flavors", "python_function", "code", value="/tmp"), "absolute path"),
    "python_model": (
        _set("flavors", "python_function", "python_model", value="../../outside/secret.txt"),
        "'..'",
    ),
    "artifacts": (
        _set("flavors", "python_function", "artifacts", value={"a": {"path": "/etc/passwd"}}),
        "absolute path",
    ),
    "env": (
        _set("flavors", "python_function", "env", value={"virtualenv": "../env.yaml"}),
        "'..'",
    ),
    "model_path": (_set("flavors", "python_function", "model_path", value="C:/x"), "absolute"),
    "nul": (_set("flavors", "python_function", "data", value="a\x00b"), "NUL character"),
    "not-text": (_set("flavors", "python_function", "data", value=["x"]), "not a relative"),
    "example": (
        _set("saved_input_example_info", "artifact_path", value="../outside/secret.txt"),
        "'..'",
    ),
    "hashes": (_set("mltrail", "file_hashes", value={"/dev/zero": "sha256:00"}), "absolute"),
    "extra_files": (
        _set("flavors", "python_function", "extra_files", value=[{"path": "../../x"}]),
        "'..'",
    ),
}


@pytest.mark.parametrize("case", sorted(ESCAPES))
def test_a_path_leaving_the_model_folder_is_refused(model: Path, case: str) -> None:
    change, why = ESCAPES[case]
    edit_mlmodel(model, change)
    with pytest.raises(InvalidParameterValue, match="Refusing to load the model") as e:
        mltrail.pyfunc.load_model(model)
    assert why in str(e.value)
    assert "every path a model names must stay inside its folder" in str(e.value)


def test_an_mlmodel_beside_the_data_is_confined_too(model: Path) -> None:
    sub = model / "sub"
    sub.mkdir()
    (sub / "MLmodel").write_text(
        "flavors:\n  python_function:\n    python_model: ../../outside/secret.txt\n"
    )
    edit_mlmodel(model, _set("flavors", "python_function", "data", value="sub"))
    with pytest.raises(
        InvalidParameterValue, match=re.escape("python_model '../../outside/secret.txt'")
    ):
        mltrail.pyfunc.load_model(model)


def test_the_input_example_path_is_checked_on_its_own(model: Path) -> None:
    edit_mlmodel(model, ESCAPES["example"][0])
    meta = mltrail.models.Model.load(model)
    with pytest.raises(
        InvalidParameterValue, match=re.escape("saved_input_example_info.artifact_path")
    ):
        meta.load_input_example(model)


def test_a_link_out_of_the_model_folder_is_refused(model: Path, secret: Path) -> None:
    (model / "python_model.pkl").unlink()
    os.symlink(secret, model / "python_model.pkl")
    with pytest.raises(InvalidParameterValue, match="resolves outside the model folder"):
        mltrail.pyfunc.load_model(model)
    (model / "MLmodel").rename(model / "MLmodel.real")
    os.symlink(secret, model / "MLmodel")
    with pytest.raises(InvalidParameterValue, match="MLmodel 'MLmodel' in its MLmodel resolves"):
        mltrail.pyfunc.load_model(model)


def test_sklearn_model_files_are_confined_too(tmp_path: Path) -> None:
    from sklearn.linear_model import LinearRegression

    path = tmp_path / "sk"
    mltrail.sklearn.save_model(LinearRegression().fit([[0], [1]], [0, 1]), path)
    edit_mlmodel(path, _set("flavors", "sklearn", "pickled_model", value="/etc/passwd"))
    with pytest.raises(
        InvalidParameterValue, match=re.escape("flavors.sklearn.pickled_model '/etc/passwd'")
    ):
        mltrail.sklearn.load_model(path)


def test_an_unreadable_mlmodel_is_named(tmp_path: Path) -> None:
    (tmp_path / "m" / "MLmodel").mkdir(parents=True)
    with pytest.raises(InvalidParameterValue, match=r"Cannot read the MLmodel file .*MLmodel"):
        mltrail.pyfunc.load_model(tmp_path / "m")
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "MLmodel").write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidParameterValue, match="Invalid MLmodel file"):
        mltrail.pyfunc.load_model(tmp_path / "bin")


def test_an_oversized_mlmodel_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "big"
    folder.mkdir()
    with open(folder / "MLmodel", "w") as f:
        f.write("flavors: {}\n")
        f.write("#" * (17 << 20))
    with pytest.raises(InvalidParameterValue, match="larger than 16 MB"):
        mltrail.pyfunc.load_model(folder)


# --- models in a store ---------------------------------------------------------------------


def _logged(tracking: FileStore) -> tuple[str, Path]:
    with mltrail.start_run() as run:
        mltrail.pyfunc.log_model("model", python_model=Doubler())
    rid = run.info.run_id
    return rid, tracking.run_path(rid) / "artifacts" / "model"


def test_a_logged_model_with_a_link_is_refused(tracking: FileStore, secret: Path) -> None:
    rid, folder = _logged(tracking)
    assert mltrail.pyfunc.load_model(f"runs:/{rid}/model").predict([1]) == [2]
    os.symlink(secret, folder / "notes.txt")
    with pytest.raises(StoreError, match=re.escape("notes.txt is a symbolic link")):
        mltrail.pyfunc.load_model(f"runs:/{rid}/model")


def test_a_runs_uri_may_not_leave_the_run(tracking: FileStore) -> None:
    rid, _ = _logged(tracking)
    for uri in (f"runs:/{rid}/../../../..", f"runs:/{rid}/model/../../meta.yaml"):
        with pytest.raises(InvalidParameterValue, match=r"'\.\.' would leave"):
            mltrail.pyfunc.load_model(uri)


def test_a_registered_source_leaving_its_run_is_refused(tracking: FileStore) -> None:
    rid, _ = _logged(tracking)
    version = mltrail.register_model(f"runs:/{rid}/model", "doubler")
    versions = list((tracking.root / "models").rglob("versions/*.yaml"))
    assert len(versions) == 1, versions
    record = yaml.safe_load(versions[0].read_text())
    record["source"] = f"runs:/{rid}/../../../../etc"
    versions[0].write_text(yaml.safe_dump(record))
    with pytest.raises(InvalidParameterValue, match=r"'\.\.' would leave"):
        mltrail.pyfunc.load_model(f"models:/doubler/{version.version}")


def _cli(store: FileStore, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mltrail", *args],
        capture_output=True,
        text=True,
        check=False,
        cwd=store.root,
        env={**os.environ, "MLTRAIL_AUTO_COMMIT": "0"},
    )


def test_registering_a_link_or_a_bad_pointer_names_it(tracking: FileStore, secret: Path) -> None:
    rid, folder = _logged(tracking)
    arts = folder.parent
    os.symlink(secret.parent, arts / "linked")
    (arts / "weights.bin.mltrail-pointer").write_text("sha256: /etc/passwd\nsize: 1\n")
    linked = _cli(tracking, "models", "register", f"runs:/{rid}/linked", "m")
    assert linked.returncode != 0
    assert f"{arts / 'linked'} is a symbolic link" in linked.stderr
    assert "Traceback" not in linked.stderr
    pointer = _cli(tracking, "models", "register", f"runs:/{rid}/weights.bin", "m")
    assert pointer.returncode != 0
    assert f"Invalid artifact pointer {arts / 'weights.bin.mltrail-pointer'}" in pointer.stderr
    with pytest.raises(CorruptedRecord, match="not 64 lowercase hex digits"):
        mltrail.register_model(f"runs:/{rid}/weights.bin", "m")
    assert _cli(tracking, "models", "register", f"runs:/{rid}/model", "m").returncode == 0


@pytest.mark.usefixtures("script_in_repo")
def test_the_site_never_shows_a_linked_mlmodel(
    tracking: FileStore, secret: Path, tmp_path: Path
) -> None:
    rid, folder = _logged(tracking)
    mltrail.register_model(f"runs:/{rid}/model", "doubler")
    (folder / "MLmodel").unlink()
    os.symlink("/etc/passwd", folder / "MLmodel")
    os.symlink(secret, folder / "requirements.txt.mltrail-pointer")
    result = _cli(tracking, "build", str(tracking.root), "-o", str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    assert f"{folder / 'MLmodel'} is a symbolic link" in result.stderr
    text = site_text(tmp_path / "site")
    assert SECRET not in text
    assert PASSWD not in text
    assert (tmp_path / "site" / "models").is_dir()
