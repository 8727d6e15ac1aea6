"""Create, on the local stack's moto server, the AWS resources a config names — what Terraform or
CloudFormation would own in a real account:

- an S3 bucket for every ``s3://`` staging prefix, target and event-trigger bucket;
- an SQS queue for every flow's ``sqs_queue_url`` (the AssetWatcher path), and S3 notifications
  sending ``ObjectCreated`` events under each of that flow's tables' staging prefixes to it.

Idempotent: running it again changes nothing. Only ever pointed at the stack's moto endpoint.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from tributary.config.validation import ConfigSet
from tributary.events.matching import flow_tables

log = logging.getLogger(__name__)


@dataclass
class Provisioned:
    buckets: list[str] = field(default_factory=list)
    queues: list[str] = field(default_factory=list)
    notifications: dict[str, list[str]] = field(default_factory=dict)  # bucket -> prefixes


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key.rstrip("/")


def plan_resources(config: ConfigSet) -> tuple[set[str], dict[str, str], dict[str, list[tuple[str, str]]]]:
    """(buckets, queue name -> queue URL, bucket -> [(prefix, queue name)]) the config needs."""
    buckets: set[str] = set()
    for table in config.tables.values():
        for loc in (table.staging_prefix, table.target_uri):
            if loc.startswith("s3://"):
                buckets.add(_split_s3(loc)[0])
    queues: dict[str, str] = {}
    notify: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for flow in sorted(config.flows.values(), key=lambda f: f.flow_id):
        buckets.update(t.bucket for t in flow.event_triggers)
        if not (flow.enabled and flow.sqs_queue_url):
            continue
        name = flow.sqs_queue_url.rstrip("/").rsplit("/", 1)[1]
        queues[name] = flow.sqs_queue_url
        for table_id in flow_tables(config, flow):
            staging = config.tables[table_id].staging_prefix
            if staging.startswith("s3://"):
                bucket, prefix = _split_s3(staging)
                notify[bucket].append((f"{prefix}/", name))
    return buckets, queues, dict(notify)


def _targets(configs: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (c["QueueArn"], rule["Value"])
        for c in configs
        for rule in c.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        if rule["Name"].lower() == "prefix"
    }


def provision(config: ConfigSet, endpoint_url: str, region: str) -> Provisioned:
    """Create what :func:`plan_resources` lists on the moto server at ``endpoint_url``."""
    import boto3

    def client(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    buckets, queues, notify = plan_resources(config)
    s3, sqs = client("s3"), client("sqs")
    out = Provisioned()
    for bucket in sorted(buckets | set(notify)):
        s3.create_bucket(Bucket=bucket)  # moto (us-east-1) answers an existing bucket of ours with 200
        out.buckets.append(bucket)
    arns: dict[str, str] = {}
    for name in sorted(queues):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arns[name] = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        out.queues.append(name)
    for bucket, targets in sorted(notify.items()):
        configs = [
            {
                "Id": f"tributary-{i}",
                "QueueArn": arns[queue],
                "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
            }
            for i, (prefix, queue) in enumerate(sorted(targets))
        ]
        current = s3.get_bucket_notification_configuration(Bucket=bucket).get("QueueConfigurations", [])
        if _targets(current) != _targets(configs):  # S3 sends a test event on every change: only when needed
            s3.put_bucket_notification_configuration(
                Bucket=bucket, NotificationConfiguration={"QueueConfigurations": configs}
            )
        out.notifications[bucket] = [prefix for prefix, _ in sorted(targets)]
    log.info("provisioned on %s: %s", endpoint_url, out)
    return out
