"""What the actions act on: the latest scores in the warehouse, the attendance, the CRM and the catalogue.

The explicit jobs and the CLI run outside the engagement job, so they rebuild the insights from what that
job stored (scores with their components and trend, the merged attendance) with the same functions.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import Settings
from engagement_pipeline.insights import advocacy_candidates, invitation_recommendations, load_upcoming_events
from engagement_pipeline.matching.crm import Crm, load_crm

NOT_SCORED = "No engagement scores in the warehouse yet: run `engagement-pipeline score ...` first."


class NotScoredError(RuntimeError):
    """The engagement job has not written scores and attendance yet."""


@dataclass(frozen=True)
class ScoredState:
    as_of: date
    scores: pd.DataFrame
    trends: pd.DataFrame
    attendance: pd.DataFrame
    crm: Crm
    upcoming: pd.DataFrame
    internal_domains: frozenset[str]

    def advocacy_candidates(self) -> pd.DataFrame:
        return advocacy_candidates(self.scores, self.trends, self.attendance, self.crm.contacts,
                                   customers=self.crm.customers, internal_domains=self.internal_domains)

    def invitation_recommendations(self) -> pd.DataFrame:
        return invitation_recommendations(self.upcoming, self.attendance, self.scores, self.trends,
                                          self.crm.customers, self.crm.contacts, self.as_of,
                                          internal_domains=self.internal_domains)


def latest_scores(engine: Engine) -> tuple[date, pd.DataFrame, pd.DataFrame]:
    """The most recent scoring date's scores (components expanded back into columns) and trends."""
    with engine.connect() as conn:
        as_of = conn.execute(sa.select(sa.func.max(wh.engagement_scores.c.as_of))).scalar()
        if as_of is None:
            raise NotScoredError(NOT_SCORED)
        rows = conn.execute(sa.select(wh.engagement_scores).where(wh.engagement_scores.c.as_of == as_of)
                            ).mappings().all()
    records = [{**json.loads(r["components"]), "customer_id": r["customer_id"], "score": r["score"],
                "band": r["band"], "as_of": pd.Timestamp(r["as_of"]), "trend": r["trend"]} for r in rows]
    scores = pd.DataFrame.from_records(records)
    for column in ("diversity", "consistency", "depth", "score"):
        scores[column] = pd.to_numeric(scores.get(column), errors="coerce")
    trends = scores[["customer_id", "trend"]].assign(trend=scores["trend"].fillna("insufficient_data"))
    return pd.Timestamp(as_of).date(), scores.drop(columns=["trend"]), trends


def load_attendance(engine: Engine) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.DataFrame(conn.execute(sa.select(wh.attendance)).mappings().all())
    if frame.empty:
        raise NotScoredError(NOT_SCORED)
    return frame


def load_scored_state(engine: Engine, settings: Settings) -> ScoredState:
    as_of, scores, trends = latest_scores(engine)
    attendance = load_attendance(engine)
    upcoming = load_upcoming_events(settings.events_dir / "upcoming_events.csv", as_of=as_of)
    return ScoredState(as_of, scores, trends, attendance, load_crm(settings.crm_dir), upcoming,
                       settings.internal_domains)
