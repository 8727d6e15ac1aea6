"""Build the deployable Lambda zip: the ``tributary`` package plus the pure-Python and binary
distributions the invokers import (SQLAlchemy, pydantic, psycopg, ...), copied from this
environment. boto3/botocore are left out (the Lambda runtime has them). Handlers:
``tributary.events.invoker.handler`` and ``tributary.events.scheduled.handler``.
"""

from __future__ import annotations

import logging
import re
import zipfile
from importlib import metadata
from pathlib import Path

from tributary.settings import PROJECT_ROOT

log = logging.getLogger(__name__)

ROOT_DISTRIBUTIONS = (
    "SQLAlchemy",
    "pydantic",
    "PyYAML",
    "croniter",
    "jsonschema",
    "google-re2",
    "psycopg",
    "psycopg-binary",
)
EXCLUDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"})
"""In the Lambda Python runtime already."""
SKIP_PARTS = ("__pycache__", ".dist-info/RECORD")
LIGHT_INITS = ("tributary/cdc/__init__.py", "tributary/hudi/__init__.py")
"""Package inits that import the engine (pyarrow); the zip gets empty ones, since the invokers
import only submodules that need no engine."""
PACKAGE_SKIP = ("tributary/bench/", "tributary/cli/", "tributary/demo/", "tributary/stack/", "tributary/dagfactory/")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(roots: tuple[str, ...] = ROOT_DISTRIBUTIONS) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need (no extras), minus the runtime's own."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = _norm(todo.pop())
        if name in seen or name in EXCLUDED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            log.info("lambda zip: %s is not installed; skipped", name)
            continue
        seen[name] = dist
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            marker_ok = ";" not in req or ("python_version" in req and '< "3' not in req)
            if marker_ok:
                todo.append(re.split(r"[ ;<>=!~\[(]", req.strip(), maxsplit=1)[0])
    return sorted(seen.values(), key=lambda d: _norm(d.metadata["Name"]))


def build_zip(out: Path, *, with_dependencies: bool = True) -> dict[str, int]:
    """Write the zip; returns counts (files, distributions, bytes)."""
    import tributary

    out.parent.mkdir(parents=True, exist_ok=True)
    package_root = Path(tributary.__file__).resolve().parent
    files = 0
    dists = dependency_closure() if with_dependencies else []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(package_root.rglob("*")):
            arc = "tributary/" + path.relative_to(package_root).as_posix()
            if path.is_dir() or "__pycache__" in arc or arc.startswith(PACKAGE_SKIP):
                continue
            if arc in LIGHT_INITS:
                zf.writestr(arc, '"""Engine-free package init for the invoker zip."""\n')
            else:
                zf.write(path, arc)
            files += 1
        for dist in dists:
            for entry in dist.files or []:
                arc = entry.as_posix()
                if arc.startswith(("..", "/")) or any(p in arc for p in SKIP_PARTS) or arc.endswith(".pyc"):
                    continue
                src = Path(str(dist.locate_file(entry)))
                if src.is_file():
                    zf.write(src, arc)
                    files += 1
    size = out.stat().st_size
    log.info("lambda zip %s: %d files, %d distributions, %d bytes", out, files, len(dists), size)
    return {"files": files, "distributions": len(dists), "bytes": size}


DEFAULT_ZIP = PROJECT_ROOT / "dist" / "tributary-invoker.zip"
