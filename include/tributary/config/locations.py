"""Turn a validated config location into what storage opens.

Relative locations live under the Tributary data folder (the embedded default); ``file:///``
URIs are absolute local paths; ``s3://`` URIs stay as they are. Only locations that passed
:func:`tributary.config.identifiers.check_location` come here.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from tributary.settings import get_settings

SYSTEM_TREES = tuple(
    PurePosixPath(p)
    for p in (
        "/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/root", "/run",
        "/sbin", "/snap", "/sys", "/usr", "/var/lib", "/var/log", "/var/run", "/var/spool", "/var/cache",
    )
)  # fmt: skip
"""Local folders no table may live in: the system's own and the home of root."""
SHARED_ROOTS = tuple(PurePosixPath(p) for p in ("/", "/home", "/tmp", "/var", "/opt", "/srv", "/mnt", "/media"))
"""Local folders a table may live below but not be: each holds everything else on the machine."""


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


def system_folder(path: str, home: Path | None = None) -> str | None:
    """Why the resolved local ``path`` must not hold a table, or None when it may.

    Inside the data folder is always fine (relative locations land there); elsewhere a system
    folder, a shared root, the user's home, or a folder holding the data folder is refused."""
    here = PurePosixPath(path)
    data = PurePosixPath(home or get_settings().home.resolve())
    if here != data and here.is_relative_to(data):
        return None
    if data.is_relative_to(here):
        return f"it holds the Tributary data folder {data}"
    for tree in SYSTEM_TREES:
        if here.is_relative_to(tree):
            return f"it lies in the system folder {tree}"
    if here in SHARED_ROOTS or here == PurePosixPath(Path.home()):
        return f"{here} is a shared system folder"
    return None
