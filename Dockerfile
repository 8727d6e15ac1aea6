# Tributary on the official Airflow image: the pinned lock, then the package (editable-free).
# Build: docker build -t tributary .   (no Docker engine runs on the dev machines; a test keeps
# this file consistent with requirements.txt and the Airflow version in it)
FROM apache/airflow:3.3.2-python3.11

USER root
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
USER airflow

COPY --chown=airflow:root requirements.txt /opt/tributary/requirements.txt
RUN pip install --no-cache-dir -r /opt/tributary/requirements.txt

COPY --chown=airflow:root pyproject.toml README.md /opt/tributary/
COPY --chown=airflow:root include /opt/tributary/include
RUN pip install --no-cache-dir --no-deps /opt/tributary

COPY --chown=airflow:root dags /opt/airflow/dags
COPY --chown=airflow:root plugins /opt/airflow/plugins
COPY --chown=airflow:root config /opt/tributary/config

ENV TRIBUTARY_CONFIG_DIR=/opt/tributary/config \
    TRIBUTARY_HOME=/opt/airflow/tributary
