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
