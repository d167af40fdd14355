"""Running one of mltrail's ASGI apps (the scoring server, the tracking server) with uvicorn."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, Protocol


class Settings(Protocol):
    """What a server's settings say about where and how many."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def workers(self) -> int: ...
    def to_json(self) -> str: ...


def run_app(
    build: Callable[[], Any], settings: Settings, factory: str, env: str, **options: Any
) -> None:
    """Serve until SIGTERM or Ctrl-C, without access logs or a ``server`` header.

    One worker serves ``build()`` in this process. ``settings.workers`` > 1 start under
    uvicorn's supervisor, each calling ``factory`` (``"module:function"``), which reads
    the settings back from the environment variable ``env``. ``options`` go to
    ``uvicorn.run`` as they are.
    """
    import uvicorn

    config: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "log_level": "info",
        "access_log": False,
        "server_header": False,
        **options,
    }
    if settings.workers > 1:
        os.environ[env] = settings.to_json()
        uvicorn.run(factory, factory=True, workers=settings.workers, **config)
        return
    uvicorn.run(build(), **config)
