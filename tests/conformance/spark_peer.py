"""A long-lived Spark + Hudi peer: Hudi's own Java code as the reference for the conformance suite.

Run as a script, it is the peer: one SparkSession (local[2], loopback only, UI off) with one Hudi
bundle on the class path, answering JSON lines read from stdin. Replies go to a dedicated file
descriptor (``TRIBUTARY_PEER_FD``) and never to stdout, so Spark's and the JVM's own output
(redirected to the peer's stderr, a log file) cannot corrupt the channel.

Imported, :class:`SparkPeer` is the client: it starts the peer and offers typed methods. A failed
operation raises :class:`PeerError` carrying the Java exception chain, so a test failure shows the
cause. One peer per Hudi version: a Python process holds one JVM.
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

FD_ENV = "TRIBUTARY_PEER_FD"
JAVA_OPENS = [
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
#: small-table settings for every write (a test's options override them); no timeline server,
#: so the peer listens on no port
WRITE_DEFAULTS = {
    "hoodie.embed.timeline.server": "false",
    "hoodie.upsert.shuffle.parallelism": "2",
    "hoodie.insert.shuffle.parallelism": "2",
    "hoodie.bulkinsert.shuffle.parallelism": "2",
    "hoodie.delete.shuffle.parallelism": "2",
}
START_TIMEOUT = 180.0
OP_TIMEOUT = 300.0


def java_options() -> str:
    """The Java 17 flags Hudi's own build uses to run Spark."""
    opens = [f"--add-opens=java.base/{p}=ALL-UNNAMED" for p in JAVA_OPENS]
    opens += ["--add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED", "-Djol.magicFieldOffset=true"]
    return " ".join(opens)


# ---------------------------------------------------------------------------------------------
# The client (imported by the tests)
# ---------------------------------------------------------------------------------------------


class PeerError(RuntimeError):
    """An operation failed in the peer; ``java`` holds the Java exception chain, if any."""

    def __init__(self, op: str, message: str, java: Sequence[str] = (), log_tail: str = "") -> None:
        self.op, self.message, self.java, self.log_tail = op, message, list(java), log_tail
        text = f"spark peer {op} failed: {message}"
        if self.java:
            text += "\nJava exception chain:\n  " + "\n  ".join(self.java)
        if log_tail:
            text += f"\nlast lines of the peer's log:\n{log_tail}"
        super().__init__(text)


class SparkPeer:
    """Client of one peer process (one JVM, one Hudi bundle)."""

    def __init__(self, hudi_version: str, bundle: str, workdir: Path) -> None:
        self.hudi_version, self.bundle, self.workdir = hudi_version, bundle, workdir
        self._proc: subprocess.Popen[bytes] | None = None
        self._reader: IO[bytes] | None = None
        self._log_path = workdir / "peer.log"
        self._results = 0
        self._log_mark = 0

    # lifecycle -------------------------------------------------------------------------------
    def start(self) -> SparkPeer:
        self.workdir.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        env = {**os.environ, FD_ENV: str(write_fd), "SPARK_LOCAL_IP": "127.0.0.1", "PYTHONUNBUFFERED": "1"}
        config = {"bundle": self.bundle, "hudi_version": self.hudi_version, "workdir": str(self.workdir)}
        with open(self._log_path, "wb") as log:
            self._proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), json.dumps(config)],
                stdin=subprocess.PIPE,
                stdout=log,
                stderr=log,
                pass_fds=(write_fd,),
                cwd=self.workdir,
                env=env,
            )
        os.close(write_fd)
        self._reader = os.fdopen(read_fd, "rb")
        ready = self._receive("start", START_TIMEOUT)
        if not ready.get("ok"):
            self._raise("start", ready)
        return self

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.poll() is None and proc.stdin is not None:
                proc.stdin.write(b'{"op": "stop"}\n')
                proc.stdin.flush()
                proc.stdin.close()
            proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        if self._reader is not None:
            self._reader.close()

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # operations ------------------------------------------------------------------------------
    def write(
        self,
        path: str | os.PathLike[str],
        data: str | os.PathLike[str],
        options: Mapping[str, str],
        mode: str = "append",
    ) -> None:
        """Write the rows of the parquet file/folder ``data`` with Hudi's datasource (save mode)."""
        self.call("write", path=str(path), data=str(data), options=dict(options), mode=mode)

    def read(
        self,
        path: str | os.PathLike[str],
        *,
        as_of: str | None = None,
        options: Mapping[str, str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> Any:
        """Snapshot read (time travel with ``as_of``) as a pyarrow Table."""
        opts = dict(options or {})
        if as_of is not None:
            opts["as.of.instant"] = as_of
        return self._read(path, opts, columns)

    def read_incremental(
        self,
        path: str | os.PathLike[str],
        begin: str,
        end: str | None = None,
        *,
        options: Mapping[str, str] | None = None,
        columns: Sequence[str] | None = None,
    ) -> Any:
        """Incremental query (begin exclusive, end inclusive) as a pyarrow Table."""
        opts = {
            "hoodie.datasource.query.type": "incremental",
            "hoodie.datasource.read.begin.instanttime": begin,
            **dict(options or {}),
        }
        if end is not None:
            opts["hoodie.datasource.read.end.instanttime"] = end
        return self._read(path, opts, columns)

    def sql(self, statement: str, *, limit: int = 10_000) -> list[dict[str, Any]]:
        """Run Spark SQL (DDL, queries, ``CALL`` procedures); rows as JSON-friendly dicts."""
        return list(self.call("sql", sql=statement, limit=limit)["rows"])

    def murmur(self, keys: Sequence[str], seed: int = -1) -> list[int]:
        """Hudi's MurmurHash (the bloom filter's) of each key's UTF-8 bytes."""
        return list(self.call("hash", kind="murmur", keys=list(keys), seed=seed)["values"])

    def bloom_contains(self, serialized: str, filter_type: str, keys: Sequence[str]) -> list[bool]:
        """Hudi's own reading of a serialized bloom filter: mightContain for each key."""
        reply = self.call("hash", kind="bloom_contains", filter=serialized, type=filter_type, keys=list(keys))
        return list(reply["values"])

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        if not self.alive or self._proc is None or self._proc.stdin is None:
            raise PeerError(op, "the peer is not running", log_tail=self.log_tail())
        self._log_mark = self._log_size()
        self._proc.stdin.write(json.dumps({"op": op, **args}).encode() + b"\n")
        self._proc.stdin.flush()
        reply = self._receive(op, OP_TIMEOUT)
        if not reply.get("ok"):
            self._raise(op, reply)
        return reply

    # plumbing --------------------------------------------------------------------------------
    def _read(self, path: str | os.PathLike[str], options: dict[str, str], columns: Sequence[str] | None) -> Any:
        import pyarrow.parquet as pq

        self._results += 1
        out = self.workdir / "results" / f"r{self._results:06d}"
        reply = self.call("read", path=str(path), options=options, columns=list(columns or []), out=str(out))
        table = pq.read_table(reply["out"])
        return table.select(list(columns)) if columns else table

    def _receive(self, op: str, timeout: float) -> dict[str, Any]:
        assert self._reader is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self._reader, selectors.EVENT_READ)
            deadline = time.monotonic() + timeout
            while not sel.select(timeout=1.0):
                if not self.alive:
                    raise PeerError(op, "the peer exited", log_tail=self.log_tail())
                if time.monotonic() > deadline:
                    raise PeerError(op, f"no reply within {timeout:.0f}s", log_tail=self.log_tail())
        line = self._reader.readline()
        if not line:
            raise PeerError(op, "the peer closed its channel", log_tail=self.log_tail())
        return dict(json.loads(line))

    def _raise(self, op: str, reply: Mapping[str, Any]) -> None:
        tail = self._log_errors() if op == "write" else ""  # the failed records Hudi logged
        raise PeerError(op, str(reply.get("error", "unknown error")), reply.get("java", ()), log_tail=tail)

    def _log_size(self) -> int:
        try:
            return self._log_path.stat().st_size
        except OSError:
            return 0

    def _log_errors(self, limit: int = 12) -> str:
        """Distinct error lines the peer logged during the last operation."""
        try:
            with open(self._log_path, "rb") as log:
                log.seek(self._log_mark)
                text = log.read().decode(errors="replace")
        except OSError:
            return ""
        found: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if ("Exception" in line or " ERROR " in line) and not line.startswith("at ") and line not in found:
                found.append(line[-400:])
        return "\n".join(found[:limit])

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------
# The peer (run as a script)
# ---------------------------------------------------------------------------------------------


def _session(config: Mapping[str, str]) -> Any:
    from pyspark.sql import SparkSession

    work = Path(config["workdir"])
    builder = (
        SparkSession.builder.master("local[2]")
        .appName(f"tributary-conformance-hudi-{config['hudi_version']}")
        .config("spark.jars", config["bundle"])
        .config("spark.driver.extraJavaOptions", java_options())
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
        .config("spark.kryo.registrator", "org.apache.spark.HoodieSparkKryoRegistrar")
        .config("spark.sql.extensions", "org.apache.spark.sql.hudi.HoodieSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.hudi.catalog.HoodieCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .config("spark.sql.warehouse.dir", str(work / "warehouse"))
        .config("spark.local.dir", str(work / "spark-local"))
        .config("spark.driver.memory", "1g")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # Hudi prints the failed records of a write (the cause of "Failed to write to Hudi") at TRACE
    jvm = spark.sparkContext._jvm
    level = jvm.org.apache.logging.log4j.Level.TRACE
    for logger in ("org.apache.hudi.HoodieSparkSqlWriterInternal", "org.apache.hudi.HoodieSparkSqlWriter"):
        jvm.org.apache.logging.log4j.core.config.Configurator.setLevel(logger, level)
    return spark


def _java_chain(exc: BaseException) -> list[str]:
    java = getattr(exc, "java_exception", None)
    chain: list[str] = []
    while java is not None and len(chain) < 12:
        chain.append(str(java.toString()))
        cause = java.getCause()
        java = None if cause is None or cause.equals(java) else cause
    return chain


def _json_value(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if hasattr(value, "asDict"):
        return _json_value(value.asDict(recursive=True))
    return str(value)


def _save_arrow(df: Any, out: str) -> str:
    """Collect ``df`` through Arrow (no Spark write job) into one parquet file."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from pyspark.sql.pandas.types import to_arrow_schema

    batches = df._collect_as_arrow()
    schema = batches[0].schema if batches else to_arrow_schema(df.schema)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_batches(batches, schema=schema), out)
    return out


class Peer:
    def __init__(self, spark: Any) -> None:
        self.spark = spark
        self.jvm = spark.sparkContext._jvm

    def write(self, req: Mapping[str, Any]) -> dict[str, Any]:
        df = self.spark.read.parquet(req["data"])
        options = {**WRITE_DEFAULTS, **req["options"]}
        df.write.format("hudi").options(**options).mode(req.get("mode", "append")).save(req["path"])
        return {}

    def read(self, req: Mapping[str, Any]) -> dict[str, Any]:
        df = self.spark.read.format("hudi").options(**req.get("options", {})).load(req["path"])
        if req.get("columns"):
            df = df.select(*req["columns"])
        return {"out": _save_arrow(df, req["out"])}

    def sql(self, req: Mapping[str, Any]) -> dict[str, Any]:
        df = self.spark.sql(req["sql"])
        rows = df.limit(int(req.get("limit", 10_000))).collect()
        return {"rows": [_json_value(r.asDict(recursive=True)) for r in rows], "columns": df.columns}

    def hash(self, req: Mapping[str, Any]) -> dict[str, Any]:
        if req["kind"] == "murmur":
            hasher = self.jvm.org.apache.hudi.common.util.hash.Hash.getInstance(
                self.jvm.org.apache.hudi.common.util.hash.Hash.MURMUR_HASH
            )
            values = []
            for key in req["keys"]:
                data = bytearray(key.encode())
                values.append(int(hasher.hash(data, len(data), int(req.get("seed", -1)))))
            return {"values": values}
        if req["kind"] == "bloom_contains":
            factory = self.jvm.org.apache.hudi.common.bloom.BloomFilterFactory
            bloom = factory.fromString(req["filter"], req["type"])
            return {"values": [bool(bloom.mightContain(k)) for k in req["keys"]]}
        raise ValueError(f"unknown hash kind {req['kind']!r} (murmur, bloom_contains)")


def _serve(config: Mapping[str, str], channel: IO[str]) -> None:
    def send(reply: Mapping[str, Any]) -> None:
        channel.write(json.dumps(reply) + "\n")
        channel.flush()

    try:
        spark = _session(config)
    except Exception as exc:
        send({"ok": False, "error": f"{type(exc).__name__}: {exc}", "java": _java_chain(exc)})
        return
    peer = Peer(spark)
    send({"ok": True, "spark": spark.version, "hudi": config["hudi_version"]})
    for line in sys.stdin:
        if not line.strip():
            continue
        req: dict[str, Any] = {}
        try:
            req = json.loads(line)
            if req["op"] == "stop":
                break
            handler = getattr(peer, req["op"], None) if req["op"] in {"write", "read", "sql", "hash"} else None
            if handler is None:
                raise ValueError(f"unknown op {req['op']!r}")
            send({"ok": True, **handler(req)})
        except Exception as exc:
            sys.stderr.write(traceback.format_exc())
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            send(
                {
                    "ok": False,
                    "op": req.get("op"),
                    "error": f"{type(exc).__name__}: {message}",
                    "java": _java_chain(exc),
                }
            )
    spark.stop()


def main() -> None:
    config = json.loads(sys.argv[1])
    channel = os.fdopen(int(os.environ[FD_ENV]), "w")
    os.dup2(2, 1)  # anything written to stdout (py4j, the JVM we launch) goes to the log instead
    sys.stdout = sys.stderr
    _serve(config, channel)
    channel.close()


if __name__ == "__main__":
    main()
