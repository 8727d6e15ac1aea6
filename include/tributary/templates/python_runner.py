"""The ``python`` template: call ``module:callable`` with the rendered params."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from tributary.errors import TaskConfigError

log = logging.getLogger(__name__)


def load_callable(entry_point: str) -> Callable[..., Any]:
    module_name, _, attr = entry_point.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TaskConfigError(f"entry_point {entry_point!r} cannot be imported: {exc}") from None
    if not callable(target):
        raise TaskConfigError(f"entry_point {entry_point!r} is not callable")
    return target


def run_python(entry_point: str, params: Mapping[str, Any], *, secret: Any = None) -> Any:
    """Call the entry point with params as keyword arguments (and ``secret=`` if it takes one)."""
    func = load_callable(entry_point)
    kwargs = dict(params)
    if secret is not None and "secret" in inspect.signature(func).parameters:
        kwargs["secret"] = secret
    return func(**kwargs)
