"""Config for event tests: N DMS tables under one S3 bucket, an event-triggered flow per group."""

from __future__ import annotations

from pathlib import Path

import yaml

TEMPLATES = [
    {
        "template_id": "cdc_to_hudi",
        "kind": "cdc_to_hudi",
        "params_schema": {
            "type": "object",
            "required": ["cadence"],
            "properties": {"cadence": {"type": "string"}, "max_files_per_table": {"type": "integer"}},
        },
    }
]


def write_config(
    folder: Path,
    *,
    bucket: str,
    tables: int = 2,
    lake_bucket: str | None = None,
    flows: int = 1,
    sqs_queue_url: str | None = None,
    schema: str = "sales",
) -> Path:
    """Tables ``<schema>.t<i>`` staged at s3://bucket/dms/<schema>/t<i>; flow k covers cadence c<k>
    and is triggered by objects under ``dms/<schema>/`` (flow 0) — other flows by their own tables."""
    folder.mkdir(parents=True, exist_ok=True)
    lake = lake_bucket or bucket
    cadences = [{"cadence_id": f"c{k}", "schedule": "0 0 * * *", "batch_size": 50} for k in range(flows)]
    raw_tables = [
        {
            "source_schema": schema,
            "source_table": f"t{i}",
            "staging_prefix": f"s3://{bucket}/dms/{schema}/t{i}",
            "target_uri": f"s3://{lake}/lake/{schema}/t{i}",
            "database_name": f"raw_{schema}",
            "table_name": f"t{i}",
            "record_key_fields": ["id"],
            "precombine_field": "ts",
            "refresh_cadence": f"c{i % flows}",
        }
        for i in range(tables)
    ]
    flow_rows = []
    for k in range(flows):
        flow: dict = {
            "flow_id": f"{schema}_flow{k}",
            "tasks": [{"task_id": "apply_cdc", "template_id": "cdc_to_hudi", "params": {"cadence": f"c{k}"}}],
            "max_active_runs": 1,
            "retries": 0,
        }
        if sqs_queue_url and k == 0:
            flow["sqs_queue_url"] = sqs_queue_url
        else:
            prefixes = [f"dms/{schema}/"] if flows == 1 else [f"dms/{schema}/t{i}/" for i in range(k, tables, flows)]
            flow["event_triggers"] = [{"bucket": bucket, "prefix": p} for p in prefixes]
        flow_rows.append(flow)
    doc = {"templates": TEMPLATES, "refresh_cadences": cadences, "raw_tables": raw_tables, "flows": flow_rows}
    path = folder / f"{schema}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
