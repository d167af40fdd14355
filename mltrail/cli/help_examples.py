"""One example line per command, shown at the end of its ``--help``.

Kept in one table so the tests can check that every command has one and that each
example parses as a call of its own command.
"""

from __future__ import annotations

import click

EXAMPLES: dict[str, str] = {
    "": "mltrail runs list --experiment churn",
    "build": "mltrail build runs -o site --base-url /mlruns/",
    "commit": 'mltrail commit --store runs -m "Add the sweep of 5 December"',
    "experiments": "mltrail experiments list --all",
    "experiments create": 'mltrail experiments create churn --description "Churn models"',
    "experiments delete": "mltrail experiments delete churn",
    "experiments list": "mltrail experiments list --json",
    "experiments rename": "mltrail experiments rename churn churn-2026",
    "experiments restore": "mltrail experiments restore churn",
    "export": "mltrail export mlflow mlruns-copy",
    "export mlflow": "mltrail export mlflow mlruns-copy --store runs",
    "gc": "mltrail gc --store runs --older-than 30",
    "import": "mltrail import mlflow mlruns",
    "import mlflow": "mltrail import mlflow sqlite:///mlflow.db --experiment churn",
    "init": "mltrail init runs",
    "models": "mltrail models show churn",
    "models alias": "mltrail models alias churn champion 3",
    "models delete": "mltrail models delete churn --version 2 --yes",
    "models describe": 'mltrail models describe churn "Gradient boosting on 2026 data"',
    "models generate-dockerfile": (
        "mltrail models generate-dockerfile -m models:/churn@champion -d churn-image"
    ),
    "models list": "mltrail models list --filter \"name LIKE 'churn%'\"",
    "models predict": (
        "mltrail models predict -m models:/churn@champion -i rows.csv -t csv -o out.json"
    ),
    "models register": "mltrail models register runs:/0190a1b2c3d4/model churn",
    "models resolve": "mltrail models resolve churn",
    "models serve": "mltrail models serve -m models:/churn@champion -p 5001 --follow",
    "models show": "mltrail models show churn --history 5",
    "models transition": "mltrail models transition churn 3 Production --archive-existing",
    "pages": "mltrail pages init --repository acme/churn",
    "pages init": "mltrail pages init --store runs --branch main",
    "run": "mltrail run . -e train -P alpha=0.5 --experiment-name churn",
    "runs": "mltrail runs list --experiment churn --max 10",
    "runs delete": "mltrail runs delete 0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4",
    "runs list": 'mltrail runs list -e churn -f "metrics.auc > 0.8" -o "metrics.auc DESC"',
    "runs restore": "mltrail runs restore 0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4",
    "runs show": "mltrail runs show 0190a1b2c3d4e5f6a7b8c9d0e1f2a3b4 --json",
    "server": "mltrail server --store runs --port 5000 --token s3cret",
    "sync": "mltrail sync --store runs --remote origin",
    "ui": "mltrail ui runs --port 5001 --no-open",
}


def walk(command: click.Command, path: str = "") -> list[tuple[str, click.Command]]:
    """Every command under ``command`` with its path (``""``, ``"runs"``, ``"runs list"``)."""
    found = [(path, command)]
    if isinstance(command, click.Group):
        for name, sub in sorted(command.commands.items()):
            found.extend(walk(sub, f"{path} {name}".strip()))
    return found


def add_examples(root: click.Group) -> None:
    """Append its example to the help of every command that has one."""
    for path, command in walk(root):
        example = EXAMPLES.get(path)
        if example is not None and not command.epilog:
            # \b keeps click from rewrapping the example into the paragraph.
            command.epilog = f"\b\nExample:\n  {example}"
