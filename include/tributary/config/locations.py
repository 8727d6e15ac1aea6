"""Turn a validated config location into what storage opens.

Relative locations live under the Tributary data folder (the embedded default); ``file:///``
URIs are absolute local paths; ``s3://`` URIs stay as they are. Only locations that passed
:func:`tributary.config.identifiers.check_location` come here.
"""

from __future__ import annotations

from pathlib import Path

from tributary.settings import get_settings


def resolve_location(location: str) -> str:
    """An absolute local path (no scheme) or an ``s3://`` URI, without a trailing slash."""
    if location.startswith("s3://"):
        return location.rstrip("/")
    if location.startswith("file://"):
        return str(Path(location[len("file://") :]).resolve())
    return str((get_settings().home / location).resolve())


def canonical_uri(path_or_uri: str) -> str:
    """The form a landed file is tracked under: ``s3://bucket/key`` or an absolute local path."""
    if path_or_uri.startswith("s3://"):
        return path_or_uri
    if path_or_uri.startswith("s3a://"):
        return "s3://" + path_or_uri[len("s3a://") :]
    if path_or_uri.startswith("file://"):
        path_or_uri = path_or_uri[len("file://") :]
    return str(Path(path_or_uri).resolve())


def relative_to(root: str, uri: str) -> str | None:
    """``uri`` relative to the folder ``root``, or None when it is not inside it."""
    root = root.rstrip("/") + "/"
    return uri[len(root) :] if uri.startswith(root) else None
