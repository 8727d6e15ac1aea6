"""The ``tributary`` command's start-up: a no-op ``cdc apply`` answers before the engine loads,
and ``--help`` still lists every command. Which modules load is asserted, never a time (the
time is measured by ``tributary bench peers``, its no-op step)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tributary.bench.peers_workload import write_files
from tributary.cli.main import COMMANDS, main

ENGINE = (
    "tributary.cdc.merge",
    "tributary.cdc.ordering",
    "tributary.cdc.reader",
    "tributary.cdc.stored",
    "tributary.hudi.writer",
    "tributary.hudi.maintenance",
    "tributary.hudi.archive",
    "tributary.hudi.file_index",
    "pyarrow.compute",
    "pyarrow.dataset",
)
"""What a write needs and a run with nothing to apply does not."""
LIBRARIES = ("pyarrow", "numpy", "pydantic")
"""Not needed to decide that nothing is new: the listing, the timeline's JSON and the ledger's
JSON answer it (pydantic came with typer 0.29's value coercion, hence the pin below 0.29)."""
OTHER_COMMANDS = ("rich", "croniter", "sqlalchemy", "tributary.config.models", "tributary.cli.processing_cmd")


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "tributary.cli.main", *args], capture_output=True, text=True, env=env)


def test_a_noop_cdc_apply_answers_before_loading_the_engine(tmp_path: Path) -> None:
    write_files(300, tmp_path / "src")
    args = ["cdc", "apply", "--source", str(tmp_path / "src"), "--target", str(tmp_path / "t")]
    args += ["--record-key", "id", "--precombine", "dms_ts"]
    assert main(args) == 0  # applies the five files
    probe = (
        "import json, sys; from tributary.cli.main import main; code = main(sys.argv[1:]); "
        "print(json.dumps({'code': code, 'modules': sorted(sys.modules)}))"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, check=True)
    summary, last = done.stdout.strip().splitlines()[-2:]
    assert summary == "t: files=0 inserted=0 updated=0 deleted=0 instant=-"
    figures = json.loads(last)
    assert figures["code"] == 0
    loaded = set(figures["modules"])
    assert "tributary.cdc.apply" in loaded and "tributary.cdc.ledger" in loaded  # the real path ran
    assert sorted(loaded & {*ENGINE, *LIBRARIES, *OTHER_COMMANDS}) == []


def test_help_lists_every_command_and_every_benchmark() -> None:
    done = _cli("--help")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[1] for line in done.stdout.splitlines() if line.startswith("│ ") and len(line.split()) > 2]
    assert [name for name in listed if name in COMMANDS] == list(COMMANDS)
    bench = _cli("bench", "--help")
    for name in ("engine", "peers", "parse", "chaos", "processor", "events", "ops"):
        assert f"│ {name} " in bench.stdout, name
    assert _cli("nope").returncode == 2
