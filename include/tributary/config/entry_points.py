"""Which callables a ``python`` template may name: config must not be able to run arbitrary code.

Allowed are Tributary's own entry-point modules and the packages an operator lists in
``TRIBUTARY_ENTRY_POINT_PACKAGES``. ``subprocess:getoutput``, ``os:getenv`` or ``builtins:eval``
are refused when config is validated, and again when the callable is loaded (a row written
straight into the DB, or an allowed function that loads another entry point, meets the same rule).
"""

from __future__ import annotations

from typing import Any

from tributary.settings import get_settings

PROJECT_MODULES = frozenset({"tributary.templates", "tributary.events.watcher"})
"""Tributary's modules written to be entry points (not its sub-modules: they hold internals)."""


def _allowed_module(module: str) -> bool:
    if module in PROJECT_MODULES:
        return True
    return any(module == pkg or module.startswith(pkg + ".") for pkg in get_settings().entry_point_packages)


def _hint() -> str:
    packages = ", ".join(get_settings().entry_point_packages) or "none"
    return (
        f"name a callable in {', '.join(sorted(PROJECT_MODULES))} or add its package to "
        f"TRIBUTARY_ENTRY_POINT_PACKAGES (now: {packages})"
    )


def entry_point_refusal(entry_point: str) -> str | None:
    """Why ``module:callable`` may not be run, or None when it may."""
    module, _, attr = entry_point.partition(":")
    if not _allowed_module(module):
        return f"module {module!r} is not allowed for python templates; {_hint()}"
    if attr.startswith("_"):
        return f"{attr!r} is private; name a public callable"
    return None


def loaded_refusal(entry_point: str, target: Any) -> str | None:
    """Why the loaded callable may not be run: it must be defined in an allowed module, so an
    allowed module's import of ``subprocess.getoutput`` is not a way around the list."""
    defined_in = getattr(target, "__module__", None)
    if not isinstance(defined_in, str) or not _allowed_module(defined_in):
        return f"entry_point {entry_point!r} is defined in {defined_in!r}, which is not allowed; {_hint()}"
    return None
