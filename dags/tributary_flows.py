"""Tributary flows: one Airflow DAG per enabled flow of the config snapshot.

Parsing reads only the snapshot file (no database, no network). A worker builds only the DAG it
runs (``get_parsing_context``). Broken flows are reported by ``tributary_flow_errors.py``.
"""

from tributary.dagfactory.loader import build_dags

globals().update(build_dags())
