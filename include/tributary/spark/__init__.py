"""The distributed engine: the ``cdc_to_hudi`` template as a PySpark job (AWS Glue, EMR, any
Spark with the Hudi bundle).

``options`` and ``semantics`` are imported by the job on the cluster: they depend on nothing
but the standard library and (lazily) pyspark. ``dispatch`` is the Airflow side (leases, file
bookkeeping, results) and is never shipped to the cluster.
"""

from __future__ import annotations
