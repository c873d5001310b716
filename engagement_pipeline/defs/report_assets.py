"""The engagement report (Markdown in the UI, .md and .xlsx under data/reports/) and the upload ledger."""


import json

import dagster as dg
import pandas as pd

from engagement_pipeline import warehouse as wh
from engagement_pipeline.actions.conversion import advocacy_conversion
from engagement_pipeline.actions.report import health_update_sentence, report_sections
from engagement_pipeline.insights import engagement_distribution, leaderboard, upload_summary
from engagement_pipeline.report import EngagementReport, render_markdown, write_workbook

from .engagement_assets import preview
from .ingest_assets import matched_attendance
from .resources import DataFolder, Scoring, Warehouse

LEDGER_COLUMNS = ["upload_id", "file_name", "status", "platform", "rows_read", "rows_kept", "rows_excluded",
                  "rows_quarantined", "records", "reason"]


@dg.asset(group_name="ingest", deps=[matched_attendance], kinds={"sqlite"})
def upload_ledger(warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """Every upload with its row accounting: rows read = kept + excluded + quarantined."""
    with warehouse.engine().connect() as conn:
        uploads = wh.load_uploads(conn)
    ledger = uploads.reindex(columns=LEDGER_COLUMNS)
    accepted = ledger[ledger["status"] == "accepted"]
    balanced = bool(
        (accepted["rows_read"] == accepted["rows_kept"] + accepted["rows_excluded"]
         + accepted["rows_quarantined"]).all()
    )
    return dg.Output(
        ledger,
        metadata={
            "uploads": len(ledger),
            "accepted": len(accepted),
            "rejected": int((ledger["status"] == "rejected").sum()),
            "waiting_for_event_details": int((ledger["status"] == "held").sum()),
            "every_ledger_balances": balanced,
            "preview": preview(ledger, 30),
        },
    )


@dg.asset(group_name="ingest", deps=[matched_attendance], kinds={"sqlite"})
def quarantined_rows(warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """Rows that could not be used, each with its reason and the original cells; never dropped."""
    with warehouse.engine().connect() as conn:
        rows = wh.load_row_issues(conn, kind="quarantined")
    if len(rows):
        rows["raw"] = rows["raw"].map(json.loads)
    shown = rows.drop(columns=["raw"], errors="ignore")
    return dg.Output(rows, metadata={"rows": len(rows), "preview": preview(shown, 20)})


@dg.asset(group_name="report", kinds={"markdown", "excel"})
def engagement_report(
    context: dg.AssetExecutionContext,
    attendance: pd.DataFrame,
    events_held: pd.DataFrame,
    event_summary: pd.DataFrame,
    engagement_scores: pd.DataFrame,
    engagement_trends: pd.DataFrame,
    advocacy_candidates: pd.DataFrame,
    engagement_risks: pd.DataFrame,
    invitation_recommendations: pd.DataFrame,
    upcoming_events: pd.DataFrame,
    unmatched_attendees: pd.DataFrame,
    upload_ledger: pd.DataFrame,
    risk_signals: pd.DataFrame,
    outreach_tasks: pd.DataFrame,
    customer_health: pd.DataFrame,
    conversion_summary: pd.DataFrame,
    data_folder: DataFolder,
    scoring: Scoring,
    warehouse: Warehouse,
) -> dg.MaterializeResult:
    """The CSM's report: what was uploaded, who is engaged, who to ask, who is slipping, who to invite,
    and what the tracking assets changed (risk signals, outreach, health for this scoring date, conversion)."""
    as_of = scoring.as_of_date()
    with warehouse.engine().connect() as conn:
        advocacy = advocacy_conversion(conn)
    report = EngagementReport(
        as_of=as_of,
        summary=upload_summary(attendance, events_held),
        event_summary=event_summary,
        leaderboard=leaderboard(engagement_scores, engagement_trends),
        advocacy=advocacy_candidates,
        risks=engagement_risks,
        recommendations=invitation_recommendations,
        distribution=engagement_distribution(engagement_scores),
        upcoming=upcoming_events,
        extra_sections=[
            *report_sections(risk_signals, outreach_tasks, customer_health, conversion_summary, advocacy),
            ("Uploads and row accounting", upload_ledger),
            ("Unmatched attendees (review queue)", unmatched_attendees.drop(columns=["suggestions"],
                                                                             errors="ignore")),
        ],
        closing=health_update_sentence(len(customer_health), int(risk_signals["created_now"].sum())),
    )
    markdown = render_markdown(report)
    reports_dir = data_folder.settings.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    md_path = reports_dir / f"engagement_report_{as_of.isoformat()}.md"
    md_path.write_text(markdown, encoding="utf-8")
    xlsx_path = write_workbook(report, reports_dir / f"engagement_report_{as_of.isoformat()}.xlsx")
    (reports_dir / "engagement_report_latest.md").write_text(markdown, encoding="utf-8")
    context.log.info(f"Report written to {md_path} and {xlsx_path}")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(markdown),
            "markdown_path": dg.MetadataValue.path(str(md_path)),
            "excel_path": dg.MetadataValue.path(str(xlsx_path)),
            "headline": report.summary["headline"],
            "what_changed": report.closing,
            "open_risk_signals": len(risk_signals),
            "open_outreach_tasks": len(outreach_tasks),
            "as_of": as_of.isoformat(),
        }
    )
