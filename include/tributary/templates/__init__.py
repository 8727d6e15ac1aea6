"""Built-in templates that a ``python`` template's ``entry_point`` can name."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def echo_params(**params: Any) -> dict[str, Any]:
    """Log the rendered params and return them (to XCom): a smoke test for a flow's wiring."""
    log.info("echo_params: %s", params)
    return params
