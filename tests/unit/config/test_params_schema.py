"""Params schemas reach no network, recurse nowhere and match patterns in linear time."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import run_cli


@pytest.fixture
def loopback_server() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on loopback that records every request (it must see none)."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b'{"type": "string"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def _config(tmp_path: Path, schema: str, params: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(
        "templates:\n"
        "  - template_id: t\n"
        "    kind: python\n"
        "    entry_point: tributary.templates:echo_params\n"
        f"    params_schema: {schema}\n"
        "flows:\n"
        f"  - {{flow_id: f, manual: true, tasks: [{{task_id: a, template_id: t, params: {params}}}]}}\n"
    )
    return path


def test_a_remote_ref_is_refused_without_a_request(tmp_path: Path, loopback_server: tuple[str, list[str]]) -> None:
    url, seen = loopback_server
    config = _config(tmp_path, f'{{"type": object, "properties": {{"a": {{"$ref": "{url}/s.json"}}}}}}', "{a: 1}")
    code, _, err = run_cli("config", "validate", str(config))
    assert code == 2
    assert f"{config}:5: templates row 't' field 'params_schema': $ref '{url}/s.json'" in err
    assert "is not a local reference" in err
    assert seen == []


@pytest.mark.timeout(60)
def test_a_backtracking_pattern_is_matched_in_linear_time(tmp_path: Path) -> None:
    config = _config(
        tmp_path, '{"type": object, "properties": {"a": {"type": string, "pattern": "^(a+)+$"}}}', f"{{a: {'a' * 40}!}}"
    )
    started = time.monotonic()
    code, _, err = run_cli("config", "validate", str(config))
    assert code == 2
    assert "field 'tasks[0].params.a': does not match template 't'" in err
    assert time.monotonic() - started < 30  # Python's re would take hours on 40 a's and a '!'

    from tributary.errors import TaskConfigError
    from tributary.templates.runtime import check_params

    with pytest.raises(TaskConfigError, match="does not match"):  # the run-time check too
        check_params({"a": "a" * 5000 + "!"}, {"properties": {"a": {"pattern": "^(a+)+$"}}}, "flow f task a")


def test_local_refs_still_work(tmp_path: Path) -> None:
    schema = '{"type": object, "properties": {"a": {"$ref": "#/$defs/small"}}, "$defs": {"small": {"maximum": 3}}}'
    code, _, err = run_cli("config", "validate", str(_config(tmp_path, schema, "{a: 4}")))
    assert code == 2 and "field 'tasks[0].params.a': does not match template 't': 4 is greater than" in err
    code, _, err = run_cli("config", "validate", str(_config(tmp_path, schema, "{a: 2}")))
    assert code == 0, err


def test_a_recursive_schema_written_into_the_db_disables_its_rows_only(tmp_path: Path, migrated_db: str) -> None:
    from tributary.config.service import apply_paths
    from tributary.metadata import db

    apply_paths([_config(tmp_path, "{type: object}", "{a: 1}")])
    with db.get_engine(migrated_db).begin() as conn:
        conn.execute(text("""UPDATE templates SET params_schema = '{"$ref": "#"}' WHERE template_id = 't'"""))
    for command in (("flows", "list"), ("config", "snapshot"), ("config", "export")):
        code, out, err = run_cli(*command)
        assert code == 0, err
        assert "RecursionError" not in out + err
    from tributary.config.service import load_db_config

    reason = load_db_config().disabled("flows")["f"]  # what `flows list` shows for the flow
    assert "template 't' is invalid" in reason and "not a local reference" in reason
