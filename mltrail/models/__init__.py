"""MLflow-compatible models: the MLmodel format, signatures, URIs and requirements.

``import mltrail.models`` is light (no numpy or pandas); data is inspected only when a
signature is inferred or enforced.
"""

from mltrail.models.enforce import ModelSchemaError
from mltrail.models.integrity import ModelIntegrityError
from mltrail.models.mlmodel import LOGGED_MODELS_TAG, MLMODEL_FILE_NAME, Model, ModelInfo
from mltrail.models.schema import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)
from mltrail.models.signature import ModelSignature, infer_signature
from mltrail.models.uri import resolve_model_uri

#: MLflow's ``mlflow.models.evaluate`` and friends, from ``mltrail.evaluation`` (which
#: uses the tracking API, so it loads on first use, never with this package).
_EVALUATION_NAMES = ("EvaluationArtifact", "EvaluationResult", "evaluate", "list_evaluators")


def __getattr__(name: str) -> object:
    if name in _EVALUATION_NAMES:
        import importlib

        return getattr(importlib.import_module("mltrail.evaluation"), name)
    raise AttributeError(f"module 'mltrail.models' has no attribute {name!r}")


__all__ = [
    "LOGGED_MODELS_TAG",
    "MLMODEL_FILE_NAME",
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "Model",
    "ModelInfo",
    "ModelIntegrityError",
    "ModelSchemaError",
    "ModelSignature",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "TensorSpec",
    "infer_signature",
    "resolve_model_uri",
]
