"""The engagement report as GitHub-flavoured Markdown, and the display tables the workbook shares.

The display tables are built once (`report_tables`) so the Markdown and the .xlsx can never disagree.
Cells are escaped (`|`, newlines) because customer and event names are typed by people and a stray pipe
would silently shift every later column of a Markdown table.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import pandas as pd

from engagement_pipeline.insights.summary import TREND_LABELS

if TYPE_CHECKING:
    from engagement_pipeline.report import EngagementReport


def cell(value: object) -> str:
    """One Markdown table cell: missing -> '', pipes escaped, < > as entities (never raw HTML), newlines
    as <br>."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        value = value.date().isoformat()
    text = str(value).replace("\\", "\\\\").replace("|", "\\|")
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("\r\n", "<br>").replace("\n", "<br>").replace("\r", "<br>")


def markdown_table(frame: pd.DataFrame) -> str:
    """A GFM table of every column of `frame`, headers as the column names."""
    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _label(event_type: object) -> str:
    return str(event_type).replace("_", " ")


def _score(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.1f}"


def report_tables(report: EngagementReport) -> dict[str, pd.DataFrame]:
    """Display-ready tables keyed by sheet/section name, in report order."""
    ev = report.event_summary
    lb = report.leaderboard
    adv = report.advocacy
    risks = report.risks
    rec = report.recommendations
    dist = report.distribution
    summary = report.summary
    types = ", ".join(f"{_label(t)} {n}" for t, n in summary.get("event_types", {}).items())
    return {
        "Summary": pd.DataFrame({
            "Item": ["Headline", "Customers", "People", "Events", "Attendance records", "No-shows",
                     "Date from", "Date to", "Event types", "What changed"],
            "Value": [summary.get("headline"), summary.get("customers"), summary.get("people"),
                      summary.get("events"), summary.get("records"), summary.get("no_shows"),
                      str(summary.get("date_from") or ""), str(summary.get("date_to") or ""), types,
                      report.closing],
        }),
        "Events by type": pd.DataFrame({
            "Event type": ev["event_type"].map(_label), "Events": ev["events"],
            "Attendees": ev["attendees"], "Avg per event": ev["avg_per_event"],
        }),
        "Leaderboard": pd.DataFrame({
            "Rank": lb["rank"], "Customer": lb["customer"], "Score": lb["score"].map(_score),
            "Events attended / events held": lb["events attended / events held"], "Users": lb["users"],
            "Trend": lb["trend"].map(lambda t: TREND_LABELS.get(t, t)),
        }),
        "Advocacy": pd.DataFrame({
            "Customer": adv["customer_name"], "Score": adv["score"].map(_score), "Champion": adv["champion"],
            "Notable participation": adv["notable_text"], "Suggested advocacy": adv["suggested_types_text"],
        }),
        "Declining": pd.DataFrame({
            "Customer": risks["customer_name"], "Score": risks["score"].map(_score),
            "Events (current vs previous)": [f"{c} vs {p}" for c, p in
                                             zip(risks["events_current"], risks["events_previous"],
                                                 strict=True)],
            "Events missed": risks["events_missed"], "CSM": risks["csm_owner"], "ARR": risks["arr"],
            "Reason": risks["reason"],
        }),
        "Invitations": pd.DataFrame({
            "Event": rec["event_name"], "Date": pd.to_datetime(rec["event_date"]).dt.date,
            "Type": rec["event_type"].map(_label), "Rank": rec["rank"], "Customer": rec["customer_name"],
            "Contact": [f"{n} ({e})" if n else e for n, e in zip(rec["contact_name"], rec["contact_email"],
                                                                 strict=True)],
            "Reason": rec["reason"], "Relevance": rec["relevance"],
        }),
        "Distribution": pd.DataFrame({
            "Band": dist["band"], "Customers": dist["customers"],
            "Share": [f"{s:.0%}" for s in dist["share"]], "Bar": dist["bar"],
        }),
    }


def _section(title: str, frame: pd.DataFrame, empty: str) -> list[str]:
    return [f"## {title}", "", markdown_table(frame) if len(frame) else empty, ""]


def _invitations(report: EngagementReport, table: pd.DataFrame) -> list[str]:
    lines = ["## Invitation recommendations", ""]
    events = table[["Event", "Date", "Type"]].drop_duplicates()
    if report.upcoming is not None and len(report.upcoming):
        up = report.upcoming
        events = pd.DataFrame({"Event": up["event_name"], "Date": pd.to_datetime(up["event_date"]).dt.date,
                               "Type": up["event_type"].map(_label)})
    if events.empty:
        return [*lines, "No upcoming events after the as-of date.", ""]
    for event in events.itertuples(index=False):
        mine = table.loc[(table["Event"] == event.Event) & (table["Date"] == event.Date)]
        lines += [f"### {cell(event.Event)} — {event.Date} ({event.Type})", ""]
        body = mine[["Rank", "Customer", "Contact", "Reason"]]
        lines += [markdown_table(body) if len(body) else "No customer to recommend for this event yet.", ""]
    return lines


def render_markdown(report: EngagementReport) -> str:
    """The whole report: summary, events by type, leaderboard, advocacy, declines, invitations, bands."""
    t = report_tables(report)
    s = report.summary
    types = ", ".join(f"{_label(k)} ({v})" for k, v in s.get("event_types", {}).items()) or "none"
    lines = [
        f"# Customer engagement report — as of {report.as_of}", "",
        "## Upload summary", "",
        f"{s.get('headline', '')}.", "",
        f"- Customers matched: {s.get('customers', 0)}",
        f"- Date range: {s.get('date_from') or 'n/a'} to {s.get('date_to') or 'n/a'}",
        f"- Event types: {types}",
        f"- No-shows (registered, did not attend): {s.get('no_shows', 0)}", "",
    ]
    lines += _section("Events by type", t["Events by type"], "No events in this upload.")
    lines += _section("Leaderboard", t["Leaderboard"], "No customer has a score yet.")
    lines += _section("Advocacy candidates", t["Advocacy"],
                      "No customer is both highly engaged and not declining.")
    declining = t["Declining"][["Customer", "Score", "Events (current vs previous)", "Events missed",
                                "CSM", "Reason"]]
    lines += _section("Declining engagement", declining, "No customer shows a tested decline.")
    lines += _invitations(report, t["Invitations"])
    lines += _section("Engagement distribution", t["Distribution"], "No customers to distribute.")
    for title, frame in report.extra_sections:
        lines += _section(cell(title), frame, "Nothing to show.")
    if report.closing:
        lines += ["## What changed", "", report.closing, ""]
    return "\n".join(lines).rstrip() + "\n"
