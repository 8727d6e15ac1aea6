"""The demo: a DMS-style NYC-taxi dataset for the 18 example tables, and a validation report."""
