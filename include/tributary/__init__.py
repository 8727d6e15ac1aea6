"""Tributary: metadata-driven CDC-to-Hudi orchestration on Apache Airflow 3."""

from __future__ import annotations

__version__ = "0.1.0"
