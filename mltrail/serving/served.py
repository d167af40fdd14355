"""The model a server answers with, and which one it is.

A registry URI (``models:/churn@champion``) is resolved to one version first and that
version is loaded by number, so the identity a response reports is the model that
answered even when the alias moves during the load.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

HEADER_NAME = b"x-mltrail-model-name"
HEADER_VERSION = b"x-mltrail-model-version"
HEADER_URI = b"x-mltrail-model-uri"


@dataclass(frozen=True)
class ModelIdentity:
    """Which model answers: its name (registered name, else its folder's), its registry
    version (None outside the registry) and the URI it was loaded from."""

    name: str
    version: str | None
    uri: str

    def headers(self) -> tuple[tuple[bytes, bytes], ...]:
        """The response headers naming the model (values percent-encoded: HTTP headers
        carry Latin-1 only, and a model name may be any text)."""
        return self._headers

    @cached_property
    def _headers(self) -> tuple[tuple[bytes, bytes], ...]:  # built once, sent with each answer
        found = [(HEADER_NAME, _header_value(self.name)), (HEADER_URI, _header_value(self.uri))]
        if self.version is not None:
            found.append((HEADER_VERSION, self.version.encode()))
        return tuple(found)


def _header_value(text: str) -> bytes:
    return quote(text, safe="/:@").encode("ascii")


@dataclass(frozen=True)
class ServedModel:
    """A loaded pyfunc model and its identity."""

    model: Any
    identity: ModelIdentity


def load_served(uri: str, store: str | None = None) -> ServedModel:
    """Load the model at ``uri`` (``store``: the store folder for ``runs:/`` and ``models:/``
    URIs; None: the current one). Raises what ``pyfunc.load_model`` raises."""
    import mltrail
    import mltrail.pyfunc

    if store is not None:
        mltrail.set_tracking_uri(store)
    if uri.startswith("models:"):
        version = _registry_version(uri)
        concrete = f"models:/{version.name}/{version.version}"
        model = mltrail.pyfunc.load_model(concrete)
        return ServedModel(model, ModelIdentity(version.name, str(version.version), concrete))
    model = mltrail.pyfunc.load_model(uri)
    return ServedModel(model, ModelIdentity(_folder_name(uri), None, uri))


def _registry_version(uri: str) -> Any:
    from mltrail.registry.uris import model_version_for
    from mltrail.tracking import context

    return model_version_for(context.get_store(create=False), uri[len("models:") :])


def registry_version(uri: str, store: str | None = None) -> str | None:
    """The version ``uri`` names in the registry now (None for a URI outside it)."""
    if not uri.startswith("models:"):
        return None
    if store is not None:
        import mltrail

        mltrail.set_tracking_uri(store)
    return str(_registry_version(uri).version)


def needs_store(uri: str) -> bool:
    """Whether loading ``uri`` reads a store: ``runs:/`` and ``models:/`` URIs do, a folder
    does not (so a folder that does not exist is reported as such, even outside a store)."""
    return uri.startswith(("runs:", "models:"))


def follows(uri: str) -> bool:
    """Whether the version ``uri`` names can move: an alias, a stage or ``latest``."""
    from mltrail.registry.specs import parse_spec

    return uri.startswith("models:") and parse_spec(uri).version is None


def _folder_name(uri: str) -> str:
    path = uri.split(":", 1)[1] if uri.startswith(("runs:", "file:")) else uri
    return PurePosixPath(path.replace("\\", "/").rstrip("/")).name or "model"
