"""The model registry endpoints: registered models, versions, stages, aliases, tags."""

from __future__ import annotations

import re
from typing import Any

from mltrail.registry.entities import ModelVersion, RegisteredModel
from mltrail.server import locations, messages
from mltrail.server.messages import Fields
from mltrail.tracking.client import Client

#: The clause MLflow's client appends to every registered-model search to leave out
#: prompts (alone, or after `` AND ``). MLflow's stores do not read it as a tag comparison
#: (which a model without the tag would fail, in MLflow as in mltrail) but as "not tagged
#: as a prompt": the server does the same, dropping the clause and the models tagged so.
_NOT_PROMPT = re.compile(
    r"(?:^|\s+AND\s+)tags?\.`?mlflow\.prompt\.is_prompt`?\s*!=\s*'true'\s*$", re.IGNORECASE
)
PROMPT_TAG = "mlflow.prompt.is_prompt"


def _filter(text: str | None) -> tuple[str | None, bool]:
    """``text`` without MLflow's not-a-prompt clause, and whether it had it."""
    if not text:
        return text, False
    kept = _NOT_PROMPT.sub("", text.strip())
    return (kept.strip() or None), kept != text.strip()


def _not_prompt(tags: dict[str, str]) -> bool:
    return tags.get(PROMPT_TAG, "").lower() != "true"


def _version(v: ModelVersion) -> dict[str, Any]:
    """A version as JSON, with the logged model it was registered from, if any."""
    return messages.model_version(v, v.model_id)


def _model(m: RegisteredModel) -> dict[str, Any]:
    return messages.registered_model(m, [_version(v) for v in m.latest_versions])


def create_registered_model(client: Client, f: Fields) -> dict[str, Any]:
    model = client.create_registered_model(
        f.need("name"), tags=f.pairs("tags") or None, description=f.text("description")
    )
    return {"registered_model": _model(model)}


def get_registered_model(client: Client, f: Fields) -> dict[str, Any]:
    return {"registered_model": _model(client.get_registered_model(f.need("name")))}


def search_registered_models(client: Client, f: Fields) -> dict[str, Any]:
    text, no_prompts = _filter(f.text("filter"))
    page = client.search_registered_models(
        filter_string=text,
        max_results=f.integer("max_results") or 100,
        order_by=f.strings("order_by") or None,
        page_token=f.text("page_token"),
    )
    found = [_model(m) for m in page if not no_prompts or _not_prompt(m.tags)]
    return messages.page("registered_models", found, page.token)


def update_registered_model(client: Client, f: Fields) -> dict[str, Any]:
    model = client.update_registered_model(f.need("name"), description=f.text("description"))
    return {"registered_model": _model(model)}


def rename_registered_model(client: Client, f: Fields) -> dict[str, Any]:
    model = client.rename_registered_model(f.need("name"), f.need("new_name"))
    return {"registered_model": _model(model)}


def delete_registered_model(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_registered_model(f.need("name"))
    return {}


def get_latest_versions(client: Client, f: Fields) -> dict[str, Any]:
    found = client.get_latest_versions(f.need("name"), f.strings("stages") or None)
    return {"model_versions": [_version(v) for v in found]}


def set_registered_model_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.set_registered_model_tag(f.need("name"), f.need("key"), f.text("value") or "")
    return {}


def delete_registered_model_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_registered_model_tag(f.need("name"), f.need("key"))
    return {}


def create_model_version(client: Client, f: Fields) -> dict[str, Any]:
    run_id = f.text("run_id")
    source = locations.stored_source(f.need("source"), run_id)
    version = client.create_model_version(
        f.need("name"),
        source,
        run_id=run_id,
        tags=f.pairs("tags") or None,
        run_link=f.text("run_link"),
        description=f.text("description"),
    )
    return {"model_version": _version(version)}


def get_model_version(client: Client, f: Fields) -> dict[str, Any]:
    return {"model_version": _version(client.get_model_version(f.need("name"), f.need("version")))}


def update_model_version(client: Client, f: Fields) -> dict[str, Any]:
    version = client.update_model_version(
        f.need("name"), f.need("version"), description=f.text("description")
    )
    return {"model_version": _version(version)}


def delete_model_version(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_model_version(f.need("name"), f.need("version"))
    return {}


def transition_model_version_stage(client: Client, f: Fields) -> dict[str, Any]:
    version = client.transition_model_version_stage(
        f.need("name"),
        f.need("version"),
        f.need("stage"),
        archive_existing_versions=f.flag("archive_existing_versions"),
    )
    return {"model_version": _version(version)}


def search_model_versions(client: Client, f: Fields) -> dict[str, Any]:
    text, no_prompts = _filter(f.text("filter"))
    page = client.search_model_versions(
        filter_string=text,
        max_results=f.integer("max_results") or 10000,
        order_by=f.strings("order_by") or None,
        page_token=f.text("page_token"),
    )
    found = [_version(v) for v in page if not no_prompts or _not_prompt(v.tags)]
    return messages.page("model_versions", found, page.token)


def get_model_version_download_uri(client: Client, f: Fields) -> dict[str, Any]:
    version = client.get_model_version(f.need("name"), f.need("version"))
    run_id, rel = locations.split_runs_uri(version.source)
    run = client.get_run(run_id)
    return {"artifact_uri": locations.run_artifact_uri(run.info.experiment_id, run_id, rel)}


def set_model_version_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.set_model_version_tag(
        f.need("name"), f.need("version"), f.need("key"), f.text("value") or ""
    )
    return {}


def delete_model_version_tag(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_model_version_tag(f.need("name"), f.need("version"), f.need("key"))
    return {}


def set_registered_model_alias(client: Client, f: Fields) -> dict[str, Any]:
    client.set_registered_model_alias(f.need("name"), f.need("alias"), f.need("version"))
    return {}


def delete_registered_model_alias(client: Client, f: Fields) -> dict[str, Any]:
    client.delete_registered_model_alias(f.need("name"), f.need("alias"))
    return {}


def get_model_version_by_alias(client: Client, f: Fields) -> dict[str, Any]:
    version = client.get_model_version_by_alias(f.need("name"), f.need("alias"))
    return {"model_version": _version(version)}
