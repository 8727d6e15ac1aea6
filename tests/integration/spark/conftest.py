"""One local SparkSession per test package with Hudi 0.15.0's Spark bundle (pyspark 3.5 on Java 17,
loopback only, no UI)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def _require_pyspark() -> None:
    """pyspark is in the lock and Java is what scripts/hudi-bundles.sh checks: never a skip."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.fail("pyspark is not installed: run scripts/setup.sh (pyspark==3.5.4 is in the lock)")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.fail("no Java runtime for local Spark: install a JDK 17 (apt-get install openjdk-17-jdk-headless)")


@pytest.fixture(scope="package")  # the JVM stops when the Spark tests are done
def spark() -> Iterator[Any]:
    _require_pyspark()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    from tests.integration.spark.hudi_runtime import LOCAL_CONF, hudi_bundle
    from tributary.spark.options import SPARK_CONF

    # Hudi 0.15.0 (Glue 5.0) in this process; other versions run in their own (hudi_runtime.run_job)
    builder = SparkSession.builder.appName("tributary-parity").config("spark.jars", str(hudi_bundle("0.15.0")))
    for key, value in {**SPARK_CONF, **LOCAL_CONF}.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    # py4j logs from __del__ at interpreter exit, after pytest closed its streams
    import logging

    logging.getLogger("py4j").setLevel(logging.WARNING)
