"""Blob stores: where large artifacts' bytes live, by SHA-256, on disk or at an fsspec URL.

A location is a folder path (relative to the store root, or absolute), a ``file://``
URL, or a URL of an object store (``s3://bucket/prefix``, ``gs://...``, ``az://...``)
read and written through fsspec and that scheme's backend (an optional extra:
``mltrail[s3]``, ``mltrail[gcs]``, ``mltrail[azure]``). Either way a blob's name is
``<location>/sha256/<first 2 hex digits>/<sha256>``.

Credentials never pass through here: each backend finds them itself (environment
variables, its config files), and a location holding a user name, password or query
string is refused. Remote blobs are uploaded in parallel, verified (size and SHA-256
read back) before the caller writes a pointer, and read through a local
content-addressed cache (kept under a size limit: ``blobcache``). Nothing here touches
the network until a blob is written or read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from mltrail.errors import InvalidParameterValue, MltrailError, StoreError
from mltrail.store import blobcache

log = logging.getLogger(__name__)

_CHUNK = 1 << 20
#: Bytes per ranged read from a remote store (each read is one request).
_REMOTE_CHUNK = 16 << 20
#: Uploads at once (threads; each mostly waits on the network).
UPLOAD_WORKERS = 8
#: URL scheme -> (the pip extra that installs its backend, the backend's module).
REMOTE_SCHEMES: dict[str, tuple[str, str]] = {
    "s3": ("s3", "s3fs"),
    "s3a": ("s3", "s3fs"),
    "gs": ("gcs", "gcsfs"),
    "gcs": ("gcs", "gcsfs"),
    "az": ("azure", "adlfs"),
    "abfs": ("azure", "adlfs"),
    "abfss": ("azure", "adlfs"),
}
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+)://")
_SUPPORTED = ", ".join(["a folder path", "file://", *(f"{s}://" for s in REMOTE_SCHEMES)])


def is_valid_digest(digest: str) -> bool:
    """Whether ``digest`` is 64 lowercase hex digits (a blob name, never a path)."""
    return len(digest) == 64 and all(c in "0123456789abcdef" for c in digest)


def _check_digest(digest: str) -> str:
    if not is_valid_digest(digest):
        raise InvalidParameterValue(f"Invalid sha256 {digest[:80]!r}: not 64 hex digits.")
    return digest


def blob_name(digest: str) -> str:
    """The blob's path under its location: ``sha256/ab/abcdef...``."""
    return f"sha256/{digest[:2]}/{_check_digest(digest)}"


def scheme_of(location: str) -> str:
    """The URL scheme of ``location`` ('' for a plain path, also a Windows drive path)."""
    found = _SCHEME.match(location)
    return found.group(1).lower() if found else ""


def check_location(location: Any, what: str) -> str:
    """``location`` itself if it names a blob store mltrail can use, else an error.

    ``what`` names where it came from (a file and key) for the message. A remote URL
    must have a bucket and no credentials or query string in it.

    >>> check_location("s3://team-bucket/mltrail", "artifact_store")
    's3://team-bucket/mltrail'
    """
    if not isinstance(location, str) or not location.strip() or "\x00" in location:
        raise InvalidParameterValue(
            f"{what} must be a folder path or a URL ({_SUPPORTED}), not {location!r}."
        )
    scheme = scheme_of(location)
    if scheme in ("", "file"):
        return location
    if scheme not in REMOTE_SCHEMES:
        raise InvalidParameterValue(
            f"{what}: unsupported URL scheme {scheme!r} in {location!r}; use {_SUPPORTED}."
        )
    try:
        parts = urlsplit(location)
    except ValueError as e:  # e.g. an unbalanced '[' in the host
        raise InvalidParameterValue(f"{what}: {location!r} is not a valid URL ({e}).") from e
    if "@" in parts.netloc or parts.query or parts.fragment or parts.password:
        raise InvalidParameterValue(
            f"{what}: {scheme}:// URLs may not hold credentials or options; give "
            f"'{scheme}://<bucket>/<prefix>' and let the backend find credentials "
            "in its usual environment variables and config files."
        )
    if not parts.netloc:
        raise InvalidParameterValue(f"{what}: {location!r} names no bucket.")
    return location


def local_folder(location: str, root: Path) -> Path | None:
    """The folder of a local location (relative ones resolved against ``root``), else None."""
    scheme = scheme_of(location)
    if scheme == "file":  # file:///abs/path (a host before the path is ignored)
        return Path(unquote("/" + location.split("://", 1)[1].partition("/")[2]))
    if scheme:
        return None
    path = Path(os.path.expanduser(location))
    return path if path.is_absolute() else root / path


class Blobs(Protocol):
    """A content-addressed store of large artifacts' bytes."""

    #: True when reading or writing a blob may use the network.
    remote: bool

    def uri(self, digest: str) -> str:
        """Where the blob is (a path or URL, for messages and the site; no network)."""
        ...

    def put(self, local: Path, digest: str, size: int) -> None:
        """Store ``local`` (whose SHA-256 is ``digest``), verified; an error if it fails."""
        ...

    def fetch(self, digest: str, size: int) -> Path | None:
        """A local file with the blob's bytes (None: the store does not have it)."""
        ...

    def holds(self, digest: str, size: int) -> bool:
        """Whether the store has the blob, of that size (one request for a remote one)."""
        ...


def copy_atomic(src: Path, dest: Path) -> None:
    """Copy ``src`` to ``dest`` through a temporary file: never a half-written ``dest``."""
    tmp = dest.with_name(f".mltrail-{uuid.uuid4().hex}.tmp")
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def file_sha256(path: Path) -> str:
    """The SHA-256 (hex) of the file at ``path``, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


class LocalBlobs:
    """Blobs in a folder of this machine (the default ``.artifacts`` of the store)."""

    remote = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, digest: str) -> Path:
        """Where the blob with SHA-256 ``digest`` is kept."""
        return self.root / blob_name(digest)

    def uri(self, digest: str) -> str:
        return str(self.path(digest))

    def put(self, local: Path, digest: str, size: int) -> None:
        blob = self.path(digest)
        if not blob.exists():
            blob.parent.mkdir(parents=True, exist_ok=True)
            copy_atomic(local, blob)

    def fetch(self, digest: str, size: int) -> Path | None:
        blob = self.path(digest)
        if blob.is_symlink():
            raise StoreError(
                f"{blob} is a symbolic link; mltrail never follows links in an artifact "
                "store. Replace it with the file itself, or remove it."
            )
        return blob if blob.is_file() else None

    def holds(self, digest: str, size: int) -> bool:
        blob = self.path(digest)
        return blob.is_file() and not blob.is_symlink() and blob.stat().st_size == size


class RemoteBlobs:
    """Blobs at an fsspec URL, read through a local content-addressed ``cache`` folder."""

    remote = True

    def __init__(self, url: str, cache: Path) -> None:
        self.url = url.rstrip("/")
        self.cache = cache
        self._fs: Any = None
        self._base = ""

    def _filesystem(self) -> tuple[Any, str]:
        """The backend's file system and the location's path in it (made on first use)."""
        if self._fs is None:
            extra, module = REMOTE_SCHEMES[scheme_of(self.url)]
            try:
                import fsspec

                # An own instance: fsspec's shared ones would outlive a change of the
                # environment's credentials or endpoint.
                self._fs, self._base = fsspec.core.url_to_fs(self.url, skip_instance_cache=True)
            except ImportError as e:
                raise StoreError(
                    f"The artifact store {self.url} needs fsspec's {module} backend, which is "
                    f"not installed; install it with `pip install 'mltrail[{extra}]'`."
                ) from e
        return self._fs, self._base.rstrip("/")

    def uri(self, digest: str) -> str:
        return f"{self.url}/{blob_name(digest)}"

    def put(self, local: Path, digest: str, size: int) -> None:
        fs, base = self._filesystem()
        key = f"{base}/{blob_name(digest)}"
        try:
            if _remote_size(fs, key) != size:
                fs.put_file(os.fspath(local), key)
                fs.invalidate_cache(key)
            got = _remote_digest(fs, key)
        except MltrailError:
            raise
        except Exception as e:  # any backend error (network, auth, bucket): one clear line
            raise StoreError(
                f"Could not upload {local.name} to {self.uri(digest)}: {_reason(e)}. Check that "
                "the bucket exists and that credentials and endpoint are set in the "
                "environment; the artifact was not logged."
            ) from e
        if got != digest:
            _remove_quietly(fs, key)
            raise StoreError(
                f"Upload of {local.name} to {self.uri(digest)} did not verify (sha256 read "
                f"back {got}, expected {digest}); the artifact was not logged, try again."
            )

    def holds(self, digest: str, size: int) -> bool:
        fs, base = self._filesystem()
        try:
            return _remote_size(fs, f"{base}/{blob_name(digest)}") == size
        except Exception as e:  # any backend error (network, auth, bucket): one clear line
            raise StoreError(
                f"Could not reach {self.uri(digest)}: {_reason(e)}. Check that the bucket "
                "exists and that credentials and endpoint are set in the environment."
            ) from e

    def fetch(self, digest: str, size: int) -> Path | None:
        cached = self.cache / blob_name(digest)
        if cached.is_file() and not cached.is_symlink() and cached.stat().st_size == size:
            blobcache.mark_used(cached)
            return cached  # written only after its sha256 was checked
        limit = blobcache.max_bytes()
        fs, base = self._filesystem()
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_name(f".mltrail-{uuid.uuid4().hex}.tmp")
        try:
            got = _download(fs, f"{base}/{blob_name(digest)}", tmp)
            if got is None:
                return None
            if got != digest:
                raise StoreError(
                    f"The blob {self.uri(digest)} does not match its sha256 {digest}: the "
                    "artifact store is damaged; log the artifact again."
                )
            os.replace(tmp, cached)
        finally:
            tmp.unlink(missing_ok=True)
        blobcache.prune(self.cache, limit)
        return cached


def _remote_size(fs: Any, key: str) -> int | None:
    try:
        return int(fs.info(key)["size"])
    except FileNotFoundError:
        return None


def _remote_digest(fs: Any, key: str) -> str:
    h = hashlib.sha256()
    with fs.open(key, "rb", cache_type="none") as f:
        while chunk := f.read(_REMOTE_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _download(fs: Any, key: str, dest: Path) -> str | None:
    """Copy ``key`` to ``dest``; its SHA-256, or None if there is no such blob."""
    h = hashlib.sha256()
    try:
        with fs.open(key, "rb", cache_type="none") as f, open(dest, "wb") as out:
            while chunk := f.read(_REMOTE_CHUNK):
                h.update(chunk)
                out.write(chunk)
    except FileNotFoundError:
        return None
    except MltrailError:
        raise
    except Exception as e:  # any backend error: one clear line naming the blob
        raise StoreError(
            f"Could not read {key} from the artifact store: {_reason(e)}. Check the "
            "network, and that credentials and endpoint are set in the environment."
        ) from e
    return h.hexdigest()


def _remove_quietly(fs: Any, key: str) -> None:
    try:
        fs.rm_file(key)
    except Exception as e:  # the error that matters is the one being raised
        log.warning("Could not remove the unverified blob %s: %s", key, _reason(e))


def _reason(e: BaseException) -> str:
    """The first line of an exception, short (never a traceback or a request dump)."""
    text = (str(e).strip().splitlines() or [""])[0] or type(e).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def store_all(blobs: Blobs, files: Iterable[Path]) -> dict[Path, str]:
    """Hash and store ``files`` in ``blobs`` (remote ones in parallel); path -> sha256.

    Every file is stored and verified before this returns; if one fails, the first
    error is raised once all uploads have finished (pointers are written after, so
    none can name a missing blob).
    """
    todo = list(dict.fromkeys(files))

    def one(path: Path) -> str:
        digest = file_sha256(path)
        blobs.put(path, digest, path.stat().st_size)
        return digest

    if not blobs.remote or len(todo) <= 1:
        return {path: one(path) for path in todo}
    # imported here: only uploads need it, and `import mltrail` stays quick
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(min(UPLOAD_WORKERS, len(todo))) as pool:
        futures = [pool.submit(one, path) for path in todo]
        errors = [f.exception() for f in futures]
    first = next((e for e in errors if e is not None), None)
    if first is not None:
        raise first
    return {path: f.result() for path, f in zip(todo, futures, strict=True)}


def experiment_location(location: Any, root: Path, what: str) -> str:
    """An experiment's ``artifact_location`` as recorded: a supported URL as given, or a
    folder inside the store ``root`` as a relative POSIX path; else an error.

    A store may come from anyone: a location read from it may name a remote store, but
    never a folder outside the store.
    """
    text = check_location(location, what)
    folder = local_folder(text, root)
    if folder is None:
        return text
    base = root.resolve()
    resolved = folder.resolve()
    if resolved != base and base not in resolved.parents:
        raise InvalidParameterValue(
            f"{what} {text!r} is outside the store {root}; give a URL (such as "
            "'s3://bucket/prefix') or a folder inside the store."
        )
    return resolved.relative_to(base).as_posix()


def cache_folder(root: Path) -> Path:
    """Where fetched remote blobs are kept (``MLTRAIL_ARTIFACT_CACHE``, else the store's
    git-ignored ``.cache/artifacts``)."""
    env = os.environ.get("MLTRAIL_ARTIFACT_CACHE", "").strip()
    return Path(env).expanduser() if env else root / ".cache" / "artifacts"


def open_blobs(location: str, root: Path) -> Blobs:
    """The blob store at ``location`` (a checked location; relative to ``root``)."""
    folder = local_folder(location, root)
    if folder is not None:
        return LocalBlobs(folder)
    return RemoteBlobs(location, cache_folder(root))
