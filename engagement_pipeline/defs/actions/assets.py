"""Warehouse views of the actions (group `actions`) and the tracking that re-runs with every re-score
(group `actions_tracking`): risk signals, outreach tasks, customer health, conversion."""


import dagster as dg
import pandas as pd

from engagement_pipeline.actions import health, risks, store, uplift
from engagement_pipeline.actions.report import ADVOCACY_ATTR, UPLIFT_ATTR
from engagement_pipeline.matching.crm import Crm

from ..engagement.assets import preview
from ..engagement.resources import ScoringRun
from ..resources import Warehouse


class HealthConfig(dg.Config):
    """Weight of the engagement score in the blended health score (the rest is the CRM usage health)."""

    engagement_weight: float = health.DEFAULT_ENGAGEMENT_WEIGHT


@dg.asset(group_name="actions", kinds={"sqlite"})
def advocacy_opportunities(warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """Every advocacy opportunity with its status (open, won, lost); created by the advocacy job."""
    frame, rate = store.load_advocacy_opportunities(warehouse.engine())
    return dg.Output(frame, metadata={**{k: v for k, v in rate.items() if v is not None},
                                      "preview": preview(frame, 20)})


@dg.asset(group_name="actions", kinds={"sqlite"})
def invitations(warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """Every invitation with status (sent, unknown, failed, held_out, skipped...), arm, reason and conversion."""
    frame = store.load_invitations(warehouse.engine())
    counts = {str(k): int(v) for k, v in frame["status"].value_counts().items()}
    shown = frame.drop(columns=["message_id", "created_at", "message", "claimed_by", "claimed_at",
                                "next_attempt_at"], errors="ignore")  # never the rendered bodies
    return dg.Output(frame.drop(columns=["message"]),
                     metadata={**counts, "converted": int(frame["converted_at"].notna().sum()),
                               "preview": preview(shown, 20)})


@dg.asset(group_name="actions_tracking", kinds={"sqlite"})
def risk_signals(engagement_risks: pd.DataFrame, scoring: dg.ResourceParam[ScoringRun],
                 warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """One open signal per (declining customer, cause), never duplicated across runs; resolved when gone.

    `created_now` marks the signals this run opened, so the report can say what changed."""
    synced = store.store_risk_signals(warehouse.engine(), risks.risk_causes(engagement_risks), scoring.as_of)
    return dg.Output(synced.open_signals, metadata={**synced.counts, "preview": preview(synced.open_signals, 20)})


@dg.asset(group_name="actions_tracking", kinds={"sqlite"})
def outreach_tasks(risk_signals: pd.DataFrame, engagement_risks: pd.DataFrame, crm: Crm,
                   scoring: dg.ResourceParam[ScoringRun], warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """An open outreach task (owner, due date, suggested action) per customer with open risk signals."""
    created, frame = store.store_outreach_tasks(warehouse.engine(), engagement_risks, crm.contacts, scoring.as_of)
    return dg.Output(frame, metadata={"created": created, "open": len(frame), "preview": preview(frame, 20)})


@dg.asset(group_name="actions_tracking", kinds={"sqlite"})
def customer_health(config: HealthConfig, engagement_scores: pd.DataFrame, crm: Crm,
                    scoring: dg.ResourceParam[ScoringRun], warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """CRM usage health blended with the engagement score, one row per customer per scoring date."""
    try:
        blended = health.blend_health(engagement_scores, crm.customers, config.engagement_weight)
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    stored = store.store_health(warehouse.engine(), scoring.as_of, blended)
    return dg.Output(blended, metadata={"customers": stored, "engagement_weight": config.engagement_weight,
                                        "preview": preview(blended.sort_values("health_score"), 15)})


@dg.asset(group_name="actions_tracking", kinds={"sqlite"})
def conversion_summary(attendance: pd.DataFrame, advocacy_candidates: pd.DataFrame,
                       warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """Invitation → attendance conversion per event and overall, attendance lift, advocacy conversion, and the
    randomised holdout's uplift (in `.attrs["uplift"]`, numeric metadata `attendance_uplift*` to plot); the
    advocacy conversion in `.attrs["advocacy"]`, so the report reads it from here and never from the warehouse."""
    found = store.store_conversions(warehouse.engine(), attendance, advocacy_candidates)
    table, advocacy, lift, marked = found.invitations, found.advocacy, found.uplift, found.newly_converted
    table.attrs[UPLIFT_ATTR] = lift
    table.attrs[ADVOCACY_ATTR] = advocacy
    overall = table.loc[table["event_name"] == "All events"] if len(table) else table
    metadata = {"newly_converted": marked, "preview": preview(table, 20), **uplift.metrics(lift),
                "uplift_table": preview(lift, 20),
                "advocacy_conversion_rate": advocacy["conversion_rate"] if advocacy["conversion_rate"] is not None
                else "n/a"}
    if len(overall):
        metadata["invitation_conversion_rate"] = float(overall["conversion_rate"].iloc[0])
    return dg.Output(table, metadata=metadata)


VIEW_ASSETS = [advocacy_opportunities, invitations]
TRACKING_ASSETS = [risk_signals, outreach_tasks, customer_health, conversion_summary]
