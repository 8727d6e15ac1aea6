"""The MWAA variant of the invoker (``mwaa:InvokeRestApi``) end to end on the local stack.

STAND-IN: MWAA's front door is :mod:`tests.e2e.mwaa_standin` (moto has no MWAA). Real: botocore's
MWAA client (serialisation, SigV4, error parsing), HTTP on loopback, the stack's Airflow api-server
behind the stand-in, the invoker handler, the DAG run and the Hudi table read back by hudi-rs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tributary.errors import AirflowApiError, AirflowAuthError, AirflowUnavailableError
from tributary.events.airflow_api import Credentials
from tributary.settings import get_settings

from . import helpers
from .conftest import E2E
from .mwaa_standin import MwaaStandIn
from .test_events_e2e import hudi_rows, invoke

pytestmark = pytest.mark.slow

ENVIRONMENT = "e2e-mwaa"
DAG = "tributary__mwaa_flow"


@pytest.fixture
def mwaa(stack_env: E2E, monkeypatch: pytest.MonkeyPatch) -> Iterator[MwaaStandIn]:
    """The stand-in in front of the stack's Airflow; the invoker is configured for MWAA only (no
    Airflow URL or login in its environment: IAM signs the calls)."""
    login = Credentials(stack_env.login["username"], stack_env.login["password"])
    with MwaaStandIn(ENVIRONMENT, stack_env.login["url"], login) as standin:
        for key in ("TRIBUTARY_AIRFLOW_API_URL", "TRIBUTARY_AIRFLOW_USERNAME", "TRIBUTARY_AIRFLOW_PASSWORD"):
            monkeypatch.delenv(key, raising=False)
        monkeypatch.setenv("TRIBUTARY_MWAA_ENVIRONMENT", ENVIRONMENT)
        monkeypatch.setenv("TRIBUTARY_MWAA_ENDPOINT_URL", standin.url)
        get_settings.cache_clear()
        yield standin
    get_settings.cache_clear()


def mwaa_client(standin: MwaaStandIn, *, environment: str = ENVIRONMENT, secret: str = "testing", attempts: int = 3):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    from tributary.events.mwaa import MwaaClient

    boto = boto3.client(
        "mwaa",
        region_name="us-east-1",
        endpoint_url=standin.url,
        aws_access_key_id="testing",
        aws_secret_access_key=secret,
        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}),
    )
    return MwaaClient(environment, boto, max_attempts=attempts, sleep=lambda _s: None)


def test_invoker_on_mwaa_triggers_the_run_and_builds_the_table(stack_env: E2E, mwaa: MwaaStandIn, airflow) -> None:  # type: ignore[no-untyped-def]
    from tributary.events.invoker import default_client
    from tributary.events.mwaa import MwaaClient

    assert isinstance(default_client(), MwaaClient)
    helpers.boto("s3").put_object(
        Bucket="e2e-landing",
        Key="dms/mwaa/t0/20261124-0100000000.parquet",
        Body=helpers.cdc_parquet(
            [("I", 1, "2026-11-24 01:00:00.000000", "m1"), ("I", 2, "2026-11-24 01:00:00.000000", "m2")]
        ),
    )
    answers = helpers.pump(*stack_env.invoker_queue, invoke)
    assert answers and all(a["batchItemFailures"] == [] for a in answers)
    flows = [f for a in answers for f in a["tributary"]["flows"] if f["dag_id"] == DAG]
    assert [f["outcome"] for f in flows] == ["triggered"], flows
    triggers = [c for c in mwaa.calls if c["Method"] == "POST" and c["Path"] == f"/dags/{DAG}/dagRuns"]
    assert len(triggers) == 1 and triggers[0]["Body"]["dag_run_id"] == flows[0]["dag_run_id"]
    done = helpers.wait_for(lambda: helpers.all_runs_finished(airflow, DAG), 120, "the MWAA-triggered run")
    assert [(r["dag_run_id"], r["state"]) for r in done] == [(flows[0]["dag_run_id"], "success")]
    assert [(r["id"], r["v"]) for r in hudi_rows("s3://e2e-lake/raw/mwaa/t0")] == [(1, "m1"), (2, "m2")]
    # the same run id again: Airflow's 409 arrives as RestApiClientException and means "exists"
    again = MwaaClient.from_settings().trigger_dag_run(DAG, flows[0]["dag_run_id"], {})
    assert again.created is False
    assert len(helpers.runs(airflow, DAG)) == 1


def test_mwaa_answers_map_to_the_clients_errors(mwaa: MwaaStandIn) -> None:
    # a listing with a query goes through QueryParameters and comes back as Airflow's answer
    assert isinstance(mwaa_client(mwaa).dag_runs(DAG, states=("queued",)), list)
    assert mwaa.calls[-1]["QueryParameters"]["state"] == "queued"
    # IAM refuses a request signed with the wrong secret: AccessDeniedException (403)
    with pytest.raises(AirflowAuthError) as refused:
        mwaa_client(mwaa, secret="wrong").trigger_dag_run(DAG, "mwaa-refused", {})
    assert refused.value.status == 403
    # no such environment: ResourceNotFoundException (404), a clear error at once
    with pytest.raises(AirflowApiError) as missing:
        mwaa_client(mwaa, environment="no-such-env").trigger_dag_run(DAG, "mwaa-missing", {})
    assert missing.value.status == 404
    # Airflow's own 404 (a DAG that does not exist) through RestApiClientException
    with pytest.raises(AirflowApiError) as no_dag:
        mwaa_client(mwaa).trigger_dag_run("tributary__no_such_dag", "mwaa-no-dag", {})
    assert no_dag.value.status == 404
    # Airflow 503 (RestApiServerException) is retried, then the call goes through
    before = len(mwaa.calls)
    mwaa.inject(503, 503)
    assert isinstance(mwaa_client(mwaa, attempts=3).dag_runs(DAG), list)
    assert len(mwaa.calls) - before == 3
    # and when every attempt gets a 5xx the client gives up with AirflowUnavailableError
    mwaa.inject(502, 502)
    with pytest.raises(AirflowUnavailableError):
        mwaa_client(mwaa, attempts=2).dag_runs(DAG)
