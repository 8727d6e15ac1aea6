"""The stack's secrets (admin password, JWT secret, env and state files) are 0600 in a 0700
folder, also under a permissive umask and over files an older stack left world-readable."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tributary.stack.stack import StackState, write_secrets


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_stack_secrets_are_private(tmp_path: Path) -> None:
    directory = tmp_path / "stack"
    directory.mkdir(mode=0o755)
    for name in ("passwords.json", "jwt_secret", "login.json", "state.json"):
        (directory / name).write_text("old")
        os.chmod(directory / name, 0o644)
    old_umask = os.umask(0o022)
    try:
        login = write_secrets(directory, 8080)
        state = StackState("id", str(directory), "sqlite", {}, {}, {"AIRFLOW__API_AUTH__JWT_SECRET": "x"}, str(login))
        state.save()
    finally:
        os.umask(old_umask)
    assert _mode(directory) == 0o700
    for name in ("passwords.json", "jwt_secret", "login.json", "state.json"):
        assert _mode(directory / name) == 0o600, name
    password = json.loads((directory / "passwords.json").read_text())["admin"]
    assert json.loads(login.read_text())["password"] == password and len(password) >= 20
    assert len((directory / "jwt_secret").read_text()) == 96
    assert sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp")) == []
