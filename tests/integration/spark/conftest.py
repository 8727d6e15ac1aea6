"""One local SparkSession per test session (pyspark on Java 17, loopback only, no UI)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("pyspark is not installed in CI: add pyspark==3.5.4 to requirements.in and re-lock")
        pytest.skip("pyspark is not installed: uv pip install --python .venv/bin/python pyspark==3.5.4")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("no Java runtime for local Spark (install a JDK 17)")


@pytest.fixture(scope="package")  # the JVM stops when the Spark tests are done
def spark() -> Iterator[Any]:
    _require_pyspark()
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("tributary-parity")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    # py4j logs from __del__ at interpreter exit, after pytest closed its streams
    import logging

    logging.getLogger("py4j").setLevel(logging.WARNING)
