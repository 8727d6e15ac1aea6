"""The Glue job run as Glue runs it, on Hudi's own Spark bundles.

The bundles come from the conformance harness (``TRIBUTARY_HUDI_BUNDLES``, else
``scripts/hudi-bundles.sh``; a missing bundle, Java or Maven fails the test with the script's
message: these tests never skip). Spark reads go through the harness's Spark peer.

:func:`run_job` runs ``tributary/spark/job.py``'s entry point in its own process per call (one
JVM per Hudi version, as Glue 5.0 runs Hudi 0.15.0 and Glue 5.1 Hudi 1.0.2): ``spark-submit``
with the bundle, the job's ``--conf`` settings as the Glue task passes them, the module zip the
Glue task uploads as ``--extra-py-files``, and the job's real arguments. The job's Python runs
without site-packages (``python -S``), so it imports Tributary from the shipped zip only, as on
Glue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from tests.conformance.conftest import hudi_bundles
from tests.conformance.spark_peer import SparkPeer, java_options

#: Hudi version → the table version it writes (and the Glue version that ships it)
HUDI_VERSIONS = {"0.15.0": 6, "1.0.2": 8}
GLUE_VERSIONS = {"0.15.0": "5.0", "1.0.2": "5.1"}
#: a small local Spark on loopback (the test machine has two cores)
LOCAL_CONF = {
    "spark.master": "local[2]",
    "spark.driver.extraJavaOptions": java_options(),
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.sql.session.timeZone": "UTC",
}


def hudi_bundle(version: str) -> Path:
    """The hudi-spark3.5-bundle jar of ``version`` (fails the test when it is missing)."""
    return Path(hudi_bundles()[version])


@dataclass(frozen=True)
class HudiRuntime:
    """One Hudi version: its bundle and the table version it writes."""

    version: str
    jar: Path

    @property
    def table_version(self) -> int:
        return HUDI_VERSIONS[self.version]

    @property
    def glue_version(self) -> str:
        return GLUE_VERSIONS[self.version]


def _spark_submit(runtime: HudiRuntime, conf: dict[str, str], py_files: list[Path], script: Path) -> list[str]:
    cmd = [str(Path(sys.executable).parent / "spark-submit"), "--jars", str(runtime.jar)]
    for key, value in {**conf, **LOCAL_CONF}.items():
        cmd += ["--conf", f"{key}={value}"]
    if py_files:
        cmd += ["--py-files", ",".join(str(p) for p in py_files)]
    return [*cmd, str(script)]


def _isolated_python(workdir: Path) -> Path:
    """A Python without site-packages: only what spark-submit puts on the path (pyspark, the zip)."""
    wrapper = workdir / "python-isolated"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    wrapper.chmod(0o755)
    return wrapper


def _run(cmd: list[str], workdir: Path, python: Path | None, timeout: int) -> subprocess.CompletedProcess[str]:
    import pyspark

    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": str(python or sys.executable)}
    env["SPARK_HOME"] = str(Path(pyspark.__file__).parent)  # the pip-installed Spark 3.5.4
    env["PYSPARK_DRIVER_PYTHON"] = env["PYSPARK_PYTHON"]
    env.pop("PYTHONPATH", None)
    log = workdir / "spark.log"
    with log.open("w") as out:
        done = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout, check=False, env=env, cwd=workdir
        )
    return subprocess.CompletedProcess(cmd, done.returncode, log.read_text(), "")


def run_job(runtime: HudiRuntime, batch: dict[str, Any], workdir: Path, *, timeout: int = 600) -> tuple[int, str]:
    """Run the Glue job on ``batch`` with the real bundle; (exit code, the job's log).

    The job writes one result per table under ``workdir/results``.
    """
    from tributary.spark.job import BATCH_ARG, RESULT_ARG, SYNC_ARG
    from tributary.spark.options import SPARK_CONF
    from tributary.templates.glue import job_bundle

    workdir.mkdir(parents=True, exist_ok=True)
    bundle = job_bundle()
    script, modules = workdir / "job.py", workdir / "tributary_spark.zip"
    script.write_bytes(bundle.script)
    modules.write_bytes(bundle.modules_zip)
    cmd = _spark_submit(runtime, dict(SPARK_CONF), [modules], script)
    cmd += ["--JOB_NAME", "tributary-test", BATCH_ARG, json.dumps(batch), RESULT_ARG, str(workdir / "results")]
    cmd += [SYNC_ARG, "false"]
    done = _run(cmd, workdir, _isolated_python(workdir), timeout)
    return done.returncode, done.stdout


def job_results(workdir: Path) -> dict[str, dict[str, Any]]:
    from tributary.spark.job import result_key

    out: dict[str, dict[str, Any]] = {}
    for path in sorted((workdir / "results").glob("*.json")):
        data = json.loads(path.read_text())
        assert path.name == result_key(data["table_id"])
        out[data["table_id"]] = data
    return out


def spark_read(runtime: HudiRuntime, tables: dict[str, str], workdir: Path) -> dict[str, pa.Table]:
    """Spark's snapshot read of each table (name → URI) by the harness's peer of ``runtime``'s Hudi."""
    peer = SparkPeer(runtime.version, str(runtime.jar), workdir).start()
    try:
        return {name: peer.read(uri) for name, uri in tables.items()}
    finally:
        peer.stop()
