"""``RegisteredModel`` and ``ModelVersion``, shaped like MLflow's registry entities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class ModelVersionStage:
    """MLflow's four stages; input is matched in any case, output is canonical."""

    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"
    ALL = (NONE, STAGING, PRODUCTION, ARCHIVED)


class ModelVersionStatus:
    """Registration is synchronous here, so every version is ``READY``."""

    READY = "READY"


@dataclass(frozen=True)
class ModelVersion:
    """One version of a registered model: its number, stage, aliases and the run it came from.

    As in MLflow's file and SQL stores, ``version`` is an int.  ``version_id`` is
    mltrail's own: the unique id of the registration (its file name in the store), which
    tells apart two versions given the same number in two clones of the store.

    Example:
        >>> import mltrail
        >>> with mltrail.start_run() as run:
        ...     mltrail.log_text("weights", "model/weights.txt")
        >>> version = mltrail.register_model(f"runs:/{run.info.run_id}/model", "churn")
        >>> version.version, version.status, version.run_id == run.info.run_id
        (1, 'READY', True)
    """

    name: str
    #: An int, as MLflow's file and SQL stores return it (``models:/name/3``).
    version: int
    creation_timestamp: int
    last_updated_timestamp: int
    description: str | None = None
    user_id: str | None = None
    current_stage: str = ModelVersionStage.NONE
    #: ``runs:/<run_id>/<artifact path>``: the model stays in its run's artifacts.
    source: str = ""
    run_id: str | None = None
    status: str = ModelVersionStatus.READY
    status_message: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    run_link: str | None = None
    aliases: list[str] = field(default_factory=list)
    #: The unique id of this registration (its file name in the store); an mltrail addition.
    version_id: str = ""
    #: The logged model (``m-...``) this version registers, if any (MLflow 3).
    model_id: str | None = None

    def to_dictionary(self) -> dict[str, Any]:
        """A JSON-ready dict (``mltrail models ... --json``)."""
        return {
            "name": self.name,
            "version": self.version,
            "version_id": self.version_id,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description,
            "user_id": self.user_id,
            "current_stage": self.current_stage,
            "source": self.source,
            "run_id": self.run_id,
            "status": self.status,
            "status_message": self.status_message,
            "tags": dict(sorted(self.tags.items())),
            "run_link": self.run_link,
            "aliases": list(self.aliases),
            "model_id": self.model_id,
        }


@dataclass(frozen=True)
class RegisteredModel:
    """A registered model: its name, description, tags, aliases and newest version per stage.

    Example:
        >>> import mltrail
        >>> client = mltrail.Client()
        >>> model = client.create_registered_model("churn", description="Who leaves next month")
        >>> model.name, model.description, model.latest_versions
        ('churn', 'Who leaves next month', [])
    """

    name: str
    creation_timestamp: int | None = None
    last_updated_timestamp: int | None = None
    description: str | None = None
    #: The newest version in each stage that has one (MLflow's ``latest_versions``).
    latest_versions: list[ModelVersion] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)
    #: alias -> version number as a string, as MLflow returns it.
    aliases: dict[str, str] = field(default_factory=dict)

    def to_dictionary(self) -> dict[str, Any]:
        """A JSON-ready dict (``mltrail models ... --json``)."""
        return {
            "name": self.name,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
            "description": self.description,
            "latest_versions": [v.to_dictionary() for v in self.latest_versions],
            "tags": dict(sorted(self.tags.items())),
            "aliases": dict(sorted(self.aliases.items())),
        }
