"""What an import brought across, and what it could not (with why)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ImportReport:
    """Counts of what ``import_mlflow`` wrote, and each thing left behind with its reason."""

    source: str
    experiments_created: list[str] = field(default_factory=list)
    #: MLflow experiment id -> the mltrail id its runs went to, where they differ.
    experiment_ids: dict[str, str] = field(default_factory=dict)
    runs: int = 0
    runs_present: int = 0
    metric_points: int = 0
    artifacts: int = 0
    artifact_bytes: int = 0
    logged_models: int = 0
    logged_models_present: int = 0
    linked_metrics: int = 0
    datasets: int = 0
    model_inputs: int = 0
    models_created: int = 0
    versions: int = 0
    aliases: int = 0
    #: (what, why) of everything not imported.
    not_imported: list[tuple[str, str]] = field(default_factory=list)
    committed: bool = False

    def skip(self, what: str, why: str) -> None:
        self.not_imported.append((what, why))

    @property
    def changed(self) -> bool:
        return bool(
            self.experiments_created
            or self.runs
            or self.models_created
            or self.versions
            or self.aliases
            or self.logged_models
            or self.linked_metrics
            or self.datasets
            or self.model_inputs
        )

    def title(self) -> str:
        """One line: what came across (the import commit's title)."""
        parts = [f"{self.runs} run{'s' * (self.runs != 1)}"]
        if self.experiments_created:
            n = len(self.experiments_created)
            parts.append(f"{n} experiment{'s' * (n != 1)}")
        if self.logged_models:
            n = self.logged_models
            parts.append(f"{n} logged model{'s' * (n != 1)}")
        if self.versions or self.models_created:
            parts.append(f"{self.versions} model version{'s' * (self.versions != 1)}")
        return f"Import {', '.join(parts)} from MLflow {self.source}"

    def lines(self) -> list[str]:
        """The report as text lines, for the CLI and the commit message body."""
        out = [
            f"runs imported: {self.runs} ({self.metric_points} metric points, "
            f"{self.artifacts} artifacts of {self.artifact_bytes} bytes)",
            f"runs already in the store: {self.runs_present}",
            f"experiments created: {', '.join(self.experiments_created) or 'none'}",
            f"registered models created: {self.models_created}; versions: {self.versions}; "
            f"aliases: {self.aliases}",
        ]
        out += [f"experiment {a} is now {b}" for a, b in sorted(self.experiment_ids.items())]
        out.append(
            f"logged models imported: {self.logged_models} ({self.linked_metrics} linked metric "
            f"values); already in the store: {self.logged_models_present}"
        )
        out.append(f"run inputs: {self.datasets} datasets, {self.model_inputs} logged models used")
        out += [f"not imported: {what}: {why}" for what, why in self.not_imported]
        return out
