"""The Amazon provider's hooks under the flow's AWS connection (``settings.aws_conn_id``).

Airflow-side code reaches AWS through these, so a task acts under one identity, the
connection's, and never under whatever ambient credentials a bare ``boto3.client`` would find.
(Code that runs without Airflow, the Lambda handlers and the Spark job, uses boto3 with its
runtime's role.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook


def glue_hook() -> GlueJobHook:
    from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

    from tributary.settings import get_settings

    settings = get_settings()
    return GlueJobHook(aws_conn_id=settings.aws_conn_id, region_name=settings.aws_region)


def s3_hook() -> S3Hook:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from tributary.settings import get_settings

    settings = get_settings()
    return S3Hook(aws_conn_id=settings.aws_conn_id, region_name=settings.aws_region)
