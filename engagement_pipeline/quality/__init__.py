"""Data-quality rules (Great Expectations suites) that `defs/engagement/checks.py` runs as Dagster asset checks."""
