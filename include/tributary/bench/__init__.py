"""Benchmarks behind `tributary bench NAME`: each prints a table, then one JSON line."""
