"""Hudi's own Java classes as a test reference, in a subprocess per Hudi version.

The subprocess starts a JVM on the Hudi Spark bundle (a py4j gateway, no SparkContext) and
answers a list of requests with what Hudi's code computes:

- ``{"op": "murmur", "keys": [...], "rounds": n}``: the chained hashes ``h_j = hash(key, h_{j-1})``
  of ``org.apache.hudi.common.util.hash.MurmurHash`` (what Hudi's bloom filter uses);
- ``{"op": "bloom", "keys": [...], "num_entries": .., "fpp": .., "max_entries": ..}``: the
  ``serializeToString()`` of a DYNAMIC_V0 filter from ``BloomFilterFactory`` with the keys added;
- ``{"op": "double_text" | "float_text", "values": [...]}``: ``Double.toString`` /
  ``Float.toString`` (of the float nearest each value);
- ``{"op": "escape_path", "values": [...]}``: ``PartitionPathEncodeUtils.escapePathName``;
- ``{"op": "joda_format", "values": [epoch ms], "pattern": .., "zone": ..}``: Joda's
  ``new DateTime(ms, zone).toString(pattern)``, the formatting of TimestampBasedKeyGenerator.

Bundle jars come from ``TRIBUTARY_HUDI_BUNDLES`` ("0.15.0=/jar;1.0.2=/jar;", set by the test
command) or from ``scripts/hudi-bundles.sh``. A missing Java or bundle is an error, never a skip.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
HUDI_VERSIONS = ("0.15.0", "1.0.2")


def bundle_jars() -> dict[str, str]:
    """Hudi version -> bundle jar path."""
    spec = os.environ.get("TRIBUTARY_HUDI_BUNDLES", "")
    if not spec:
        out = subprocess.run(
            [str(REPO_ROOT / "scripts" / "hudi-bundles.sh")], check=True, capture_output=True, text=True
        ).stdout
        spec = ";".join("=".join(line.split(" ", 1)) for line in out.splitlines() if line.strip())
    jars = dict(item.split("=", 1) for item in spec.split(";") if "=" in item)
    missing = [v for v in HUDI_VERSIONS if not Path(jars.get(v, "")).is_file()]
    if missing:
        raise RuntimeError(f"Hudi bundle jar(s) for {missing} not found (run scripts/hudi-bundles.sh)")
    return jars


def run_java(version: str, requests: list[dict[str, Any]]) -> list[Any]:
    """Answer ``requests`` with Hudi ``version``'s Java classes (one JVM, in a subprocess)."""
    jar = bundle_jars()[version]
    with tempfile.TemporaryDirectory(prefix="hudi-java-") as tmp:
        req, res = Path(tmp) / "req.json", Path(tmp) / "res.json"
        req.write_text(json.dumps(requests))
        proc = subprocess.run(
            [sys.executable, __file__, jar, str(req), str(res)],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "SPARK_LOCAL_IP": "127.0.0.1"},
        )
        if proc.returncode != 0:
            raise RuntimeError(f"Hudi {version} Java reference failed:\n{proc.stderr[-3000:]}")
        return list(json.loads(res.read_text()))


def _answer(jvm: Any, request: dict[str, Any]) -> Any:
    op = request["op"]
    if op == "murmur":
        murmur = jvm.org.apache.hudi.common.util.hash.MurmurHash.getInstance()
        chains = []
        for key in request["keys"]:
            data, h, chain = bytearray(key.encode()), 0, []
            for _ in range(request.get("rounds", 1)):
                h = murmur.hash(data, h)
                chain.append(h)
            chains.append(chain)
        return chains
    if op == "bloom":
        bf = jvm.org.apache.hudi.common.bloom.BloomFilterFactory.createBloomFilter(
            request["num_entries"], float(request["fpp"]), request["max_entries"], "DYNAMIC_V0"
        )
        for key in request["keys"]:
            bf.add(key)
        return bf.serializeToString()
    if op == "double_text":
        return [jvm.java.lang.Double.toString(float(v)) for v in request["values"]]
    if op == "float_text":
        return [jvm.java.lang.Float.toString(jvm.java.lang.Float.parseFloat(repr(float(v)))) for v in request["values"]]
    if op == "escape_path":
        encode = jvm.org.apache.hudi.common.util.PartitionPathEncodeUtils.escapePathName
        return [encode(v) for v in request["values"]]
    if op == "joda_format":
        zone = jvm.org.joda.time.DateTimeZone.forID(request["zone"])
        return [jvm.org.joda.time.DateTime(ms, zone).toString(request["pattern"]) for ms in request["values"]]
    raise ValueError(f"unknown request {op!r}")


def _main(jar: str, req_path: str, res_path: str) -> None:
    from pyspark import SparkConf
    from pyspark.java_gateway import launch_gateway

    gateway = launch_gateway(SparkConf().set("spark.driver.extraClassPath", jar))
    try:
        requests = json.loads(Path(req_path).read_text())
        Path(res_path).write_text(json.dumps([_answer(gateway.jvm, r) for r in requests]))
    finally:
        gateway.shutdown()


if __name__ == "__main__":
    _main(*sys.argv[1:4])
