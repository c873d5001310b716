"""Data-quality rules (Great Expectations suites) that `defs/checks.py` runs as Dagster asset checks."""
