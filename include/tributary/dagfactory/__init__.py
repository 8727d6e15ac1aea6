"""The DAG factory: config snapshot → plain task graph (``graph``) → Airflow objects (``builder``)."""
