"""Tributary maintenance Airflow DAG: config snapshot refresh, alert outbox drain, lease reaping, Hudi cleaning."""

from tributary.dagfactory.maintenance import build_maintenance_dag

maintenance = build_maintenance_dag()
