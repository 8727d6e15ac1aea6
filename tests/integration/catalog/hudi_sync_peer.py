"""Run as a script in its own JVM: write a small Hudi table with Hudi's Spark writer and its own
hive sync (Tributary's Spark options, mode hms) into an embedded Hive metastore, then dump the
metastore's raw table and partitions as JSON.

    python hudi_sync_peer.py BUNDLE_JAR BASE_PATH WAREHOUSE OUT_JSON
"""

from __future__ import annotations

import json
import os
import sys

OPENS = (
    "java.lang java.lang.invoke java.lang.reflect java.io java.net java.nio java.util java.util.concurrent "
    "java.util.concurrent.atomic sun.nio.ch sun.nio.cs sun.security.action sun.util.calendar"
)


def main(jar: str, base: str, warehouse: str, out: str) -> None:
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    from pyspark.sql import SparkSession

    from tributary.config.table_options import RawTableOptions
    from tributary.spark.options import SPARK_CONF, hudi_options

    flags = " ".join(f"--add-opens=java.base/{x}=ALL-UNNAMED" for x in OPENS.split())
    flags += " --add-opens=java.security.jgss/sun.security.krb5=ALL-UNNAMED -Djol.magicFieldOffset=true"
    flags += f" -Dderby.stream.error.file={warehouse}/derby.log"  # not into the working directory
    metastore = f"jdbc:derby:;databaseName={warehouse}/metastore_db;create=true"
    builder = SparkSession.builder.master("local[2]").config("spark.jars", jar)
    for key, value in SPARK_CONF.items():
        builder = builder.config(key, value)
    spark = (
        builder.config("spark.sql.warehouse.dir", warehouse)
        .config("spark.hadoop.javax.jdo.option.ConnectionURL", metastore)
        .config("spark.driver.extraJavaOptions", flags)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .enableHiveSupport()
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    table = {
        "table_name": "orders",
        "database_name": "raw_probe",
        "record_key_fields": ["id"],
        "precombine_field": "ts",
        "partition_fields": ["region"],
        "table_version": 6,
        "options": RawTableOptions().model_dump(mode="json"),  # the typed options a RawTable dump carries
    }
    opts = {**hudi_options(table, "upsert"), "hoodie.metadata.enable": "false"}
    spark.sql("CREATE DATABASE IF NOT EXISTS raw_probe")
    columns = (
        "cast(id as bigint) id, cast(1 as bigint) ts, id * 1.5d amount, region, "
        "timestamp'2026-11-01 08:00:00' picked_up, cast(id + 0.25 as decimal(10,2)) fare, cast(id as int) n"
    )
    first = spark.sql(f"select {columns} from values (1, 'eu'), (2, 'us') as v(id, region)")
    first.write.format("hudi").options(**opts).mode("overwrite").save(base)
    # a second commit: a new partition and a new (nullable) column
    second = spark.sql(f"select {columns}, if(id > 0, 'x', null) note from values (3, 'apac') as v(id, region)")
    second.write.format("hudi").options(**opts).mode("append").save(base)

    client = spark._jsparkSession.sharedState().externalCatalog().unwrapped().client()
    raw = client.getRawHiveTable("raw_probe", "orders").rawTable().getTTable()
    sd = raw.getSd()
    doc = {
        "TableType": raw.getTableType(),
        "Parameters": dict(raw.getParameters()),
        "Columns": [[c.getName(), c.getType(), c.getComment()] for c in sd.getCols()],
        "PartitionKeys": [[c.getName(), c.getType(), c.getComment()] for c in raw.getPartitionKeys()],
        "Location": sd.getLocation(),
        "InputFormat": sd.getInputFormat(),
        "OutputFormat": sd.getOutputFormat(),
        "SerializationLibrary": sd.getSerdeInfo().getSerializationLib(),
        "SerdeParameters": dict(sd.getSerdeInfo().getParameters()),
        "Partitions": sorted(r[0] for r in spark.sql("show partitions raw_probe.orders").collect()),
    }
    with open(out, "w") as f:
        json.dump(doc, f)
    spark.stop()


if __name__ == "__main__":
    main(*sys.argv[1:5])
