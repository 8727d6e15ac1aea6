"""The ``tributary`` command line (typer + rich)."""
