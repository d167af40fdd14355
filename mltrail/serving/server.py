"""``mltrail models serve``: load a model and serve it with uvicorn.

The model is loaded before the port opens, so a model that cannot load stops the
command with its message (the CLI exits 1) instead of leaving a server that answers
500 forever, and ``/ping`` answers 200 from the first connection on.

One worker runs in this process with the model already loaded. With ``workers > 1``
uvicorn's supervisor starts that many processes, and each loads the model again from
the settings this process puts in :data:`SETTINGS_ENV` (uvicorn starts workers from an
import string, :func:`app_from_environment`). SIGTERM and Ctrl-C stop accepting
connections and let the requests in flight finish (uvicorn's graceful shutdown).

uvicorn with uvloop and httptools was chosen by benchmark (benchmarks/README.md,
"Serving"): it started fastest and answered as fast as granian and hypercorn, and it is
the server MLflow's own scoring server runs on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import json
import logging
import os
from dataclasses import dataclass

from mltrail.asgi import run_app
from mltrail.serving.app import MAX_BODY_BYTES, TIMEOUT_S, ScoringApp
from mltrail.serving.served import load_served

log = logging.getLogger(__name__)

#: The environment variable that hands a worker process its :class:`ServeSettings`.
SETTINGS_ENV = "MLTRAIL_SERVE_SETTINGS"
#: Seconds between two looks at the registry with ``follow``.
FOLLOW_INTERVAL_S = 2.0


@dataclass(frozen=True)
class ServeSettings:
    """What ``mltrail models serve`` was asked for."""

    model_uri: str
    store: str | None = None
    host: str = "127.0.0.1"
    port: int = 5000
    workers: int = 1
    timeout: float = TIMEOUT_S
    max_body_bytes: int = MAX_BODY_BYTES
    follow: bool = False
    follow_interval: float = FOLLOW_INTERVAL_S
    allow_unknown_columns: bool = False

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeSettings:
        return cls(**json.loads(text))


def build_app(settings: ServeSettings) -> ScoringApp:
    """The scoring app with the model of ``settings`` loaded (raises when it cannot load)."""
    import mltrail

    served = load_served(settings.model_uri, settings.store)
    app = ScoringApp(
        served.model,
        version=mltrail.__version__,
        max_body_bytes=settings.max_body_bytes,
        timeout=settings.timeout,
        identity=served.identity,
        allow_unknown_columns=settings.allow_unknown_columns,
    )
    if settings.follow:
        app.on_startup(lambda: _follow(app, settings))
    # What is loaded now (libraries, the model) lives as long as the server: keeping it out
    # of the garbage collector's generations makes each collection, a pause in the middle
    # of some request, a fraction as long.
    gc.collect()
    gc.freeze()
    return app


def app_from_environment() -> ScoringApp:
    """The app of one uvicorn worker process (settings from :data:`SETTINGS_ENV`)."""
    return build_app(ServeSettings.from_json(os.environ[SETTINGS_ENV]))


def serve(settings: ServeSettings, app: ScoringApp | None = None) -> None:
    """Serve until SIGTERM or Ctrl-C; ``app`` is the already loaded app for one worker."""
    run_app(
        lambda: app if app is not None else build_app(settings),
        settings,
        f"{__name__}:{app_from_environment.__name__}",
        SETTINGS_ENV,
        timeout_graceful_shutdown=max(settings.timeout, 1.0),
    )


async def _follow(app: ScoringApp, settings: ServeSettings) -> None:
    """Reload the model whenever the alias or stage it was served by moves.

    The new version loads in a thread while the old one keeps answering; the swap is
    one assignment, so no request fails during it. A version that fails to load is
    logged once and the old one stays.
    """
    failed: set[str] = set()
    while True:
        await asyncio.sleep(settings.follow_interval)
        try:
            current = await asyncio.to_thread(_target_version, settings)
        except Exception as e:  # the store mid-pull, a deleted alias: try again later
            log.warning("could not resolve %s: %s", settings.model_uri, e)
            continue
        if current is None or current == app.identity.version or current in failed:
            continue
        try:
            served = await asyncio.to_thread(load_served, settings.model_uri, settings.store)
        except Exception as e:
            failed.add(current)
            log.error("version %s of %s did not load, still serving version %s: %s",
                      current, settings.model_uri, app.identity.version, e)  # fmt: skip
            continue
        previous = app.identity.version
        app.swap(served.model, served.identity)
        log.info("now serving %s (version %s, was %s)", settings.model_uri,
                 served.identity.version, previous)  # fmt: skip


def _target_version(settings: ServeSettings) -> str | None:
    from mltrail.serving.served import registry_version

    return registry_version(settings.model_uri, settings.store)
