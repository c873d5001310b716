"""The `score --json` document: everything the report says, as data another program can check."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import Settings
from engagement_pipeline.insights import event_summary, upload_summary

if TYPE_CHECKING:  # the run's outputs only: the report never starts Dagster itself
    from engagement_pipeline.defs.runner import PipelineRun

ATTENDANCE_FIELDS = [
    "event_id", "event_name", "event_type", "event_date", "platform", "attendee_email", "attendee_name",
    "company", "registered", "attended", "minutes_attended", "questions_asked", "polls_answered",
    "feedback_submitted", "role", "customer_id", "match_method", "match_confidence", "source_file",
    "source_row",
]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return _plain(value.item())
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return value


def records(frame: pd.DataFrame, columns: list[str] | None = None) -> list[dict[str, Any]]:
    if frame is None or len(frame) == 0:
        return []
    chosen = frame if columns is None else frame[[c for c in columns if c in frame.columns]]
    return [_plain(row) for row in chosen.to_dict(orient="records")]


def file_ledger(run: PipelineRun, settings: Settings) -> list[dict[str, Any]]:
    """Rows read, kept, excluded (by reason) and quarantined for each file given on the command line."""
    engine = wh.make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            uploads = wh.load_uploads(conn).set_index("upload_id")
    finally:
        engine.dispose()
    ledger = []
    for upload in run.uploads:
        row = uploads.loc[upload["upload_id"]]
        detail = json.loads(row["ledger"]) if isinstance(row["ledger"], str) else {}
        ledger.append(
            _plain(
                {
                    "file": upload["file"],
                    "upload_id": upload["upload_id"],
                    "sha256": upload["sha256"],
                    "status": row["status"],
                    "platform": row["platform"],
                    "reason": row["reason"],
                    "rows_read": row["rows_read"],
                    "rows_kept": row["rows_kept"],
                    "rows_excluded": row["rows_excluded"],
                    "rows_quarantined": row["rows_quarantined"],
                    "records": row["records"],
                    "excluded_by_reason": detail.get("excluded_by_reason", {}),
                    "balanced": detail.get("balanced"),
                    "lines_read": detail.get("lines_read"),
                    "lines_damaged": detail.get("lines_damaged"),
                    "export_status": detail.get("export_status"),
                    "export_reason": detail.get("export_reason"),
                    "notes": detail.get("notes", []),
                }
            )
        )
    return ledger


def up_to(frame: pd.DataFrame, as_of: Any) -> pd.DataFrame:
    """Rows whose event_date is on or before the scoring date: `--as-of D` describes the data up to D only."""
    if as_of is None or frame is None or len(frame) == 0 or "event_date" not in frame.columns:
        return frame
    days = pd.to_datetime(frame["event_date"])
    if getattr(days.dt, "tz", None) is not None:
        days = days.dt.tz_localize(None)
    return frame.loc[days.dt.normalize() <= pd.Timestamp(as_of).normalize()]


def pipeline_json(run: PipelineRun, settings: Settings) -> dict[str, Any]:
    out = run.outputs
    scores = out["engagement_scores"]
    as_of = scores["as_of"].iloc[0] if len(scores) else None
    attendance = up_to(out["attendance"], as_of)
    events = up_to(out["events_held"], as_of)
    return {
        "as_of": _plain(as_of),
        "summary": _plain(upload_summary(attendance, events)),
        "files": file_ledger(run, settings),
        "attendance": records(attendance, ATTENDANCE_FIELDS),
        "unmatched_attendees": records(out["unmatched_attendees"]),
        "events": records(events),
        "event_summary": records(event_summary(attendance, events)),
        "scores": records(scores),
        "trends": records(out["engagement_trends"]),
        "advocacy_candidates": records(out["advocacy_candidates"]),
        "risks": records(out["engagement_risks"]),
        "recommendations": records(out["invitation_recommendations"]),
        "quarantined_rows": records(out["quarantined_rows"]),
        "report_paths": out.get("report_paths", {}),
    }
