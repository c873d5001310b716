"""The engagement report (Markdown in the UI, .md and .xlsx under data/reports/) and the upload ledger."""


import re
import warnings
from datetime import timedelta

import dagster as dg
import pandas as pd

from engagement_pipeline import warehouse as wh
from engagement_pipeline.actions.report import ADVOCACY_ATTR, health_update_sentence, report_sections
from engagement_pipeline.insights import engagement_distribution, leaderboard, upload_summary
from engagement_pipeline.matching.crm import Crm
from engagement_pipeline.report import EngagementReport, render_markdown, write_workbook
from engagement_pipeline.report.history import score_history
from engagement_pipeline.report.markdown import report_owners

from ..engagement.assets import preview
from ..engagement.resources import ScoringRun
from ..ingest.assets import stored_attendance
from ..metadata import table_metadata, table_preview
from ..resources import DataFolder, Warehouse

REPORT_OWNERS = ["team:customer-success"]
REPORT_MAX_AGE = timedelta(days=8)  # the weekly re-score plus a day's grace


def owner_slug(owner: str) -> str:
    """'Hannah Price' -> 'hannah-price', for the per-owner report file name."""
    return re.sub(r"[^a-z0-9]+", "-", owner.lower()).strip("-")[:60] or "owner"

LEDGER_COLUMNS = ["upload_id", "file_name", "status", "platform", "rows_read", "rows_kept", "rows_excluded",
                  "rows_quarantined", "records", "reason",
                  "lines_read", "lines_damaged", "export_status", "export_reason"]  # issue 10: lines, re-exports


@dg.asset(group_name="ingest", deps=[stored_attendance], kinds={"sqlite"})
def upload_ledger(warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """Every upload with its row accounting: rows read = kept + excluded + quarantined."""
    uploads = wh.load_upload_ledger(warehouse.engine())
    ledger = uploads.reindex(columns=LEDGER_COLUMNS)
    accepted = uploads[uploads["status"] == "accepted"]
    balanced = bool(accepted["balanced"].eq(True).all())  # as each upload's ledger stored it when parsed
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


@dg.asset(group_name="ingest", deps=[stored_attendance], kinds={"sqlite"})
def quarantined_rows(warehouse: Warehouse) -> dg.Output[pd.DataFrame]:
    """Rows that could not be used, each with its reason and the original cells; never dropped."""
    rows = wh.load_quarantined_rows(warehouse.engine())
    shown = rows.drop(columns=["raw"], errors="ignore")
    return dg.Output(rows, metadata={"rows": len(rows), "preview": preview(shown, 20)})


@dg.asset(group_name="report", kinds={"markdown", "excel"}, owners=REPORT_OWNERS)
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
    crm: Crm,
    data_folder: DataFolder,
    scoring: dg.ResourceParam[ScoringRun],
) -> dg.MaterializeResult:
    """The CSM's report: what needs action first (declining customers, new risk signals, outreach due), the top
    10 with score sparklines, advocacy, invitations per event, the score histogram, events by type, and the
    statistics in a technical appendix; full tables in the .xlsx. One file per CSM owner beside it.

    Fed only by asset outputs (the advocacy conversion travels with `conversion_summary`), dated by the run."""
    as_of, config = scoring.as_of, scoring.config
    advocacy = conversion_summary.attrs[ADVOCACY_ATTR]
    board = leaderboard(engagement_scores, engagement_trends)
    report = EngagementReport(
        as_of=as_of,
        summary=upload_summary(attendance, events_held),
        event_summary=event_summary,
        leaderboard=board,
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
        signals=risk_signals,
        tasks=outreach_tasks,
        history=score_history(attendance, events_held, crm.customers, crm.contacts, as_of, config),
        scores=[float(v) for v in engagement_scores["score"].dropna()],
        owners=dict(zip(crm.customers["name"].astype(str), crm.customers["csm_owner"], strict=True)),
        trend_window_days=config.trend_window_days,
        trend_alpha=config.trend_alpha,
    )
    markdown = render_markdown(report)
    reports_dir = data_folder.reports_dir
    reports_dir.mkdir(parents=True, exist_ok=True)
    md_path = reports_dir / f"engagement_report_{as_of.isoformat()}.md"
    md_path.write_text(markdown, encoding="utf-8")
    xlsx_path = write_workbook(report, reports_dir / f"engagement_report_{as_of.isoformat()}.xlsx")
    (reports_dir / "engagement_report_latest.md").write_text(markdown, encoding="utf-8")
    owners_dir = reports_dir / "by_owner"
    owners_dir.mkdir(exist_ok=True)
    owner_files = []
    for owner in report_owners(report):
        path = owners_dir / f"engagement_report_{as_of.isoformat()}_{owner_slug(owner)}.md"
        path.write_text(render_markdown(report, owner=owner), encoding="utf-8")
        owner_files.append(path)
    context.log.info(f"Report written to {md_path} and {xlsx_path}; {len(owner_files)} per-owner reports in "
                     f"{owners_dir}")
    arr = pd.to_numeric(engagement_risks["arr"], errors="coerce").sum() if len(engagement_risks) else 0.0
    attended = attendance.loc[attendance["attended"].astype(bool)] if len(attendance) else attendance
    bands = engagement_scores["band"].value_counts()
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(markdown),
            "markdown_path": dg.MetadataValue.path(str(md_path)),
            "excel_path": dg.MetadataValue.path(str(xlsx_path)),
            "owner_reports": dg.MetadataValue.path(str(owners_dir)),
            "headline": report.summary["headline"],
            "what_changed": report.closing,
            "open_risk_signals": len(risk_signals),
            "open_outreach_tasks": len(outreach_tasks),
            "as_of": as_of.isoformat(),
            "report_lines": markdown.count("\n"),
            # Numbers, so the Plots tab draws them week over week.
            "mean_score": float(round(engagement_scores["score"].mean(), 2))
            if engagement_scores["score"].notna().any() else 0.0,
            **{f"customers_{b.lower().replace(' ', '_')}": int(bands.get(b, 0))
               for b in ("High", "Good", "Medium", "Low")},
            "declining_customers": len(engagement_risks),
            "arr_at_risk": float(arr),
            "unmatched_share": float(attended["customer_id"].isna().mean()) if len(attended) else 0.0,
            "leaderboard": table_preview(board, ["rank", "customer", "score", "events attended / events held",
                                                 "trend"], rows=10),
            "risks": table_preview(engagement_risks, ["customer_name", "csm_owner", "arr", "score", "reason"]),
            "recommendations": table_preview(invitation_recommendations,
                                             ["event_name", "event_date", "rank", "customer_name",
                                              "contact_name", "contact_email", "reason"], rows=30),
            **{k: v for k, v in table_metadata(board).items() if k == "dagster/row_count"},
        }
    )


with warnings.catch_warnings():  # superseded by FreshnessPolicy, which needs an opt-in instance setting
    warnings.simplefilter("ignore")
    # Fails (WARN) when the report is older than a week and a day: the weekly re-score did not happen.
    REPORT_FRESHNESS_CHECKS = dg.build_last_update_freshness_checks(
        assets=[engagement_report], lower_bound_delta=REPORT_MAX_AGE)
