"""Engagement scoring: five explainable components, their weighted composite, and a tested trend.

Pure pandas/numpy/scipy; no Dagster. `score_customers` and `engagement_trends` are what the assets call.
"""

from engagement_pipeline.scoring.components import (
    consistency,
    depth,
    diversity,
    frequency,
    recency,
    record_depth,
)
from engagement_pipeline.scoring.composite import score_customers
from engagement_pipeline.scoring.trends import absence_test, engagement_trends, population_prior

__all__ = [
    "absence_test",
    "consistency",
    "depth",
    "diversity",
    "engagement_trends",
    "frequency",
    "population_prior",
    "recency",
    "record_depth",
    "score_customers",
]
