"""The reconciliation sweep on a moto S3 bucket, and the Lambda zip importing on its own."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .cfg import write_config
from .test_invoker import FakeAirflow, s3_body, sqs_event


def test_sweep_registers_unannounced_files_and_triggers_their_flows(aws: str, migrated_db: str, tmp_path: Path) -> None:
    import boto3

    from tributary.config.service import apply_paths
    from tributary.events.invoker import handle
    from tributary.events.sweep import sweep

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="landing")
    apply_paths([write_config(tmp_path / "cfg", bucket="landing", tables=3, flows=3)])
    keys = [
        "dms/sales/t0/20261123-1.parquet",
        "dms/sales/t1/20261123-1.parquet",
        "dms/sales/t2/2026/11/23/20261123-2.parquet",
    ]
    for key in keys:
        s3.put_object(Bucket="landing", Key=key, Body=b"xxxxx")  # the size its event says
    fake = FakeAirflow()
    handle(sqs_event(s3_body(keys[0])), client_factory=lambda: fake)  # type: ignore[arg-type,return-value]
    # just landed: their events may still be on the way, so the sweep leaves them alone
    early = sweep(client=fake).as_dict()  # type: ignore[arg-type]
    assert early["registered"] == 0 and early["left_to_events"] == 2 and not early["flows"]
    report = sweep(client=fake, grace_seconds=0)  # type: ignore[arg-type]
    doc = report.as_dict()
    assert doc["listed"] == 3 and doc["registered"] == 2
    assert doc["tables_with_lost_events"] == ["sales.t1", "sales.t2"]
    swept = sorted(d for d, r in fake.runs if r.startswith("tributary_sweep"))
    assert swept == ["tributary__sales_flow1", "tributary__sales_flow2"]
    # a second sweep finds nothing new
    assert sweep(client=fake, grace_seconds=0).as_dict()["registered"] == 0  # type: ignore[arg-type]


@pytest.mark.slow
def test_lambda_zip_imports_without_the_project_environment(tmp_path: Path) -> None:
    from tributary.events.packaging import build_zip

    out = tmp_path / "invoker.zip"
    counts = build_zip(out)
    assert counts["distributions"] >= 5
    root = tmp_path / "lambda"
    with zipfile.ZipFile(out) as zf:
        names = zf.namelist()
        assert "tributary/events/invoker.py" in names and not any(n.startswith("tributary/cli/") for n in names)
        zf.extractall(root)
    # the runtime's own boto3/botocore: link them in from this environment, nothing else
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    import boto3
    import botocore
    import dateutil
    import jmespath
    import s3transfer
    import urllib3

    for mod in (boto3, botocore, dateutil, jmespath, s3transfer, urllib3):
        os.symlink(Path(mod.__file__).parent, runtime / Path(mod.__file__).parent.name)
    import six

    os.symlink(six.__file__, runtime / "six.py")
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]];"
        "from tributary.events.invoker import handle;"
        "from tributary.events.parsing import parse_event;"
        "import tributary.events.scheduled, tributary.events.sweep;"
        "assert 'airflow' not in sys.modules and 'pyarrow' not in sys.modules, sorted(m for m in sys.modules if m.split('.')[0] in ('airflow','pyarrow'));"
        "print('ok')"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-I", "-c", code, str(root), str(runtime)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "ok"
