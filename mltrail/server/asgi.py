"""ASGI plumbing of the tracking server: requests in, MLflow's JSON and errors out."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from mltrail.errors import MltrailError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

#: MLflow's error codes the server answers with beyond those of ``mltrail.errors``.
ENDPOINT_NOT_FOUND = "ENDPOINT_NOT_FOUND"
NOT_IMPLEMENTED = "NOT_IMPLEMENTED"
UNAUTHENTICATED = "UNAUTHENTICATED"
BAD_REQUEST = "BAD_REQUEST"


class ApiError(MltrailError):
    """An error answered with an explicit HTTP status (401, 404, 405, 413, 501 ...)."""

    def __init__(self, message: str, status: int, error_code: str) -> None:
        super().__init__(message, error_code=error_code)
        self.status = status

    def get_http_status_code(self) -> int:
        return self.status


def not_implemented(what: str, why: str) -> ApiError:
    """MLflow's 501 ``NOT_IMPLEMENTED``, naming the endpoint and why."""
    return ApiError(f"mltrail server does not implement {what}: {why}", 501, NOT_IMPLEMENTED)


def header(scope: Scope, name: bytes) -> str | None:
    """The value of request header ``name`` (lower case), or None."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def query_params(scope: Scope) -> dict[str, Any]:
    """The query string as a dict; a key given twice becomes a list (MLflow's repeated
    fields in GET requests: ``order_by=a&order_by=b``)."""
    out: dict[str, Any] = {}
    raw = bytes(scope.get("query_string", b"")).decode("utf-8", errors="replace")
    for key, value in parse_qsl(raw, keep_blank_values=True):
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


def too_large(limit: int) -> ApiError:
    return ApiError(
        f"The request body is larger than this server's limit of {limit} bytes.",
        413,
        "REQUEST_LIMIT_EXCEEDED",
    )


async def read_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The whole request body; 413 as soon as it is known to pass ``limit`` bytes."""
    declared = header(scope, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in body_chunks(receive):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def body_chunks(receive: Receive) -> Any:
    """The request body, chunk by chunk, as it arrives."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return


def json_object(body: bytes) -> dict[str, Any]:
    """A request body parsed as a JSON object (empty: ``{}``); MLflow's 400 otherwise."""
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise ApiError(f"The request body is not valid JSON: {e}.", 400, BAD_REQUEST) from None
    if not isinstance(value, dict):
        raise ApiError(
            f"The request body must be a JSON object, not {type(value).__name__}.",
            400,
            BAD_REQUEST,
        )
    return value


@dataclass(frozen=True)
class Response:
    """What to send back: a status, a body, its content type, extra headers."""

    status: int
    body: bytes
    content_type: bytes = b"application/json"
    headers: tuple[tuple[bytes, bytes], ...] = ()


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(status, json.dumps(payload, allow_nan=True).encode())


def error_response(error: MltrailError) -> Response:
    """MLflow's error body: ``{"error_code": ..., "message": ...}`` with its status."""
    body = {"error_code": error.error_code, "message": error.message}
    headers: tuple[tuple[bytes, bytes], ...] = ()
    if isinstance(error, ApiError) and error.status == 401:
        headers = ((b"www-authenticate", b'Bearer realm="mltrail"'),)
    return Response(error.get_http_status_code(), json.dumps(body).encode(), headers=headers)


async def send_response(send: Send, response: Response) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": response.status,
            "headers": [
                (b"content-type", response.content_type),
                (b"content-length", str(len(response.body)).encode()),
                *response.headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": response.body})
