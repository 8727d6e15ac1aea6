"""Import errors of broken Tributary flows (the Airflow DAG factory's report; this file has no DAG).

Each broken flow row is named with its field in one import error of this file, so the flows'
DAGs in ``tributary_flows.py`` keep loading and being scheduled.
"""

from tributary.dagfactory.loader import raise_for_broken_flows

raise_for_broken_flows()
