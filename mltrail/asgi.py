"""Running one of mltrail's ASGI apps (the scoring server, the tracking server) with uvicorn."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any


def run_app(
    build: Callable[[], Any],
    *,
    host: str,
    port: int,
    workers: int,
    factory: str,
    settings: tuple[str, str],
    **options: Any,
) -> None:
    """Serve until SIGTERM or Ctrl-C, without access logs or a ``server`` header.

    One worker serves ``build()`` in this process. ``workers`` > 1 start under uvicorn's
    supervisor, each calling ``factory`` (``"module:function"``), which reads what it
    needs from the environment variable ``settings[0]``, set here to ``settings[1]``.
    ``options`` go to ``uvicorn.run`` as they are.
    """
    import uvicorn

    config: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "info",
        "access_log": False,
        "server_header": False,
        **options,
    }
    if workers > 1:
        os.environ[settings[0]] = settings[1]
        uvicorn.run(factory, factory=True, workers=workers, **config)
        return
    uvicorn.run(build(), **config)
