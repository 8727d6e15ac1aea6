"""Configuration: frozen models per row type, YAML loading with positions, validation, the
snapshot the DAG factory reads, and the plan/apply/export cycle against the metadata DB."""
