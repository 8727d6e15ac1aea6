"""One abstraction over local paths and ``s3://`` URIs, built on ``pyarrow.fs``.

A :class:`Storage` is rooted at a base URI; every method takes paths relative to it with
``/`` separators. Local reads, listings and deletes go through ``os`` (the same answers as
``pyarrow.fs.LocalFileSystem``: symbolic links followed, mtimes in nanoseconds), so a caller that
only reads, like a ``cdc apply`` with nothing to do, never imports pyarrow (start-up time). Small files are written atomically (local: temp file + ``os.replace``;
S3: a single PUT is atomic). :func:`hudi_storage_options` gives the options hudi-rs needs to
read the same location (endpoint override for moto, region, credentials from the environment).
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from tributary.errors import StorageError
from tributary.settings import get_settings

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.fs as pafs

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileEntry:
    """A file found by :meth:`Storage.list_files`: path relative to the root, size, mtime (ns)."""

    path: str
    size: int
    mtime_ns: int | None = None


def _split_uri(uri: str) -> tuple[str, str]:
    """Return (scheme, path-without-scheme) with no trailing slash; scheme is "file" or "s3"."""
    parsed = urlparse(uri)
    if parsed.scheme in ("s3", "s3a"):
        path = f"{parsed.netloc}{parsed.path}".rstrip("/")
        if not parsed.netloc:
            raise StorageError(f"{uri}: an S3 URI needs a bucket, e.g. s3://bucket/prefix")
        return "s3", path
    if parsed.scheme == "file":
        return "file", os.path.abspath(parsed.path).rstrip("/") or "/"
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return "file", os.path.abspath(uri).rstrip("/") or "/"
    raise StorageError(f"{uri}: unsupported URI scheme {parsed.scheme!r}; use a local path, file:// or s3://")


def is_s3(uri: str) -> bool:
    return _split_uri(uri)[0] == "s3"


def _arrow_errors() -> tuple[type[Exception], ...]:
    """What a pyarrow filesystem call raises for a failed operation (pyarrow imported now)."""
    import pyarrow as pa

    return (OSError, pa.ArrowException)


def _s3_filesystem(storage_options: dict[str, str] | None = None, create_buckets: bool = False) -> pafs.S3FileSystem:
    import pyarrow.fs as pafs

    opts = dict(storage_options or {})
    settings = get_settings()
    endpoint = opts.get("endpoint_url") or opts.get("aws_endpoint") or settings.s3_endpoint_url
    kwargs: dict[str, object] = {"region": opts.get("region") or settings.aws_region}
    if endpoint:
        parsed = urlparse(endpoint)
        if parsed.scheme:
            kwargs["scheme"] = parsed.scheme
            kwargs["endpoint_override"] = parsed.netloc
        else:
            kwargs["endpoint_override"] = endpoint
    key = opts.get("aws_access_key_id") or os.environ.get("AWS_ACCESS_KEY_ID")
    secret = opts.get("aws_secret_access_key") or os.environ.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        kwargs["access_key"] = key
        kwargs["secret_key"] = secret
        token = opts.get("aws_session_token") or os.environ.get("AWS_SESSION_TOKEN")
        if token:
            kwargs["session_token"] = token
    if create_buckets:
        kwargs["allow_bucket_creation"] = True
    return pafs.S3FileSystem(**kwargs)


def hudi_storage_options(uri: str) -> dict[str, str]:
    """Options for ``hudi.HudiTable(uri, options)`` to read ``uri`` (empty for local paths)."""
    if not is_s3(uri):
        return {}
    settings = get_settings()
    opts: dict[str, str] = {"aws_region": settings.aws_region}
    if settings.s3_endpoint_url:
        opts["aws_endpoint_url"] = settings.s3_endpoint_url
        if settings.s3_endpoint_url.startswith("http://"):
            opts["aws_allow_http"] = "true"
    for env, key in (
        ("AWS_ACCESS_KEY_ID", "aws_access_key_id"),
        ("AWS_SECRET_ACCESS_KEY", "aws_secret_access_key"),
        ("AWS_SESSION_TOKEN", "aws_session_token"),
    ):
        if os.environ.get(env):
            opts[key] = os.environ[env]
    return opts


class Storage:
    """Files under one root URI (local directory or S3 prefix)."""

    def __init__(self, uri: str, storage_options: dict[str, str] | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.scheme, self.root = _split_uri(uri)
        self._storage_options = storage_options
        self._fs: pafs.FileSystem | None = None

    @property
    def fs(self) -> pafs.FileSystem:
        """The pyarrow filesystem (created, and pyarrow imported, on first use)."""
        if self._fs is None:
            if self.scheme == "s3":
                self._fs = _s3_filesystem(self._storage_options)
            else:
                import pyarrow.fs as pafs

                self._fs = pafs.LocalFileSystem()
        return self._fs

    @property
    def is_local(self) -> bool:
        return self.scheme == "file"

    def full_path(self, rel: str = "") -> str:
        """Filesystem path (no scheme) of ``rel``, as pyarrow.fs expects it."""
        rel = rel.strip("/")
        return f"{self.root}/{rel}" if rel else self.root

    def full_uri(self, rel: str = "") -> str:
        rel = rel.strip("/")
        return f"{self.uri}/{rel}" if rel else self.uri

    def child(self, rel: str) -> Storage:
        """A Storage rooted at ``rel`` sharing this filesystem."""
        sub = Storage.__new__(Storage)
        sub.uri, sub.scheme, sub.root, sub._fs = self.full_uri(rel), self.scheme, self.full_path(rel), self._fs
        sub._storage_options = self._storage_options
        return sub

    def _wrap(self, exc: Exception, rel: str, action: str) -> StorageError:
        return StorageError(f"{self.full_uri(rel)}: cannot {action}: {exc}")

    def _kind(self, rel: str) -> str:
        """ "file", "dir" or "" (not found) for ``rel``."""
        path = self.full_path(rel)
        if self.is_local:
            try:
                mode = os.stat(path).st_mode
            except (FileNotFoundError, NotADirectoryError):
                return ""
            except OSError as exc:
                raise self._wrap(exc, rel, "check existence") from exc
            return "dir" if stat.S_ISDIR(mode) else "file"
        import pyarrow.fs as pafs

        try:
            kind = self.fs.get_file_info(path).type
        except _arrow_errors() as exc:
            raise self._wrap(exc, rel, "check existence") from exc
        return {pafs.FileType.NotFound: "", pafs.FileType.Directory: "dir"}.get(kind, "file")

    def exists(self, rel: str = "") -> bool:
        return self._kind(rel) != ""

    def is_file(self, rel: str) -> bool:
        return self._kind(rel) == "file"

    def read_bytes(self, rel: str) -> bytes:
        try:
            if self.is_local:
                with open(self.full_path(rel), "rb") as local:
                    return local.read()
            with self.fs.open_input_stream(self.full_path(rel)) as f:
                return bytes(f.read())
        except FileNotFoundError as exc:
            raise StorageError(f"{self.full_uri(rel)}: file not found") from exc
        except _arrow_errors() as exc:
            raise self._wrap(exc, rel, "read") from exc

    def read_text(self, rel: str) -> str:
        return self.read_bytes(rel).decode("utf-8")

    def makedirs(self, rel: str = "") -> None:
        if self.is_local:
            os.makedirs(self.full_path(rel), exist_ok=True)

    def write_bytes(self, rel: str, data: bytes) -> None:
        """Write ``data`` to ``rel`` atomically: readers see the old file, or all of the new one."""
        path = self.full_path(rel)
        if self.is_local:
            try:
                _write_local(path, data)
            except OSError as exc:
                raise self._wrap(exc, rel, "write") from exc
            return
        try:
            with self.fs.open_output_stream(path) as f:
                f.write(data)
        except _arrow_errors() as exc:
            raise self._wrap(exc, rel, "write") from exc

    def write_text(self, rel: str, text: str) -> None:
        self.write_bytes(rel, text.encode("utf-8"))

    def create_new(self, rel: str, data: bytes) -> bool:
        """Write ``rel`` only if it does not exist; False if it already did (best effort on S3)."""
        if self.is_local:
            path = self.full_path(rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}.tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            finally:
                os.unlink(tmp)
            return True
        if self.exists(rel):
            return False
        self.write_bytes(rel, data)
        return True

    def open_output(self, rel: str) -> pa.NativeFile:
        """A stream for a large file (parquet); on S3 the object appears when the stream closes."""
        path = self.full_path(rel)
        if self.is_local:
            os.makedirs(os.path.dirname(path), exist_ok=True)
        try:
            return self.fs.open_output_stream(path)
        except _arrow_errors() as exc:
            raise self._wrap(exc, rel, "open for writing") from exc

    def open_input(self, rel: str) -> pa.NativeFile:
        try:
            return self.fs.open_input_file(self.full_path(rel))
        except FileNotFoundError as exc:
            raise StorageError(f"{self.full_uri(rel)}: file not found") from exc
        except _arrow_errors() as exc:
            raise self._wrap(exc, rel, "open") from exc

    def list_files(self, rel: str = "", recursive: bool = False) -> list[FileEntry]:
        """Files under ``rel`` (relative to the root), sorted by path; [] if ``rel`` is absent."""
        base = self.full_path(rel)
        try:
            found = _scan_local(base, recursive) if self.is_local else self._scan_fs(base, recursive)
        except _fs_errors(self.is_local) as exc:
            raise self._wrap(exc, rel, "list") from exc
        prefix = self.root + "/"
        out = []
        for path, is_dir, size, mtime_ns in found:
            if not is_dir:
                relpath = path[len(prefix) :] if path.startswith(prefix) else path
                out.append(FileEntry(relpath, size, mtime_ns))
        out.sort(key=lambda e: e.path)
        return out

    def _scan_fs(self, base: str, recursive: bool) -> list[tuple[str, bool, int, int | None]]:
        """(path, is a directory, size, mtime ns) of each entry under ``base`` (pyarrow.fs)."""
        import pyarrow.fs as pafs

        infos = self.fs.get_file_info(pafs.FileSelector(base, allow_not_found=True, recursive=recursive))
        return [
            (i.path, i.type == pafs.FileType.Directory, int(i.size or 0), i.mtime_ns)
            for i in infos
            if i.type in (pafs.FileType.File, pafs.FileType.Directory)
        ]

    def list_dirs(self, rel: str = "") -> list[str]:
        """Immediate sub-directories of ``rel`` (relative to the root)."""
        base = self.full_path(rel)
        try:
            found = _scan_local(base, False) if self.is_local else self._scan_fs(base, False)
        except _fs_errors(self.is_local) as exc:
            raise self._wrap(exc, rel, "list") from exc
        prefix = self.root + "/"
        return sorted(path[len(prefix) :] for path, is_dir, _, _ in found if is_dir)

    def walk_files(self, rel: str = "") -> Iterator[FileEntry]:
        yield from self.list_files(rel, recursive=True)

    def delete(self, rel: str, missing_ok: bool = True) -> None:
        try:
            if self.is_local:
                os.remove(self.full_path(rel))
            else:
                self.fs.delete_file(self.full_path(rel))
        except FileNotFoundError:
            if not missing_ok:
                raise StorageError(f"{self.full_uri(rel)}: file not found") from None
        except _fs_errors(self.is_local) as exc:
            raise self._wrap(exc, rel, "delete") from exc

    def delete_dir(self, rel: str) -> None:
        try:
            if self.exists(rel):
                self.fs.delete_dir(self.full_path(rel))
        except _arrow_errors() as exc:
            raise self._wrap(exc, rel, "delete directory") from exc

    def size(self, rel: str) -> int:
        if self.is_local:
            try:
                return os.stat(self.full_path(rel)).st_size
            except (FileNotFoundError, NotADirectoryError):
                raise StorageError(f"{self.full_uri(rel)}: file not found") from None
        import pyarrow.fs as pafs

        info = self.fs.get_file_info(self.full_path(rel))
        if info.type == pafs.FileType.NotFound:
            raise StorageError(f"{self.full_uri(rel)}: file not found")
        return int(info.size or 0)

    def ensure_bucket(self) -> None:
        """Create the S3 bucket of this root if missing (tests, first use); no-op locally."""
        if self.is_local:
            self.makedirs()
            return
        bucket = self.root.split("/", 1)[0]
        try:
            _s3_filesystem(self._storage_options, create_buckets=True).create_dir(bucket)
        except _arrow_errors() as exc:
            raise self._wrap(exc, "", "create bucket") from exc


def _fs_errors(local: bool) -> tuple[type[Exception], ...]:
    """What a listing or delete raises: OSError locally, pyarrow's errors too otherwise."""
    return (OSError,) if local else _arrow_errors()


def _write_local(path: str, data: bytes) -> None:
    """Write through a temporary file and ``os.replace`` (atomic for readers)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; readers (Spark, Trino) need more
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _scan_local(base: str, recursive: bool) -> list[tuple[str, bool, int, int | None]]:
    """(path, is a directory, size, mtime ns) of each entry under the local folder ``base``, as
    ``pyarrow.fs.LocalFileSystem`` lists them: symbolic links followed (a broken one left out),
    [] when ``base`` does not exist."""
    out: list[tuple[str, bool, int, int | None]] = []
    pending = [base]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            if folder == base:
                return []
            continue
        for entry in entries:
            try:
                info = entry.stat()
            except FileNotFoundError:
                continue  # a broken link, or removed since it was listed
            is_dir = stat.S_ISDIR(info.st_mode)
            out.append((f"{folder}/{entry.name}", is_dir, 0 if is_dir else info.st_size, info.st_mtime_ns))
            if is_dir and recursive:
                pending.append(f"{folder}/{entry.name}")
    return out
