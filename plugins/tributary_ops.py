"""Airflow plugin: the operators' dashboard (overview with charts, searchable tables, a page per
table, and the JSON API they are drawn from), an external view in Airflow's navigation served by
the plugin's FastAPI app. The app itself lives in ``tributary.ops.app``."""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from tributary.ops.app import create_app


class TributaryOpsPlugin(AirflowPlugin):
    name = "tributary_ops"
    fastapi_apps = [{"app": create_app(), "url_prefix": "/tributary", "name": "Tributary ops"}]
    external_views = [
        {
            "name": "Tributary tables",
            "href": "tributary/",
            "destination": "nav",
            "category": "browse",
            "url_route": "tributary",
        }
    ]
