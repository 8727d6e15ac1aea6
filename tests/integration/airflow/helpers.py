"""Python template entry points used by the Airflow tests."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any


def record(path: str, **params: Any) -> dict[str, Any]:
    """Append the params to a JSON-lines file and return them."""
    with Path(path).open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(params) + "\n")
    return params


def leak(secret: Any = None, **params: Any) -> dict[str, Any]:
    """A careless template that returns and prints its secret: both must come out masked."""
    logging.getLogger("tributary.templates.test_leak").warning("the password is %s", secret["password"])
    return {"echo": f"pw={secret['password']}", **params}


def boom(**params: Any) -> None:
    raise RuntimeError(f"deliberate failure with {sorted(params)}")
