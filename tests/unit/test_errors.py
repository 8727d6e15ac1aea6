"""One exception tree: every exception class of the package lives in tributary/errors.py and
derives from TributaryError."""

from __future__ import annotations

import ast
import builtins
from pathlib import Path

import tributary
from tributary import errors

PACKAGE = Path(tributary.__file__).resolve().parent
BUILTIN_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


def _exception_classes(path: Path, root: Path = PACKAGE) -> list[str]:
    """Classes in ``path`` whose base is a builtin exception or is named like one."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ClassDef):
            bases = [
                b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else "" for b in node.bases
            ]
            if any(b in BUILTIN_EXCEPTIONS or b.endswith(("Error", "Exception")) for b in bases):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name}")
    return found


def test_no_exception_class_lives_outside_errors_py() -> None:
    outside = [c for p in sorted(PACKAGE.rglob("*.py")) if p.name != "errors.py" for c in _exception_classes(p)]
    assert outside == []


def test_the_scanner_sees_an_exception_class(tmp_path: Path) -> None:
    """The check above can fail: a stray ValueError subclass is reported."""
    stray = tmp_path / "stray.py"
    stray.write_text(
        "class Oops(ValueError):\n    pass\n\n\nclass Fine:\n    pass\n\n\nclass Lost(errors.LockError):\n    pass\n"
    )
    assert _exception_classes(stray, tmp_path) == ["stray.py:1 Oops", "stray.py:9 Lost"]


def test_every_error_derives_from_tributary_error() -> None:
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, BaseException)]
    assert len(classes) > 30
    assert all(issubclass(c, errors.TributaryError) for c in classes)
