"""Cross-upload assets: the merged attendance history, scores, trends and the insights built on them.

These read the warehouse, not the per-file partitions, so they always see every upload at once.
"""


import dagster as dg
import pandas as pd

from engagement_pipeline import warehouse as wh
from engagement_pipeline.ingest.attendance import choose_exports, export_status, merge_platforms
from engagement_pipeline.ingest.attendance import events_held as build_events_held
from engagement_pipeline.insights import (
    advocacy_candidates as find_advocacy_candidates,
)
from engagement_pipeline.insights import (
    engagement_risks as find_engagement_risks,
)
from engagement_pipeline.insights import (
    event_summary as summarise_events,
)
from engagement_pipeline.insights import (
    invitation_recommendations as recommend_invitations,
)
from engagement_pipeline.insights import load_upcoming_events
from engagement_pipeline.matching import match_attendance
from engagement_pipeline.matching import unmatched_attendees as list_unmatched
from engagement_pipeline.matching.crm import Crm, load_crm_cached
from engagement_pipeline.scoring import engagement_trends as compute_trends
from engagement_pipeline.scoring import score_customers

from ..ingest.assets import stored_attendance
from ..metadata import preview, table_metadata, table_preview
from ..resources import DataFolder, Warehouse
from .resources import ScoringRun


@dg.asset(group_name="crm", kinds={"csv"})
def crm(data_folder: DataFolder) -> dg.Output[Crm]:
    """Customers (with their domains) and contacts, from `crm/customers.csv` and `crm/contacts.csv`."""
    loaded = load_crm_cached(data_folder.crm_dir)
    return dg.Output(
        loaded,
        metadata={"customers": len(loaded.customers), "contacts": len(loaded.contacts)},
    )


@dg.asset(group_name="engagement", deps=[stored_attendance], kinds={"pandas", "sqlite"})
def attendance(
    context: dg.AssetExecutionContext, crm: Crm, data_folder: DataFolder, warehouse: Warehouse
) -> dg.Output[pd.DataFrame]:
    """Every accepted upload merged into one history, matched to customers once, against the `crm` asset.

    The one match of a run (uploads are stored unmatched): a CRM correction takes effect at the next re-score.
    """
    derived: dict[str, pd.DataFrame] = {}

    def derive(records: pd.DataFrame, export_info: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
        kept, derived["decisions"] = choose_exports(records, export_info)
        derived["matched"] = match_attendance(merge_platforms(kept), crm, data_folder.internal_domains
                                              ).matched
        return derived["matched"], export_status(derived["decisions"])

    wh.store_attendance_from_uploads(warehouse.engine(), derive)
    decisions, matched = derived["decisions"], derived["matched"]
    superseded = decisions[decisions["decision"] == "superseded"]
    not_used = decisions[decisions["decision"].isin(["held", "ignored"])]
    attended = matched[matched["attended"]] if len(matched) else matched
    if len(superseded):
        context.log.info(f"{int(superseded['records'].sum())} records superseded by later exports")
    for row in not_used.itertuples(index=False):
        context.log.warning(f"Upload {row.upload_id} {row.decision}: {row.reason}")
    return dg.Output(
        matched,
        metadata={
            "records": len(matched),
            "attended_records": len(attended),
            "people": int(attended["attendee_key"].nunique()) if len(attended) else 0,
            "events": int(matched["event_id"].nunique()) if len(matched) else 0,
            "matched_records": int(matched["customer_id"].notna().sum()) if len(matched) else 0,
            "superseded_records": int(superseded["records"].sum()) if len(superseded) else 0,
            "unmatched_share": float(attended["customer_id"].isna().mean()) if len(attended) else 0.0,
            **table_metadata(matched),
            "exports": dg.MetadataValue.json(
                decisions[["upload_id", "event_id", "decision", "reason"]].to_dict(orient="records")),
            "preview": preview(matched),
        },
    )


@dg.asset(group_name="engagement", kinds={"pandas"})
def events_held(attendance: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Every event found in any upload: the opportunities customers had to attend."""
    events = build_events_held(attendance)
    return dg.Output(events, metadata={"events": len(events), "preview": preview(events, 20)})


@dg.asset(group_name="engagement", kinds={"pandas"})
def unmatched_attendees(attendance: pd.DataFrame, crm: Crm) -> dg.Output[pd.DataFrame]:
    """People who match no customer, with the best candidates for a person to review; never forced."""
    unmatched = list_unmatched(attendance, crm)
    shown = unmatched.drop(columns=["suggestions"], errors="ignore")
    return dg.Output(unmatched, metadata={"attendees": len(unmatched), **table_metadata(shown),
                                          "preview": preview(shown, 20)})


@dg.asset(group_name="engagement", kinds={"pandas", "sqlite"})
def engagement_scores(
    attendance: pd.DataFrame, events_held: pd.DataFrame, crm: Crm, scoring: dg.ResourceParam[ScoringRun]
) -> dg.Output[pd.DataFrame]:
    """0–100 per customer as of the run's scoring date, with its five components and their contributions.

    Stored once, with their trends, by `engagement_trends`."""
    as_of = scoring.as_of
    scores = score_customers(attendance, events_held, crm.customers, crm.contacts, as_of, scoring.config)
    shown = scores[["rank", "customer_name", "score", "band", "events_attended", "events_held", "users",
                    "weakest_component"]].sort_values("rank")
    bands = scores["band"].value_counts()
    return dg.Output(
        scores,
        metadata={"as_of": as_of.isoformat(), "customers": len(scores),
                  "mean_score": float(round(scores["score"].mean(), 2)) if scores["score"].notna().any() else 0.0,
                  **{f"customers_{b.lower().replace(' ', '_')}": int(bands.get(b, 0))
                     for b in ("High", "Good", "Medium", "Low", "Not scored")},
                  **table_metadata(scores),
                  "leaderboard": table_preview(shown, rows=10),
                  "preview": preview(shown, 15)},
    )


@dg.asset(group_name="engagement", kinds={"pandas", "sqlite"})
def engagement_trends(
    attendance: pd.DataFrame, events_held: pd.DataFrame, engagement_scores: pd.DataFrame, crm: Crm,
    scoring: dg.ResourceParam[ScoringRun], warehouse: Warehouse,
) -> dg.Output[pd.DataFrame]:
    """Rising, stable, declining or insufficient data, from an exact test of current vs previous window.

    Writes the scoring date's snapshot, each score with its trend, to the warehouse: once per run."""
    trends = compute_trends(attendance, events_held, crm.customers, scoring.as_of, scoring.config)
    wh.store_score_snapshot(warehouse.engine(), scoring.as_of, engagement_scores, trends)
    counts = trends["trend"].value_counts().to_dict()
    return dg.Output(
        trends,
        metadata={"trends": dg.MetadataValue.json({str(k): int(v) for k, v in counts.items()}),
                  "declining": int(counts.get("declining", 0)), **table_metadata(trends),
                  "preview": preview(trends[trends["trend"] != "stable"], 20)},
    )


@dg.asset(group_name="engagement", kinds={"pandas"})
def event_summary(attendance: pd.DataFrame, events_held: pd.DataFrame) -> dg.Output[pd.DataFrame]:
    """Events, attendees and the average attendance per event type."""
    summary = summarise_events(attendance, events_held)
    return dg.Output(summary, metadata={"preview": preview(summary)})


@dg.asset(group_name="insights", kinds={"pandas"})
def advocacy_candidates(
    engagement_scores: pd.DataFrame, engagement_trends: pd.DataFrame, attendance: pd.DataFrame, crm: Crm,
    scoring: dg.ResourceParam[ScoringRun], data_folder: DataFolder,
) -> dg.Output[pd.DataFrame]:
    """High, not declining customers, with the participation that makes them credible advocates."""
    found = find_advocacy_candidates(
        engagement_scores, engagement_trends, attendance, crm.contacts, customers=crm.customers,
        window_days=scoring.config.window_days, internal_domains=data_folder.internal_domains,
        as_of=scoring.as_of,
    )
    shown = found.drop(columns=["notable", "suggested_types"], errors="ignore")
    return dg.Output(found, metadata={"candidates": len(found), **table_metadata(shown), "preview": preview(shown)})


@dg.asset(group_name="insights", kinds={"pandas"})
def engagement_risks(
    engagement_scores: pd.DataFrame, engagement_trends: pd.DataFrame, crm: Crm,
    scoring: dg.ResourceParam[ScoringRun],
) -> dg.Output[pd.DataFrame]:
    """Customers whose engagement shows a tested decline, with the reason in the CSM's words."""
    risks = find_engagement_risks(engagement_scores, engagement_trends, crm.customers,
                                  trend_window_days=scoring.config.trend_window_days, as_of=scoring.as_of)
    arr = pd.to_numeric(risks["arr"], errors="coerce").sum() if len(risks) else 0.0
    return dg.Output(risks, metadata={
        "declining": len(risks), "arr_at_risk": float(arr), **table_metadata(risks),
        "risks": table_preview(risks, ["customer_name", "score", "csm_owner", "arr", "events_current",
                                       "events_previous", "p_value", "reason"]),
        "preview": preview(risks)})


@dg.asset(group_name="insights", kinds={"csv"})
def upcoming_events(data_folder: DataFolder, scoring: dg.ResourceParam[ScoringRun]) -> dg.Output[pd.DataFrame]:
    """The events catalogue from `events/upcoming_events.csv`, restricted to after the scoring date."""
    upcoming = load_upcoming_events(data_folder.events_dir / "upcoming_events.csv",
                                    as_of=scoring.as_of)
    return dg.Output(upcoming, metadata={"events": len(upcoming), "preview": preview(upcoming)})


@dg.asset(group_name="insights", kinds={"pandas"})
def invitation_recommendations(
    upcoming_events: pd.DataFrame, attendance: pd.DataFrame, engagement_scores: pd.DataFrame,
    engagement_trends: pd.DataFrame, crm: Crm, scoring: dg.ResourceParam[ScoringRun], data_folder: DataFolder,
) -> dg.Output[pd.DataFrame]:
    """Who to invite to each upcoming event, and a reason grounded in their own attendance."""
    recommendations = recommend_invitations(
        upcoming_events, attendance, engagement_scores, engagement_trends, crm.customers, crm.contacts,
        scoring.as_of, internal_domains=data_folder.internal_domains,
    )
    return dg.Output(
        recommendations,
        metadata={"recommendations": len(recommendations), **table_metadata(recommendations),
                  "customers_recommended": int(recommendations["customer_id"].nunique()),
                  "recommendations_table": table_preview(
                      recommendations, ["event_name", "event_date", "rank", "customer_name", "contact_name",
                                        "contact_email", "reason"], rows=30),
                  "preview": preview(recommendations, 20)},
    )
