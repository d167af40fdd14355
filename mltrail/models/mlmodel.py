"""The ``MLmodel`` file: a model directory's description, as MLflow writes it.

A YAML mapping (keys sorted) with ``flavors`` (how to load the model: here
``python_function`` and ``sklearn``), the ``signature`` (JSON strings),
``saved_input_example_info``, ``model_uuid``, ``utc_time_created``, and, for a logged
model, ``run_id`` and ``artifact_path``.  mltrail adds one key of its own, ``mltrail``
(its version and the SHA-256 of every other file, checked on load); MLflow keeps
unknown keys, so it still reads these files.  Keys mltrail does not know are kept as
they are when a file is read and written back.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from mltrail.errors import InvalidParameterValue, ResourceNotFound
from mltrail.models.example import read_example
from mltrail.models.schema import ParamSchema, Schema
from mltrail.models.signature import ModelSignature
from mltrail.store import formats

MLMODEL_FILE_NAME = "MLmodel"
PYFUNC_FLAVOR = "python_function"
#: MLmodel key holding mltrail's own record (version, file hashes).
MLTRAIL_KEY = "mltrail"
#: Run tag listing the models logged in a run (MLflow 2's name and JSON form).
LOGGED_MODELS_TAG = "mlflow.log-model.history"
#: Keys MLflow 3 writes beside a signature; kept so MLflow reads our files as its own.
_SIGNATURE_FLAGS = ("is_signature_from_type_hint", "type_hint_from_example")
_KNOWN_KEYS = (
    "artifact_path",
    "run_id",
    "utc_time_created",
    "saved_input_example_info",
    "model_uuid",
    "metadata",
    "model_size_bytes",
)


#: An MLmodel is a few kilobytes (a wide signature: some hundreds); a larger file is refused.
MAX_MLMODEL_BYTES = 16 << 20


def _read_text(file: Path) -> str:
    """The MLmodel file's text, refusing one too large to be an MLmodel (never read whole)."""
    with open(file, "rb") as f:
        data = f.read(MAX_MLMODEL_BYTES + 1)
    if len(data) > MAX_MLMODEL_BYTES:
        raise InvalidParameterValue(
            f"Invalid MLmodel file {file}: larger than {MAX_MLMODEL_BYTES >> 20} MB, so not an "
            "MLmodel file; check the model folder."
        )
    return data.decode("utf-8")


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` returns (MLflow's ``ModelInfo`` fields)."""

    artifact_path: str
    flavors: dict[str, Any]
    model_uri: str
    model_uuid: str
    run_id: str
    saved_input_example_info: dict[str, Any] | None
    signature: ModelSignature | None
    utc_time_created: str
    metadata: dict[str, Any] | None = None
    registered_model_version: int | None = None
    mlflow_version: str | None = None
    #: MLflow 3's logged-model id (``m-...``); ``model_uri`` is then ``models:/<model_id>``.
    model_id: str | None = None

    @property
    def name(self) -> str:
        return self.artifact_path

    @property
    def signature_dict(self) -> dict[str, Any] | None:
        return self.signature.to_dict() if self.signature is not None else None

    def with_version(self, version: int | None) -> ModelInfo:
        return replace(self, registered_model_version=version)


class Model:
    """An MLmodel file in memory (``mlflow.models.Model``'s names)."""

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, dict[str, Any]] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: str | None = None,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        **extra: Any,
    ) -> None:
        self.artifact_path = artifact_path
        self.run_id = run_id
        self.utc_time_created = utc_time_created or str(
            dt.datetime.now(dt.UTC).replace(tzinfo=None)
        )
        self.flavors: dict[str, dict[str, Any]] = dict(flavors or {})
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.model_uuid = model_uuid or uuid.uuid4().hex
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        #: Keys of the file mltrail does not interpret (kept on write).
        self.extra: dict[str, Any] = extra

    # -- flavors ---------------------------------------------------------------------
    def add_flavor(self, name: str, **params: Any) -> Model:
        self.flavors[name] = params
        return self

    def flavor(self, name: str, where: str | os.PathLike[str] = "") -> dict[str, Any]:
        """The configuration of flavor ``name``, or an error listing the flavors there are."""
        conf = self.flavors.get(name)
        if not isinstance(conf, dict):
            found = ", ".join(sorted(self.flavors)) or "none"
            at = f" at {os.fspath(where)}" if where else ""
            raise InvalidParameterValue(
                f"The model{at} has no {name!r} flavor (its flavors: {found})."
            )
        return conf

    # -- signature -------------------------------------------------------------------
    def get_input_schema(self) -> Schema | None:
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Schema | None:
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> ParamSchema | None:
        return self.signature.params if self.signature is not None else None

    def load_input_example(self, path: str | os.PathLike[str]) -> Any:
        """The saved input example (None if the model has none); ``path``: the model dir."""
        return read_example(self, Path(path))

    # -- mltrail's own record -----------------------------------------------------------
    @property
    def file_hashes(self) -> dict[str, str] | None:
        record = self.extra.get(MLTRAIL_KEY)
        hashes = record.get("file_hashes") if isinstance(record, dict) else None
        return hashes if isinstance(hashes, dict) else None

    def set_mltrail_record(self, file_hashes: dict[str, str]) -> None:
        from mltrail import __version__

        self.extra[MLTRAIL_KEY] = {"version": __version__, "file_hashes": file_hashes}

    # -- serialization -------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.extra)
        for key in ("artifact_path", "run_id", "metadata", "model_size_bytes"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out.update(
            flavors=self.flavors,
            model_uuid=self.model_uuid,
            utc_time_created=self.utc_time_created,
        )
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
            for flag in _SIGNATURE_FLAGS:
                out.setdefault(flag, False)
        if self.saved_input_example_info is not None:
            out["saved_input_example_info"] = self.saved_input_example_info
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), default_flow_style=False)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the MLmodel file at ``path`` (a file path)."""
        Path(path).write_text(self.to_yaml())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        d = dict(data)
        raw_signature = d.pop("signature", None)
        signature = ModelSignature.from_dict(raw_signature) if raw_signature else None
        if signature is not None:
            for flag in _SIGNATURE_FLAGS:
                d.pop(flag, None)
        flavors = d.pop("flavors", None) or {}
        if not isinstance(flavors, dict):
            raise InvalidParameterValue("Invalid MLmodel: 'flavors' must be a mapping.")
        known = {k: d.pop(k) for k in _KNOWN_KEYS if k in d}
        model = cls(flavors=flavors, signature=signature, **known)
        model.extra = d
        return model

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read ``path`` (a model directory or its MLmodel file)."""
        file = Path(path)
        if file.is_dir():
            file = file / MLMODEL_FILE_NAME
        try:
            data = formats.parse_yaml(_read_text(file))
        except FileNotFoundError:
            raise ResourceNotFound(
                f"No {MLMODEL_FILE_NAME} file at {file}: is {file.parent} a model directory?"
            ) from None
        except (yaml.YAMLError, ValueError, RecursionError) as e:
            raise InvalidParameterValue(f"Invalid MLmodel file {file}: {e}") from e
        except OSError as e:  # a folder named MLmodel, no permission, a name too long
            raise InvalidParameterValue(
                f"Cannot read the MLmodel file {file}: {e.strerror or e}; is {file.parent} "
                "a model directory?"
            ) from e
        if not isinstance(data, dict):
            raise InvalidParameterValue(f"Invalid MLmodel file {file}: expected a mapping.")
        try:
            return cls.from_dict(data)
        except InvalidParameterValue as e:
            raise InvalidParameterValue(f"Invalid MLmodel file {file}: {e}") from e

    # -- the run's record of logged models ---------------------------------------------------
    def get_tags_dict(self) -> dict[str, Any]:
        """This model's entry in the ``mlflow.log-model.history`` run tag (MLflow 2's form)."""
        d = self.to_dict()
        entry: dict[str, Any] = {
            k: d[k] for k in ("run_id", "artifact_path", "utc_time_created", "model_uuid") if k in d
        }
        entry["flavors"] = {
            name: {k: v for k, v in conf.items() if k != "config"}
            if isinstance(conf, dict)
            else conf
            for name, conf in self.flavors.items()
        }
        return entry

    def get_model_info(self, model_uri: str = "") -> ModelInfo:
        return ModelInfo(
            artifact_path=self.artifact_path or "",
            flavors=self.flavors,
            model_uri=model_uri,
            model_uuid=self.model_uuid,
            run_id=self.run_id or "",
            saved_input_example_info=self.saved_input_example_info,
            signature=self.signature,
            utc_time_created=self.utc_time_created,
            metadata=self.metadata,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        where = f"runs:/{self.run_id}/{self.artifact_path}" if self.run_id else self.model_uuid
        return f"<Model {where} flavors={sorted(self.flavors)}>"
