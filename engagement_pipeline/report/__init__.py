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
    `extra_sections` (title, table) go to the workbook in full and are only counted in the Markdown;
    `closing` is the last word, what this scoring run changed (the health update and new risk signals).
    `signals`/`tasks` are the open risk signals (with `created_now`) and outreach tasks for *Needs action*;
    `history` maps a customer name to its (date, score) points for the sparklines; `owners` maps a customer
    name to its CSM owner (the per-owner view); the trend settings are quoted in the technical appendix.
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
    signals: pd.DataFrame | None = None
    tasks: pd.DataFrame | None = None
    history: dict[str, list[tuple[date, float]]] = field(default_factory=dict)
    scores: list[float] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    trend_window_days: int = 182
    trend_alpha: float = 0.10


__all__ = ["EngagementReport", "markdown_table", "render_markdown", "report_tables", "write_workbook"]
