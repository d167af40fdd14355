"""The tracking server as an ASGI application (no web framework), as ``mltrail.serving``.

One request: check the bearer token (when the server has one), find the route, read the
fields (JSON body, or the query string of a GET), run the handler in a worker thread (the
store's calls block), answer MLflow's JSON. Every failure is MLflow's error JSON with its
status: 400 for bad JSON, unknown fields and values mltrail refuses, 401 without the
token, 404/405 for unknown paths and methods, 413 for oversized bodies, 501 for MLflow
endpoints not served; an unexpected exception is a 500 whose body names no internals
(the traceback goes to the server's log).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from pathlib import Path
from typing import Any

from mltrail.errors import INTERNAL_ERROR, MltrailError
from mltrail.server import artifacts, routes, site
from mltrail.server.asgi import (
    BAD_REQUEST,
    ENDPOINT_NOT_FOUND,
    UNAUTHENTICATED,
    ApiError,
    Receive,
    Response,
    Scope,
    Send,
    error_response,
    header,
    json_object,
    json_response,
    not_implemented,
    query_params,
    read_body,
    send_response,
)
from mltrail.server.messages import Fields
from mltrail.tracking.client import Client

log = logging.getLogger(__name__)

#: The largest JSON request body (MLflow's own limit on a log-batch is far smaller).
MAX_JSON_BYTES = 16 * 1024 * 1024
#: The largest artifact one PUT may upload.
MAX_ARTIFACT_BYTES = 5 * 1024 * 1024 * 1024
#: How long shutdown waits for queued git commits.
SHUTDOWN_COMMIT_SECONDS = 60.0
ARTIFACTS_PREFIX = "/api/2.0/mlflow-artifacts/artifacts"
_UNSERVED_PREFIXES = ("/api/2.0/mlflow/", "/api/3.0/mlflow/", "/ajax-api/2.0/mlflow/")


class TrackingApp:
    """MLflow's tracking REST API and artifact proxy over the store of ``client``."""

    def __init__(
        self,
        client: Client,
        *,
        version: str,
        token: str | None = None,
        site_dir: Path | None = None,
        max_json_bytes: int = MAX_JSON_BYTES,
        max_artifact_bytes: int = MAX_ARTIFACT_BYTES,
    ) -> None:
        self.client = client
        self.version = version
        self.token = token
        self.site_dir = site_dir
        self.max_json_bytes = max_json_bytes
        self.max_artifact_bytes = max_artifact_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            response = await self._handle(scope, receive, send)
        except MltrailError as e:
            response = error_response(e)
        except Exception:  # answered as MLflow's 500; the traceback stays in the log
            log.exception("%s %s failed", scope.get("method"), scope.get("path"))
            response = error_response(
                MltrailError("Internal server error; see the server's log.", INTERNAL_ERROR)
            )
        if response is not None:
            await send_response(send, response)

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> Response | None:
        path, method = scope["path"], scope["method"]
        if path == "/health":
            return Response(200, b"OK", b"text/plain")
        self._authorize(scope)
        if path == "/version":
            return Response(200, self.version.encode(), b"text/plain")
        if path == ARTIFACTS_PREFIX or path.startswith(ARTIFACTS_PREFIX + "/"):
            return await self._artifacts(scope, receive, send, path[len(ARTIFACTS_PREFIX) :])
        prefix = next((p for p in routes.PREFIXES if path.startswith(p)), None)
        if prefix is None:
            if self.site_dir is not None and method in ("GET", "HEAD"):
                return await asyncio.to_thread(site.answer, self.site_dir, path)
            raise ApiError(f"No endpoint {path}.", 404, ENDPOINT_NOT_FOUND)
        endpoint = path[len(prefix) :].strip("/")
        if endpoint == "artifacts/list" and method == "GET":
            fields = Fields(
                endpoint,
                _checked(
                    query_params(scope), {"run_id", "run_uuid", "path", "page_token"}, endpoint
                ),
            )
            return json_response(await asyncio.to_thread(artifacts.list_run, self.client, fields))
        route, params, methods = routes.find(method, endpoint)
        if route is None:
            raise _no_route(endpoint, method, methods)
        if method == "GET":
            values = query_params(scope)
        else:
            values = json_object(await read_body(scope, receive, self.max_json_bytes))
        values = {**_checked(values, route.fields, endpoint), **params}
        answer = await asyncio.to_thread(route.handler, self.client, Fields(endpoint, values))
        return json_response(answer)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        """Start at once; on shutdown, land the commits still queued (uvicorn ends the
        process by its signal after this, so exit handlers would not run)."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if not await asyncio.to_thread(self.client.store.flush, SHUTDOWN_COMMIT_SECONDS):
                    log.warning("commits still running at shutdown; run `mltrail commit`")
                await send({"type": "lifespan.shutdown.complete"})
                return

    def _authorize(self, scope: Scope) -> None:
        if self.token is None:
            return
        given = header(scope, b"authorization") or ""
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            value.strip().encode(), self.token.encode()
        ):
            raise ApiError(
                "This mltrail server needs a token: set MLFLOW_TRACKING_TOKEN to the "
                "server's --token.",
                401,
                UNAUTHENTICATED,
            )

    async def _artifacts(
        self, scope: Scope, receive: Receive, send: Send, rest: str
    ) -> Response | None:
        method, path = scope["method"], rest.lstrip("/")
        if method == "GET" and not path:
            params = _checked(query_params(scope), {"path"}, "mlflow-artifacts/artifacts")
            found = await asyncio.to_thread(
                artifacts.list_proxy, self.client, str(params.get("path") or "")
            )
            return json_response(found)
        if method == "GET":
            content, kind = await asyncio.to_thread(artifacts.open_download, self.client, path)
            await _stream(send, content, kind)
            return None
        if method == "PUT":
            limit = self.max_artifact_bytes
            return json_response(await artifacts.upload(self.client, path, receive, limit))
        if method == "DELETE":
            raise not_implemented(
                "deleting artifacts", "a run's artifacts stay as logged (history is in git)"
            )
        raise ApiError(f"{method} is not allowed on {ARTIFACTS_PREFIX}.", 405, BAD_REQUEST)


def _checked(
    values: dict[str, Any], allowed: frozenset[str] | set[str], endpoint: str
) -> dict[str, Any]:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ApiError(
            f"Unknown field(s) {', '.join(repr(u) for u in unknown)} for {endpoint}: it takes "
            f"{', '.join(sorted(allowed)) or 'none'}.",
            400,
            "INVALID_PARAMETER_VALUE",
        )
    return values


def _no_route(endpoint: str, method: str, methods: set[str]) -> ApiError:
    if methods:
        return ApiError(
            f"{endpoint} takes {' or '.join(sorted(methods))}, not {method}.", 405, BAD_REQUEST
        )
    family = endpoint.split("/")[0]
    if family in routes.NOT_SERVED:
        return not_implemented(endpoint, routes.NOT_SERVED[family])
    return ApiError(f"No MLflow endpoint {endpoint} in mltrail server.", 404, ENDPOINT_NOT_FOUND)


async def _stream(send: Send, content: Path, kind: str) -> None:
    size = content.stat().st_size
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", kind.encode()), (b"content-length", str(size).encode())],
        }
    )
    async for chunk in artifacts.file_chunks(content):
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})
