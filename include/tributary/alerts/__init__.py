"""Failure alerts: messages, the transactional outbox, SNS delivery and Airflow callbacks."""
