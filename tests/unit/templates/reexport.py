"""A package an operator allowed, which also imports a function it did not write (test helper)."""

from __future__ import annotations

from os import getenv as read_env  # noqa: F401  (the re-export the allowlist must not honour)

from tributary.templates.python_runner import run_python


def hello(name: str) -> str:
    return f"hello {name}"


def run_other(entry_point: str, params: dict[str, object]) -> object:
    """An allowed function that loads another entry point: the inner load meets the same rule."""
    return run_python(entry_point, params)
