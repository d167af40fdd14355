"""``mltrail server``: build the tracking app over a store and run it on uvicorn.

One worker runs in this process. With ``workers > 1`` uvicorn's supervisor starts that many
processes, each building the app from the settings this process puts in
:data:`SETTINGS_ENV`; the store's locks keep their writes apart as they keep apart the
processes of a training job.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
from dataclasses import dataclass
from pathlib import Path

from mltrail.asgi import run_app
from mltrail.server.app import TrackingApp

#: The environment variable that hands a worker process its :class:`ServerSettings`.
SETTINGS_ENV = "MLTRAIL_SERVER_SETTINGS"
#: The environment variable holding the token when ``--token`` is not given.
TOKEN_ENV = "MLTRAIL_SERVER_TOKEN"


@dataclass(frozen=True)
class ServerSettings:
    """What ``mltrail server`` was asked for."""

    store: str
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    token: str | None = None
    site_dir: str | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServerSettings:
        return cls(**json.loads(text))


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_app(settings: ServerSettings) -> TrackingApp:
    """The tracking app over the store of ``settings`` (an error if there is none)."""
    import mltrail
    from mltrail.tracking import context
    from mltrail.tracking.client import Client

    root = context.uri_to_path(settings.store)
    context.get_store(root, create=False)  # an error naming the folder when it is no store
    client = Client(str(root))
    # A run records the source its MLflow client sends (mlflow.source.* tags), never the
    # server's own script and git state.
    client._source = ({}, "")
    site_dir = Path(settings.site_dir) if settings.site_dir else None
    return TrackingApp(client, version=mltrail.__version__, token=settings.token, site_dir=site_dir)


def app_from_environment() -> TrackingApp:
    """The app of one uvicorn worker process (settings from :data:`SETTINGS_ENV`)."""
    return build_app(ServerSettings.from_json(os.environ[SETTINGS_ENV]))


def serve(settings: ServerSettings, app: TrackingApp | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; ``app`` is the already built app for one worker."""
    run_app(
        lambda: app if app is not None else build_app(settings),
        settings,
        f"{__name__}:{app_from_environment.__name__}",
        SETTINGS_ENV,
    )
