"""The local stack: metadata DB, Airflow components and a moto server on loopback ports."""
