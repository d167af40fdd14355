"""The scoring server as an ASGI application: MLflow's endpoints over a loaded model.

``GET /ping`` and ``GET /health`` (200 once the model is loaded), ``GET /version``, and
``POST /invocations`` (docs/SERVING.md). A plain ASGI callable with no web framework, so
any ASGI server runs it; ``mltrail models serve`` (next) picks the server by benchmark.

Every error is a JSON body with ``error_code`` and ``message``: 400 for a request the
protocol or the model's signature refuses, 404 and 405 for other paths and methods, 413
for a body over ``max_body_bytes`` (refused before it is read), 415 for another content
type, 504 when the prediction runs past ``timeout`` seconds.

A prediction runs in a worker thread, so a slow one cannot stop the server answering
``/ping`` and can be answered with 504. Handing a request to a thread and back costs
about a third of a small model's whole request, though, so a scikit-learn model that has
shown itself fast runs small requests on the event loop instead (``Pace``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping
from typing import Any

from mltrail.errors import InvalidParameterValue
from mltrail.serving import openinference as oip
from mltrail.serving import protocol
from mltrail.serving.served import ModelIdentity, ServedModel

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
#: A request body at most this large may be scored on the event loop (``Pace``).
INLINE_BODY_BYTES = 16 * 1024
#: ... by a model whose last ``INLINE_AFTER`` predictions each took under this long.
INLINE_LIMIT_S = 0.010
INLINE_AFTER = 32
_ROUTES = {"/ping": "GET", "/health": "GET", "/version": "GET", "/invocations": "POST"}


class Pace:
    """Whether a prediction may run on the event loop rather than in a thread.

    Never for a model that may wait on something (a custom Python model may call a
    service): only a scikit-learn model, whose prediction is computation bounded by the
    size of its input, may (``computes_only``). Then yes for a small body when each of
    the model's last ``INLINE_AFTER`` predictions took
    under ``INLINE_LIMIT_S``: then the hand-off to a thread and back is a large share of
    the request (a third, for a small scikit-learn model), and holding the loop that long
    delays other requests by no more than a thread switch would. A slower prediction (inline or not)
    sends the model back to threads until it has been fast ``INLINE_AFTER`` times again.
    An inline prediction cannot be cut off with 504: the rule keeps that to a model
    that has been fast on every recent request and suddenly is not, for one request.
    """

    def __init__(self, computes_only: bool) -> None:
        self.computes_only = computes_only
        self._recent: deque[float] = deque(maxlen=INLINE_AFTER)
        self._slow = 0  # how many of _recent are at or over the limit
        self._lock = threading.Lock()  # threads record at once under load

    def inline(self, body_bytes: int) -> bool:
        """Whether a request of ``body_bytes`` may be scored on the event loop now."""
        recent = self._recent
        return (
            self.computes_only
            and body_bytes <= INLINE_BODY_BYTES
            and len(recent) == INLINE_AFTER
            and not self._slow
        )

    def record(self, seconds: float) -> None:
        """Note that a prediction took ``seconds``."""
        with self._lock:
            recent = self._recent
            if len(recent) == INLINE_AFTER and recent[0] >= INLINE_LIMIT_S:
                self._slow -= 1
            recent.append(seconds)
            if seconds >= INLINE_LIMIT_S:
                self._slow += 1


class ScoringApp:
    """The ASGI application serving ``model`` (a loaded pyfunc model)."""

    def __init__(
        self,
        model: Any,
        *,
        version: str,
        max_body_bytes: int = MAX_BODY_BYTES,
        timeout: float = TIMEOUT_S,
        identity: ModelIdentity | None = None,
        allow_unknown_columns: bool = False,
    ) -> None:
        self.version = version
        self.max_body_bytes = max_body_bytes
        self.timeout = timeout
        self.allow_unknown_columns = allow_unknown_columns
        self._served = ServedModel(model, identity or ModelIdentity("model", None, "model"))
        self._pace = Pace(_computes_only(model))
        self._background: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def model(self) -> Any:
        """The loaded model answering now."""
        return self._served.model

    @property
    def identity(self) -> ModelIdentity:
        """Which model answers now (sent in every response's headers)."""
        return self._served.identity

    def swap(self, model: Any, identity: ModelIdentity) -> None:
        """Answer with ``model`` from now on; requests already running finish with the old
        one (they hold it), so none fails during the swap."""
        self._served = ServedModel(model, identity)
        self._pace = Pace(_computes_only(model))

    def on_startup(self, task: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run ``task()`` in the background while the server runs (cancelled at shutdown)."""
        self._background.append(task)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        served = self._served  # this request's model, even if a newer one is swapped in
        send = _with_headers(send, served.identity.headers())
        path, method = scope["path"], scope["method"]
        if path == "/v2" or path.startswith("/v2/"):
            await self._open_inference(served, scope, receive, send)
            return
        allowed = _ROUTES.get(path)
        if allowed is None:
            await _error(send, protocol.ScoringError("Not found.", 404, "ENDPOINT_NOT_FOUND"))
        elif method != allowed:
            await _error(send, _bad_method(path, allowed), [(b"allow", allowed.encode())])
        elif path == "/version":
            await _respond(send, 200, self.version.encode())
        elif path != "/invocations":
            await _respond(send, 200, b"\n")
        else:
            await self._invocations(served, scope, receive, send)

    async def _invocations(
        self, served: ServedModel, scope: Scope, receive: Receive, send: Send
    ) -> None:
        try:
            body = await _read_body(scope, receive, self.max_body_bytes)
            content_type = _header(scope, b"content-type")
            request = protocol.parse_request(body, content_type, *_schemas(served.model))
            strict = not self.allow_unknown_columns
            predictions = await self._run(len(body), _predict, served.model, request, strict)
        except protocol.ScoringError as e:
            await _error(send, e)
        else:
            await _respond(send, 200, predictions)

    async def _run(self, body_bytes: int, fn: Callable[..., bytes], *args: Any) -> bytes:
        """``fn(*args)`` in a thread, or on the loop when ``Pace`` allows it; a 504
        ScoringError past the timeout."""
        pace = self._pace
        if pace.inline(body_bytes):
            return _timed(pace, fn, *args)
        try:
            return await asyncio.wait_for(asyncio.to_thread(_timed, pace, fn, *args), self.timeout)
        except TimeoutError:
            message = (
                f"The prediction took longer than {self.timeout:g} s (the server's --timeout)."
            )
            raise protocol.ScoringError(message, 504, "DEADLINE_EXCEEDED") from None

    async def _open_inference(
        self, served: ServedModel, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """The Open Inference Protocol's endpoints (``openinference.py``)."""
        found = oip.route(scope["path"])
        identity, meta = served.identity, getattr(served.model, "metadata", None)
        try:
            if found is None:
                raise oip.ProtocolError("Not found.", 404)
            if scope["method"] != found.method:
                error = _bad_method(scope["path"], found.method)
                raise oip.ProtocolError(error.message, 405)
            if found.name is not None:
                oip.check_model(found, identity.name, identity.version)
            if found.action == "infer":
                body = await _read_body(scope, receive, self.max_body_bytes)
                strict = not self.allow_unknown_columns
                answer = await self._run(len(body), _infer, served, body, strict)
            else:
                answer = json.dumps(_oip_info(found, identity, meta, self.version)).encode()
        except protocol.ScoringError as e:
            error = (
                e if isinstance(e, oip.ProtocolError) else oip.ProtocolError(e.message, e.status)
            )
            await _error(send, error)
        else:
            await _respond(send, 200, answer)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._tasks = [asyncio.create_task(task()) for task in self._background]
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                for running in self._tasks:
                    running.cancel()
                await send({"type": "lifespan.shutdown.complete"})
                return


#: Flavors whose ``predict`` only computes (no waiting on I/O), in time bounded by the input.
_COMPUTE_ONLY_LOADERS = frozenset({"mltrail.sklearn", "mlflow.sklearn"})


def _computes_only(model: Any) -> bool:
    flavors = getattr(getattr(model, "metadata", None), "flavors", None) or {}
    loader = (flavors.get("python_function") or {}).get("loader_module")
    return loader in _COMPUTE_ONLY_LOADERS


def _timed(pace: Pace, fn: Callable[..., bytes], *args: Any) -> bytes:
    start = time.perf_counter()
    try:
        return fn(*args)
    finally:
        pace.record(time.perf_counter() - start)


def _predict(model: Any, request: protocol.ScoringInput, strict: bool) -> bytes:
    predictions = _call_model(model, request.data, request.params, strict)
    return protocol.predictions_body(predictions, request.unwrapped)


def _schemas(model: Any) -> tuple[Any, frozenset[str]]:
    """The model's input schema (None: none) and the names its params schema declares."""
    meta = getattr(model, "metadata", None)
    if meta is None:
        return None, frozenset()
    params = meta.get_params_schema() if hasattr(meta, "get_params_schema") else None
    names = frozenset(p.name for p in params.params) if params is not None else frozenset()
    return meta.get_input_schema(), names


def _infer(served: ServedModel, body: bytes, strict: bool) -> bytes:
    signature = getattr(getattr(served.model, "metadata", None), "signature", None)
    request = oip.parse_infer(body, signature)
    try:
        raw = _call_model(served.model, request.data, request.params, strict)
    except protocol.ScoringError as e:
        raise oip.ProtocolError(e.message, e.status) from None
    identity = served.identity
    return oip.infer_body(raw, request, signature, identity.name, identity.version)


def _oip_info(found: oip.Route, identity: ModelIdentity, meta: Any, version: str) -> dict[str, Any]:
    if found.action == "live":
        return {"live": True}
    if found.action == "ready":
        return {"ready": True}
    if found.action == "server":
        return oip.server_metadata(version)
    if found.action == "model_ready":
        return {"name": identity.name, "ready": True}
    return oip.model_metadata(meta, identity.name, identity.version)


def _refuse_unknown_columns(model: Any, data: Any) -> None:
    """400 for named columns the model's signature does not have (MLflow drops them
    silently, which hides a misspelt optional column; ``--allow-unknown-columns``)."""
    signature = getattr(getattr(model, "metadata", None), "signature", None)
    schema = signature.inputs if signature is not None else None
    if schema is None or schema.is_tensor_spec() or not schema.has_input_names():
        return
    given = (
        list(data.columns)
        if hasattr(data, "columns")
        else list(data)
        if isinstance(data, dict)
        else []
    )
    if not all(isinstance(c, str) for c in given):
        return  # positional input: the signature check decides
    names = {str(n) for n in schema.input_names()}
    unknown = [c for c in given if c not in names]
    if unknown:
        raise protocol.ScoringError(
            f"Unknown column(s) {', '.join(repr(c) for c in unknown)}: the model's signature "
            f"has {', '.join(repr(str(n)) for n in schema.input_names())}. Remove them, or "
            "start the server with --allow-unknown-columns to drop them as MLflow does.",
            400,
            protocol.INVALID_PARAMETER_VALUE,
        )


def _bad_method(path: str, allowed: str) -> protocol.ScoringError:
    return protocol.ScoringError(f"{path} takes {allowed} only.", 405, BAD_METHOD)


def _with_headers(send: Send, headers: tuple[tuple[bytes, bytes], ...]) -> Send:
    """``send`` adding ``headers`` to the response's start."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), *headers]
        await send(message)

    return sending


def _call_model(model: Any, data: Any, params: dict[str, Any] | None, strict: bool) -> Any:
    """The model's predictions; its refusals and failures as 400 ScoringErrors.
    ``strict``: columns the signature does not name are refused, not dropped."""
    if strict:
        _refuse_unknown_columns(model, data)
    try:
        if params:
            return model.predict(data, params)
        return model.predict(data)
    except InvalidParameterValue as e:  # the signature (or params) refused the input
        raise protocol.ScoringError(str(e), 400, protocol.INVALID_PARAMETER_VALUE) from None
    except Exception as e:  # the model's own failure: the request is answered, not the log
        log.debug("the model failed on a request", exc_info=True)
        raise protocol.ScoringError(
            f"The model failed on this input ({type(e).__name__}: {e}); check that the "
            "input has the values the model was trained on (no missing values?).",
        ) from None


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
