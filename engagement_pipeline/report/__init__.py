"""The engagement report: one object holding every table, rendered as Markdown or an .xlsx workbook."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from engagement_pipeline.report.markdown import markdown_table, render_markdown, report_tables
from engagement_pipeline.report.workbook import write_workbook


@dataclass
class EngagementReport:
    """Everything the report shows, as computed by the insights functions for one as-of date.

    `upcoming` (optional) lets the report list upcoming events that got no recommendation;
    `extra_sections` are appended as (title, table), e.g. the ingestion ledger or unmatched attendees;
    `closing` is the last word, what this scoring run changed (the health update and new risk signals).
    """

    as_of: date
    summary: dict
    event_summary: pd.DataFrame
    leaderboard: pd.DataFrame
    advocacy: pd.DataFrame
    risks: pd.DataFrame
    recommendations: pd.DataFrame
    distribution: pd.DataFrame
    upcoming: pd.DataFrame | None = None
    extra_sections: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    closing: str = ""


__all__ = ["EngagementReport", "markdown_table", "render_markdown", "report_tables", "write_workbook"]
