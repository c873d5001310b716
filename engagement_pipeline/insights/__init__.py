"""What the scores mean for a CSM: advocacy candidates, declining customers, who to invite, summaries.

Pure pandas functions over the scoring, trend, attendance and CRM frames; the Dagster assets wrap them.
"""

from engagement_pipeline.insights.advocacy import advocacy_candidates
from engagement_pipeline.insights.catalogue import load_upcoming_events
from engagement_pipeline.insights.recommendations import invitation_recommendations, is_on_topic
from engagement_pipeline.insights.risks import engagement_risks, risk_reason
from engagement_pipeline.insights.summary import (
    engagement_distribution,
    event_summary,
    leaderboard,
    upload_summary,
)

__all__ = [
    "advocacy_candidates",
    "engagement_distribution",
    "engagement_risks",
    "event_summary",
    "invitation_recommendations",
    "is_on_topic",
    "leaderboard",
    "load_upcoming_events",
    "risk_reason",
    "upload_summary",
]
