"""The scoring server as an ASGI application: MLflow's endpoints over a loaded model.

``GET /ping`` and ``GET /health`` (200 once the model is loaded), ``GET /version``, and
``POST /invocations`` (docs/SERVING.md). A plain ASGI callable with no web framework, so
any ASGI server runs it; ``mltrail models serve`` (next) picks the server by benchmark.

Every error is a JSON body with ``error_code`` and ``message``: 400 for a request the
protocol or the model's signature refuses, 404 and 405 for other paths and methods, 413
for a body over ``max_body_bytes`` (refused before it is read), 415 for another content
type, 504 when the prediction runs past ``timeout`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.serving import protocol

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: A request body larger than this is refused with 413 (MLflow has no limit).
MAX_BODY_BYTES = 100 * 1024 * 1024
#: Seconds a prediction may run before the request is answered with 504 (MLflow's default).
TIMEOUT_S = 60.0
BAD_METHOD = "METHOD_NOT_ALLOWED"
_ROUTES = {"/ping": "GET", "/health": "GET", "/version": "GET", "/invocations": "POST"}


class ScoringApp:
    """The ASGI application serving ``model`` (a loaded pyfunc model)."""

    def __init__(
        self,
        model: Any,
        *,
        version: str,
        max_body_bytes: int = MAX_BODY_BYTES,
        timeout: float = TIMEOUT_S,
    ) -> None:
        self.model = model
        self.schema = model.metadata.get_input_schema()
        self.version = version
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        allowed = _ROUTES.get(path)
        if allowed is None:
            await _error(send, protocol.ScoringError("Not found.", 404, "ENDPOINT_NOT_FOUND"))
        elif method != allowed:
            error = protocol.ScoringError(f"{path} takes {allowed} only.", 405, BAD_METHOD)
            await _error(send, error, [(b"allow", allowed.encode())])
        elif path == "/version":
            await _respond(send, 200, self.version.encode())
        elif path != "/invocations":
            await _respond(send, 200, b"\n")
        else:
            await self._invocations(scope, receive, send)

    async def _invocations(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await _read_body(scope, receive, self.max_body_bytes)
            content_type = _header(scope, b"content-type")
            request = protocol.parse_request(body, content_type, self.schema)
            predictions = await asyncio.wait_for(
                asyncio.to_thread(self._predict, request), self.timeout
            )
        except protocol.ScoringError as e:
            await _error(send, e)
        except TimeoutError:
            message = (
                f"The prediction took longer than {self.timeout:g} s (the server's --timeout)."
            )
            await _error(send, protocol.ScoringError(message, 504, "DEADLINE_EXCEEDED"))
        else:
            await _respond(send, 200, predictions)

    def _predict(self, request: protocol.ScoringInput) -> bytes:
        try:
            if request.params:
                raw = self.model.predict(request.data, request.params)
            else:
                raw = self.model.predict(request.data)
        except InvalidParameterValue as e:  # the signature (or params) refused the input
            raise protocol.ScoringError(str(e), 400, protocol.INVALID_PARAMETER_VALUE) from None
        except Exception as e:  # the model's own failure: the request is answered, not the log
            log.debug("the model failed on a request", exc_info=True)
            raise protocol.ScoringError(
                f"The model failed on this input ({type(e).__name__}: {e}); check that the "
                "input has the values the model was trained on (no missing values?).",
            ) from None
        return protocol.predictions_body(raw)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The request body; 413 before reading it when its declared length is over ``limit``,
    or as soon as the bytes received pass it."""
    declared = _header(scope, b"content-length")
    too_large = protocol.ScoringError(
        f"The request body is larger than this server's limit of {limit} bytes "
        "(--max-body-bytes); send fewer rows per request.",
        413,
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _error(
    send: Send, error: protocol.ScoringError, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    await _respond(send, error.status, error.body(), headers)
