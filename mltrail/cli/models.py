"""``mltrail models ...``: the model registry (each change is one git commit)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from mltrail.cli.common import format_time, open_store, print_json, print_table, store_option

if TYPE_CHECKING:
    from mltrail.registry.entities import ModelVersion, RegisteredModel
    from mltrail.registry.registry import Registry
    from mltrail.store import FileStore

_JSON = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
#: MLflow's ``--env-manager``; only ``local`` (this Python environment) for now.
_ENV_MANAGER = click.option(
    "--env-manager",
    type=click.Choice(["local"]),
    default="local",
    show_default=True,
    help="Only local: the model runs in this Python environment.",
)
#: ``-m``: the model to score or serve (the Dockerfile generator takes it too).
_MODEL_URI = click.option(
    "-m",
    "--model-uri",
    required=True,
    help="A model folder, runs:/<run_id>/<path>, models:/<name>/<version|stage> or "
    "models:/<name>@<alias>.",
)


def _registry(store_path: Path | None) -> Registry:
    from mltrail.registry.registry import Registry

    return Registry(open_store(store_path))


def _model_store(store_path: Path | None, model_uri: str) -> FileStore | None:
    """The store a model URI is resolved in: --store, else the one around the current
    folder; None for a model folder given without --store (no store needed, so a folder
    that does not exist is reported as such, not as a missing store)."""
    from mltrail.serving.served import needs_store

    if store_path is None and not needs_store(model_uri):
        return None
    store: FileStore = open_store(store_path)
    return store


def _user() -> str:
    from mltrail.tracking.context import current_user

    return current_user()


def _version_row(v: ModelVersion) -> tuple[Any, ...]:
    return (
        v.version,
        v.current_stage,
        ", ".join(v.aliases) or "-",
        format_time(v.creation_timestamp),
        v.user_id or "-",
        v.run_id or "-",
        (v.description or "").partition("\n")[0][:40],
    )


def _echo_version(v: ModelVersion, as_json: bool, text: str) -> None:
    if as_json:
        print_json(v.to_dictionary())
    else:
        click.echo(text)


@click.group()
def models() -> None:
    """Registered models: list, show, register, transition, alias, describe, delete."""


@models.command("list")
@store_option
@click.option("-f", "--filter", "filter_string", default="", help="e.g. \"name LIKE 'churn%'\".")
@_JSON
def list_(store_path: Path | None, filter_string: str, as_json: bool) -> None:
    """List registered models with their latest version per stage and their aliases."""
    from mltrail.registry.search import MODELS, search

    found = search(_registry(store_path).list_models(), filter_string, None, MODELS)
    if as_json:
        print_json([m.to_dictionary() for m in found])
        return
    print_table(("NAME", "LATEST", "ALIASES", "UPDATED", "DESCRIPTION"), [_row(m) for m in found])


def _row(m: RegisteredModel) -> tuple[str, ...]:
    latest = ", ".join(f"v{v.version} {v.current_stage}" for v in m.latest_versions)
    aliases = ", ".join(f"{a}=v{n}" for a, n in sorted(m.aliases.items()))
    description = (m.description or "").partition("\n")[0][:50]
    return (
        m.name,
        latest or "-",
        aliases or "-",
        format_time(m.last_updated_timestamp),
        description,
    )


@models.command()
@store_option
@click.argument("name")
@click.option("--history", "history_count", default=20, show_default=True, help="Events shown.")
@_JSON
def show(store_path: Path | None, name: str, history_count: int, as_json: bool) -> None:
    """Show model NAME: its versions and its history from git (newest first)."""
    from mltrail.registry.history import model_history

    registry = _registry(store_path)
    model, versions = registry.get_model(name), registry.list_versions(name)
    events = model_history(registry.store.root, name, max_count=history_count or None)
    if as_json:
        data = model.to_dictionary()
        data["versions"] = [v.to_dictionary() for v in versions]
        data["history"] = [e.to_dictionary() for e in events]
        print_json(data)
        return
    click.secho(f"Model {model.name}", bold=True)
    aliases = ", ".join(f"{a} -> v{n}" for a, n in sorted(model.aliases.items()))
    for label, value in (
        ("created", format_time(model.creation_timestamp)),
        ("updated", format_time(model.last_updated_timestamp)),
        ("aliases", aliases or "-"),
        ("tags", ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items())) or "-"),
    ):
        click.echo(f"  {label:<9}{value}")
    if model.description:
        click.echo("  " + model.description.replace("\n", "\n  "))
    headers = ("VERSION", "STAGE", "ALIASES", "CREATED", "USER", "RUN", "DESCRIPTION")
    print_table(headers, [_version_row(v) for v in reversed(versions)])
    if events:
        click.secho("history", bold=True)
        print_table(
            ("WHEN", "WHO", "WHAT"),
            [(format_time(e.timestamp), e.author_name, e.summary) for e in events],
        )


@models.command()
@store_option
@click.argument("model_uri")
@click.argument("name")
@click.option("--tag", "tags", multiple=True, metavar="KEY=VALUE", help="A tag (repeatable).")
@click.option("--description", help="Markdown description of the version.")
@_JSON
def register(
    store_path: Path | None,
    model_uri: str,
    name: str,
    tags: tuple[str, ...],
    description: str | None,
    as_json: bool,
) -> None:
    """Register MODEL_URI (runs:/<run_id>/<path>, a path in a run's artifacts, or
    models:/...) as the next version of NAME, creating NAME if it is new."""
    tag_map = dict(_split_tag(t) for t in tags)
    v = _registry(store_path).create_version(
        name, model_uri, tags=tag_map, description=description, create_model=True, user_id=_user()
    )
    _echo_version(v, as_json, f"Registered {v.name} v{v.version} ({v.source}).")


def _split_tag(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="--tag")
    return key, value


@models.command()
@store_option
@click.argument("name")
@click.argument("version")
@click.argument("stage")
@click.option(
    "--archive-existing", is_flag=True, help="Move the versions now in STAGE to Archived."
)
@_JSON
def transition(
    store_path: Path | None,
    name: str,
    version: str,
    stage: str,
    archive_existing: bool,
    as_json: bool,
) -> None:
    """Move VERSION of NAME to STAGE (None, Staging, Production or Archived, any case)."""
    v = _registry(store_path).transition_stage(name, version, stage, archive_existing)
    _echo_version(v, as_json, f"{v.name} v{v.version} is now in {v.current_stage}.")


@models.command()
@store_option
@click.argument("name")
@click.argument("alias")
@click.argument("version", required=False)
@click.option("--delete", is_flag=True, help="Remove ALIAS instead of setting it.")
@_JSON
def alias(
    store_path: Path | None,
    name: str,
    alias: str,
    version: str | None,
    delete: bool,
    as_json: bool,
) -> None:
    """Point ALIAS of NAME at VERSION (models:/NAME@ALIAS), or remove it with --delete."""
    from mltrail.errors import InvalidParameterValue

    registry = _registry(store_path)
    if delete == (version is not None):
        raise InvalidParameterValue("Give either VERSION (to set the alias) or --delete.")
    if delete:
        registry.delete_alias(name, alias)
        if as_json:
            print_json({"name": name, "alias": alias, "deleted": True})
        else:
            click.echo(f"Removed alias {alias} of {name}.")
        return
    registry.set_alias(name, alias, str(version))
    v = registry.version_by_alias(name, alias)
    _echo_version(v, as_json, f"{name}@{alias} -> v{v.version}.")


@models.command()
@store_option
@click.argument("name")
@click.argument("description")
@click.option("--version", help="Describe this version instead of the model.")
@_JSON
def describe(
    store_path: Path | None, name: str, description: str, version: str | None, as_json: bool
) -> None:
    """Set the (Markdown) DESCRIPTION of model NAME, or of one --version."""
    registry = _registry(store_path)
    if version is not None:
        v = registry.update_version(name, version, description)
        _echo_version(v, as_json, f"Described {v.name} v{v.version}.")
        return
    model = registry.update_model(name, description=description)
    if as_json:
        print_json(model.to_dictionary())
    else:
        click.echo(f"Described {model.name}.")


@models.command()
@store_option
@click.argument("name")
@click.option("--version", help="Delete only this version (its number is never reused).")
@click.option("--yes", is_flag=True, help="Confirm deleting the whole model.")
@_JSON
def delete(
    store_path: Path | None, name: str, version: str | None, yes: bool, as_json: bool
) -> None:
    """Delete model NAME (with --yes) or one --version; git history keeps them."""
    from mltrail.errors import InvalidParameterValue

    registry = _registry(store_path)
    if version is not None:
        registry.delete_version(name, version)
        what = f"{name} v{version}"
    else:
        if not yes:
            count = len(registry.list_versions(name))
            raise InvalidParameterValue(
                f"Deleting model {name!r} removes its {count} versions; pass --yes to confirm."
            )
        registry.delete_model(name)
        what = name
    if as_json:
        print_json({"name": name, "version": version, "deleted": True})
    else:
        click.echo(f"Deleted {what}.")


@models.command()
@store_option
@click.argument("name", required=False)
@_JSON
def resolve(store_path: Path | None, name: str | None, as_json: bool) -> None:
    """Renumber versions that share a number after merging clones (of NAME, or of all
    models): the earlier registration keeps it, later ones get the next free numbers."""
    from mltrail.registry.resolve import resolve as resolve_duplicates

    changes = resolve_duplicates(_registry(store_path), name)
    if as_json:
        print_json([c.to_dictionary() for c in changes])
        return
    if not changes:
        click.echo("Nothing to resolve: every version number is unique.")
    for c in changes:
        click.echo(f"{c.name}: v{c.old} -> v{c.new} (registration {c.version_id[:12]}).")


@models.command()
@store_option
@_MODEL_URI
@click.option(
    "-i",
    "--input-path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Default: stdin.",
)
@click.option(
    "-o", "--output-path", type=click.Path(dir_okay=False, path_type=Path), help="Default: stdout."
)
@click.option(
    "-t",
    "--content-type",
    type=click.Choice(["json", "csv", "parquet"]),
    default="json",
    show_default=True,
    help="The input's format (JSON: one scoring-protocol request body).",
)
@_ENV_MANAGER
def predict(
    store_path: Path | None,
    model_uri: str,
    input_path: Path | None,
    output_path: Path | None,
    content_type: str,
    env_manager: str,
) -> None:
    """Score a file with a model, as `mlflow models predict` does: predictions as
    {"predictions": [...]} in the input's row order. CSV and Parquet are scored in
    chunks of rows, so a file larger than memory fits."""
    import mltrail.pyfunc
    from mltrail.serving.batch import predict_file

    store = _model_store(store_path, model_uri)
    if store is not None:
        mltrail.set_tracking_uri(str(store.root))
    model = mltrail.pyfunc.load_model(model_uri)
    if input_path is not None and input_path.is_file() and output_path and sys.stderr.isatty():
        size = input_path.stat().st_size
        with click.progressbar(length=size, label="Scoring", file=sys.stderr) as bar:

            def advance(done: int) -> None:
                bar.update(done - bar.pos)

            rows = predict_file(model, input_path, output_path, content_type, progress=advance)
    else:
        rows = predict_file(model, input_path, output_path, content_type)
    if output_path is not None:
        click.echo(f"Scored {rows} rows into {output_path}.", err=True)


@models.command("generate-dockerfile")
@store_option
@_MODEL_URI
@click.option(
    "-d",
    "--output-directory",
    type=click.Path(path_type=Path),
    default="mltrail-dockerfile",
    show_default=True,
    help="The folder to write (refused if it exists and is not empty, unless --force).",
)
@click.option(
    "--mltrail-requirement",
    metavar="REQUIREMENT",
    help="How the image installs mltrail: a pip requirement (git+https://...) or the path "
    "of a wheel or source folder, copied into the output. Default: mltrail==<this version>.",
)
@click.option("--force", is_flag=True, help="Replace an existing non-empty output folder.")
def generate_dockerfile(
    store_path: Path | None,
    model_uri: str,
    output_directory: Path,
    mltrail_requirement: str | None,
    force: bool,
) -> None:
    """Write a folder `docker build` turns into an image serving the model on port 8080
    (`mltrail models serve`), as `mlflow models generate-dockerfile` does."""
    import shlex

    from mltrail.serving.docker import generate_dockerfile as generate

    store = _model_store(store_path, model_uri)
    found = generate(model_uri, output_directory, mltrail_requirement, force, store)
    click.echo(
        f"Wrote {found.path} ({found.base_image}, {found.mltrail_requirement}). "
        f"Build it with: docker build -t my-model {shlex.quote(str(found.path))}"
    )


@models.command()
@store_option
@_MODEL_URI
@click.option(
    "-p", "--port", type=click.IntRange(0, 65535), default=5000, show_default=True,
    envvar="MLTRAIL_PORT", help="The port to listen on.",
)  # fmt: skip
@click.option(
    "-h", "--host", default="127.0.0.1", show_default=True, envvar="MLTRAIL_HOST",
    help="The interface to listen on (0.0.0.0: every interface).",
)  # fmt: skip
@click.option(
    "-w", "--workers", type=click.IntRange(1), default=1, show_default=True,
    envvar="MLTRAIL_MODELS_WORKERS", help="Worker processes, each with its own copy of the model.",
)  # fmt: skip
@click.option(
    "-t", "--timeout", type=click.FloatRange(min=0, min_open=True), default=60,
    show_default=True, envvar="MLTRAIL_SCORING_SERVER_REQUEST_TIMEOUT",
    help="Seconds a request may take; then it is answered with 504.",
)  # fmt: skip
@click.option(
    "--max-body-bytes", type=click.IntRange(1), default=100 * 1024 * 1024, show_default=True,
    help="Larger request bodies are refused with 413 before they are read.",
)  # fmt: skip
@click.option(
    "--follow", is_flag=True,
    help="For models:/<name>@<alias>, /<stage> or /latest: load the new version when the "
    "alias or stage moves in the store (e.g. after a git pull), with no failed request.",
)  # fmt: skip
@click.option(
    "--allow-unknown-columns", is_flag=True,
    help="Drop columns the model's signature does not name, as MLflow does (default: 400).",
)  # fmt: skip
@click.option(
    "--follow-interval", type=click.FloatRange(min=0, min_open=True), default=2.0,
    show_default=True, help="Seconds between two looks at the registry with --follow.",
)  # fmt: skip
@_ENV_MANAGER
def serve(
    store_path: Path | None,
    model_uri: str,
    port: int,
    host: str,
    workers: int,
    timeout: float,
    max_body_bytes: int,
    follow: bool,
    allow_unknown_columns: bool,
    follow_interval: float,
    env_manager: str,
) -> None:
    """Serve a model over HTTP, as `mlflow models serve` does: MLflow's scoring
    protocol (POST /invocations, GET /ping, /health, /version) and the Open Inference
    Protocol (/v2/...) on one port. Ctrl-C or SIGTERM stops it after the requests in
    flight."""
    from mltrail.serving.served import follows
    from mltrail.serving.server import ServeSettings, build_app, serve

    if follow and not follows(model_uri):
        raise click.UsageError(
            "--follow needs models:/<name>@<alias>, models:/<name>/<stage> or "
            f"models:/<name>/latest; {model_uri!r} always names the same model."
        )
    found = _model_store(store_path, model_uri)
    store = str(found.root) if found is not None else None
    settings = ServeSettings(
        model_uri, store, host, port, workers, timeout, max_body_bytes, follow, follow_interval,
        allow_unknown_columns,
    )  # fmt: skip
    app = _load_for_serving(settings, build_app)
    identity = app.identity
    version = f" version {identity.version}" if identity.version is not None else ""
    click.echo(
        f"Serving {identity.name}{version} ({identity.uri}) on http://{host}:{port} "
        f"with {workers} worker(s); Ctrl-C to stop.",
        err=True,
    )
    serve(settings, app if workers == 1 else None)


def _load_for_serving(settings: Any, build: Any) -> Any:
    """The app with its model loaded; any failure to load is a one-line error and exit
    code 1, a missing model included (issue 10: no server is left answering 500)."""
    from mltrail.errors import MltrailError

    try:
        return build(settings)
    except MltrailError as e:
        raise click.ClickException(str(e)) from None
    except Exception as e:  # the flavor's own failure (a missing library, a broken file)
        hint = ""
        if isinstance(e, ModuleNotFoundError):
            hint = (
                "; install the model's libraries where the server runs (its requirements.txt"
                ", or pip install 'mltrail[sklearn]' for scikit-learn models)"
            )
        what = f"{type(e).__name__}: {e}"
        raise click.ClickException(
            f"The model at {settings.model_uri} could not be loaded: {what}{hint}"
        ) from None
