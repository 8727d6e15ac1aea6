"""The ``python`` template: call ``module:callable`` with the rendered params."""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any

from tributary.config.entry_points import entry_point_refusal, loaded_refusal
from tributary.config.identifiers import ENTRY_POINT_RE
from tributary.errors import TaskConfigError

log = logging.getLogger(__name__)


def load_callable(entry_point: str) -> Callable[..., Any]:
    """The callable ``module:attr`` names, once the allowlist agrees (before and after import)."""
    if not ENTRY_POINT_RE.fullmatch(entry_point):
        raise TaskConfigError(f"entry_point {entry_point!r} is not <python.module>:<callable>")
    refusal = entry_point_refusal(entry_point)
    if refusal:
        raise TaskConfigError(f"entry_point {entry_point!r}: {refusal}")
    module_name, _, attr = entry_point.partition(":")
    try:
        target = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise TaskConfigError(f"entry_point {entry_point!r} cannot be imported: {exc}") from None
    if not callable(target):
        raise TaskConfigError(f"entry_point {entry_point!r} is not callable")
    refusal = loaded_refusal(entry_point, target)
    if refusal:
        raise TaskConfigError(refusal)
    return target


def run_python(entry_point: str, params: Mapping[str, Any], *, secret: Any = None) -> Any:
    """Call the entry point with params as keyword arguments (and ``secret=`` if it takes one)."""
    func = load_callable(entry_point)
    kwargs = dict(params)
    if secret is not None and "secret" in inspect.signature(func).parameters:
        kwargs["secret"] = secret
    return func(**kwargs)
