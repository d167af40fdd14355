"""A real S3 API on loopback (moto's server) and stores whose artifact store is a bucket on it."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mltrail.store import FileStore
from tests.conftest import set_store_config
from tests.serving.servers import free_port

#: The secret key the tests' environment holds: it must appear in no file, commit or log.
SECRET = f"secret-{uuid.uuid4().hex}"


@dataclass
class S3Server:
    endpoint: str
    server: Any

    def client(self) -> Any:
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")

    def objects(self, bucket: str) -> dict[str, bytes]:
        """Key -> content of every object in ``bucket``."""
        s3 = self.client()
        listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
        return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, with dummy credentials and its endpoint in the
    environment (as a user sets them; nothing in the store)."""
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test-key-id")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    try:
        yield S3Server(endpoint, server)
    finally:
        server.stop()


@pytest.fixture
def bucket(s3: S3Server) -> str:
    """A new bucket on the server."""
    name = f"bucket-{uuid.uuid4().hex[:12]}"
    s3.client().create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3_store(
    store: FileStore, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., str]:
    """``s3_store(**settings)``: point the store's artifact store at the bucket; its URL."""
    monkeypatch.setenv("MLTRAIL_ARTIFACT_CACHE", str(tmp_path / "cache"))

    def configure(**settings: Any) -> str:
        url = f"s3://{bucket}/team"
        set_store_config(store, artifact_store=url, **settings)
        return url

    return configure
