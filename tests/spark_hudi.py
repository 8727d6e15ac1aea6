"""Spark + Hudi's own writer as a test reference, in a subprocess per Hudi version.

``run_spark(version, jobs, workdir)`` starts one local SparkSession on the Hudi bundle (Java 17
flags as Hudi's build uses them) and runs the jobs in order:

- ``{"op": "write", "input": parquet path, "path": table, "options": {...}, "mode": "overwrite"}``:
  ``spark.read.parquet(input)`` written with ``format("hudi")``; answers ``{"ok": true}`` or
  ``{"error": "..."}`` (Hudi refusing the data is an answer, not a failure);
- ``{"op": "read", "path": table, "columns": [...]}``: the snapshot rows Spark reads.

Used until the shared conformance harness (tests/conformance) is merged.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

_OPENS = [
    "java.lang",
    "java.lang.invoke",
    "java.lang.reflect",
    "java.io",
    "java.net",
    "java.nio",
    "java.util",
    "java.util.concurrent",
    "java.util.concurrent.atomic",
    "sun.nio.ch",
    "sun.nio.cs",
    "sun.security.action",
    "sun.util.calendar",
]
JAVA_OPTIONS = " ".join(
    [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in _OPENS]
    + ["--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED", "-Djol.magicFieldOffset=true"]
    + ["-Duser.timezone=UTC"]
)


def run_spark(version: str, jobs: list[dict[str, Any]], workdir: Path) -> list[dict[str, Any]]:
    """Run ``jobs`` in one Spark + Hudi ``version`` session (a subprocess); one answer per job."""
    from tests.hudi_java import bundle_jars

    jar = bundle_jars()[version]
    req, res = workdir / f"spark-jobs-{version}.json", workdir / f"spark-results-{version}.json"
    req.write_text(json.dumps(jobs))
    proc = subprocess.run(
        [sys.executable, __file__, jar, str(req), str(res)],
        capture_output=True,
        text=True,
        timeout=1200,
        env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable},
    )
    if proc.returncode != 0 or not res.exists():
        raise RuntimeError(f"Spark + Hudi {version} failed:\n{proc.stderr[-4000:]}")
    return list(json.loads(res.read_text()))


def _session(jar: str) -> Any:
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master("local[1]").config("spark.jars", jar)
    for key, value in {
        "spark.serializer": "org.apache.spark.serializer.KryoSerializer",
        "spark.sql.extensions": "org.apache.spark.sql.hudi.HoodieSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.hudi.catalog.HoodieCatalog",
        "spark.kryo.registrator": "org.apache.spark.HoodieSparkKryoRegistrar",
        "spark.driver.extraJavaOptions": JAVA_OPTIONS,
        "spark.ui.enabled": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.sql.shuffle.partitions": "1",
        "spark.sql.session.timeZone": "UTC",
    }.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _run(spark: Any, job: dict[str, Any]) -> dict[str, Any]:
    if job["op"] == "write":
        df = spark.read.parquet(job["input"])
        try:
            df.write.format("hudi").options(**job["options"]).mode(job.get("mode", "append")).save(job["path"])
        except Exception as exc:  # Hudi refusing the data is an answer
            causes = [line.strip() for line in str(exc).splitlines() if line.startswith("Caused by")]
            return {"error": (causes[-1] if causes else str(exc).splitlines()[0])[:2000]}
        return {"ok": True}
    if job["op"] == "read":
        df = spark.read.format("hudi").load(job["path"]).select(*job["columns"])
        return {"rows": [[None if v is None else str(v) for v in r] for r in df.collect()]}
    raise ValueError(f"unknown job {job['op']!r}")


def _main(jar: str, req_path: str, res_path: str) -> None:
    spark = _session(jar)
    try:
        jobs = json.loads(Path(req_path).read_text())
        Path(res_path).write_text(json.dumps([_run(spark, job) for job in jobs]))
    finally:
        spark.stop()


if __name__ == "__main__":
    _main(*sys.argv[1:4])
