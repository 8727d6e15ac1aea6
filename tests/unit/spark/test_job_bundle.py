"""The Spark job as shipped to Glue: the modules zip alone (no site-packages, no other part of
the package) must import the job, or every Glue run fails before it starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_shipped_modules_zip_imports_the_job_on_its_own(tmp_path: Path) -> None:
    from tributary.templates.glue import job_bundle

    bundle = job_bundle()
    modules = tmp_path / "tributary_spark.zip"
    modules.write_bytes(bundle.modules_zip)
    code = (
        f"import sys; sys.path.insert(0, {str(modules)!r})\n"
        "import tributary.spark.job as job\n"
        "assert job.__file__.startswith(sys.path[0]), job.__file__\n"
        "assert job.ResultStatus.COMPLETED == 'completed'\n"
    )
    # -S: no site-packages (no SQLAlchemy, pyspark or the installed package), -E: no PYTHONPATH
    done = subprocess.run([sys.executable, "-S", "-E", "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
