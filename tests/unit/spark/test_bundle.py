"""The Glue job's zip is self-contained: the job imports from it with the standard library alone
(no site-packages, so no Airflow, pyarrow, pydantic or pyspark), and it ships the one exception
tree and the shared enums."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from io import BytesIO
from pathlib import Path

CODE = """
import sys
sys.path.insert(0, sys.argv[1])
import tributary.errors, tributary.modes, tributary.spark.job
from tributary.errors import BatchError, LeaseLostError, TableChangedError, TributaryError
from tributary.modes import WriteOperationType
assert tributary.spark.job.__file__.startswith(sys.argv[1]), tributary.spark.job.__file__
assert issubclass(BatchError, TributaryError) and issubclass(LeaseLostError, TributaryError)
assert issubclass(TableChangedError, TributaryError)
try:
    tributary.spark.job.load_batch("[]")
except BatchError as exc:
    print("refused:", exc)
print(WriteOperationType("upsert").option)
"""


def _run_from_zip(tmp_path: Path, modules_zip: bytes) -> subprocess.CompletedProcess[str]:
    archive = tmp_path / "tributary_spark.zip"
    archive.write_bytes(modules_zip)
    # -I: isolated (no PYTHONPATH, no user site), -S: no site-packages at all
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", CODE, str(archive)], capture_output=True, text=True, cwd=tmp_path
    )


def test_the_job_runs_from_its_zip_with_the_standard_library_alone(tmp_path: Path) -> None:
    from tributary.templates.glue import job_bundle

    bundle = job_bundle()
    names = set(zipfile.ZipFile(BytesIO(bundle.modules_zip)).namelist())
    assert {"tributary/errors.py", "tributary/modes.py", "tributary/spark/job.py"} <= names
    done = _run_from_zip(tmp_path, bundle.modules_zip)
    assert done.returncode == 0, done.stderr
    assert "refused: --tributary-batch must be a JSON object with version 1" in done.stdout
    assert done.stdout.strip().endswith("upsert")


def test_a_module_missing_from_the_zip_is_caught(tmp_path: Path) -> None:
    """The check above can fail: the same zip without modes.py does not import."""
    from tributary.templates.glue import job_bundle

    source = zipfile.ZipFile(BytesIO(job_bundle().modules_zip))
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            if info.filename != "tributary/modes.py":
                out.writestr(info, source.read(info))
    done = _run_from_zip(tmp_path, buffer.getvalue())
    assert done.returncode != 0 and "tributary.modes" in done.stderr
