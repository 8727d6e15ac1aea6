"""Events that start DAG runs: S3 event parsing, the invokers (Lambda handlers), the Airflow REST
API client, the reconciliation sweep and the deployable zip."""
