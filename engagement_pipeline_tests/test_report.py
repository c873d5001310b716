"""The report renders the insights as valid Markdown and as a workbook that Excel cannot be tricked by.

The report is assembled from small hand-made insight tables (the insights are tested in test_insights.py),
one customer name carrying a pipe and one carrying a formula.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from engagement_pipeline.insights.summary import engagement_distribution
from engagement_pipeline.report import EngagementReport, render_markdown, write_workbook
from engagement_pipeline.report.workbook import safe_value

HEADLINE = "Found 17 attendance records for 7 users across 6 events"


def make_report(**overrides: object) -> EngagementReport:
    summary = {"records": 17, "people": 7, "events": 6, "customers": 4, "no_shows": 2,
               "date_from": date(2025, 9, 10), "date_to": date(2026, 6, 10),
               "event_types": {"webinar": 3, "user_group": 1, "training": 1, "conference": 1},
               "headline": HEADLINE}
    leaderboard = pd.DataFrame({
        "rank": [1, 2, 3], "customer": ["Acme Corp", "Bolt | Co", "=HYPERLINK(\"http://x\")"],
        "score": [91.0, 75.0, 45.0], "events attended / events held": ["6/6", "3/6", "3/6"],
        "users": [2, 1, 1], "trend": ["stable", "insufficient_data", "declining"],
    })
    advocacy = pd.DataFrame({
        "customer_id": ["C1"], "customer_name": ["Acme Corp"], "score": [91.0], "trend": ["stable"],
        "notable": [["spoke at 1 event", "asked 12 questions"]], "suggested_types": [["speaking", "reference"]],
        "champion": ["Ana Lima (ana@acme.com)"], "champion_name": ["Ana Lima"], "champion_email": ["ana@acme.com"],
        "notable_text": ["spoke at 1 event; asked 12 questions"], "suggested_types_text": ["speaking, reference"],
    })
    risks = pd.DataFrame({
        "customer_id": ["C3"], "customer_name": ["Cobalt Inc"], "score": [45.0], "band": ["Medium"],
        "events_current": [0], "events_previous": [3], "events_missed": [3], "rate_ratio": [0.0],
        "p_value": [0.031], "csm_owner": ["Dana"], "arr": [300_000.0],
        "reason": ["attended 0 events in the last 6 months vs 3 in the 6 before (p=0.031); "
                   "missed the last 3 events in a row"],
    })
    recommendations = pd.DataFrame({
        "event_name": ["Dashboards Webinar"], "event_date": [pd.Timestamp("2026-07-15")],
        "event_type": ["webinar"], "customer_id": ["C1"], "customer_name": ["Acme Corp"],
        "contact_name": ["Ana Lima"], "contact_email": ["ana@acme.com"],
        "reason": ["attended 3 events on analytics, dashboards"], "relevance": [3.0], "rank": [1],
        "registration_url": [None],
    })
    upcoming = pd.DataFrame({"event_name": ["Dashboards Webinar", "Advisory User Group"],
                             "event_type": ["webinar", "user_group"],
                             "event_date": pd.to_datetime(["2026-07-15", "2026-08-05"])})
    event_summary = pd.DataFrame({"event_type": ["webinar", "user_group"], "events": [3, 1],
                                  "attendees": [8, 3], "avg_per_event": [2.7, 3.0]})
    bands = pd.DataFrame({"band": ["High", "Good", "Medium", "Low", "Not scored"]})
    fields = {
        "as_of": date(2026, 6, 30), "summary": summary, "event_summary": event_summary,
        "leaderboard": leaderboard, "advocacy": advocacy, "risks": risks, "recommendations": recommendations,
        "distribution": engagement_distribution(bands), "upcoming": upcoming,
    }
    fields.update(overrides)
    return EngagementReport(**fields)


def _tables(markdown: str) -> list[list[str]]:
    """Blocks of consecutive table lines."""
    tables: list[list[str]] = []
    previous = False
    for line in markdown.splitlines():
        if line.startswith("|"):
            if not previous:
                tables.append([])
            tables[-1].append(line)
        previous = line.startswith("|")
    return tables


def test_markdown_has_headline_and_known_rows() -> None:
    text = render_markdown(make_report())
    assert text.startswith("# Customer engagement report — as of 2026-06-30\n")
    assert f"{HEADLINE}." in text
    assert "- Date range: 2025-09-10 to 2026-06-10" in text
    assert "| 1 | Acme Corp | 91.0 | 6/6 | 2 | ▶ stable |" in text
    assert "| 3 | =HYPERLINK(\"http://x\") | 45.0 | 3/6 | 1 | ▼ declining |" in text
    assert "| Acme Corp | 91.0 | Ana Lima (ana@acme.com) | spoke at 1 event; asked 12 questions | " \
           "speaking, reference |" in text
    assert "| Cobalt Inc | 45.0 | 0 vs 3 | 3 | Dana | attended 0 events" in text
    assert "### Dashboards Webinar — 2026-07-15 (webinar)" in text
    assert "| 1 | Acme Corp | Ana Lima (ana@acme.com) | attended 3 events on analytics, dashboards |" in text
    assert "### Advisory User Group — 2026-08-05 (user group)\n\nNo customer to recommend" in text
    assert "| High | 1 | 20% | ████ |" in text


def test_markdown_escapes_pipes_and_newlines_and_keeps_columns() -> None:
    board = make_report().leaderboard.assign(customer=["Acme Corp", "Bolt | Co", "Two\nLines"])
    text = render_markdown(make_report(leaderboard=board))
    assert "| 2 | Bolt \\| Co | 75.0 | 3/6 | 1 | insufficient data |" in text
    assert "Two<br>Lines" in text
    for table in _tables(text):  # every row has its header's number of unescaped pipes
        assert len({row.replace("\\|", "").count("|") for row in table}) == 1
    board_rows = next(t for t in _tables(text) if t[0].startswith("| Rank | Customer | Score"))
    assert len(board_rows) == 2 + 3


def test_markdown_never_passes_raw_html() -> None:
    board = make_report().leaderboard.assign(customer=["<script>x</script>", "b", "c"])
    assert "| &lt;script&gt;x&lt;/script&gt; |" in render_markdown(make_report(leaderboard=board))


def test_markdown_says_so_when_sections_are_empty() -> None:
    empty = make_report(risks=make_report().risks.iloc[0:0], advocacy=make_report().advocacy.iloc[0:0],
                        extra_sections=[("Unmatched attendees", pd.DataFrame({"email": ["gus@gmail.com"]}))])
    text = render_markdown(empty)
    assert "## Declining engagement\n\nNo customer shows a tested decline." in text
    assert "No customer is both highly engaged and not declining." in text
    assert "## Unmatched attendees\n\n| email |\n|---|\n| gus@gmail.com |" in text


def test_workbook_sheets_values_and_formula_neutralisation(tmp_path: Path) -> None:
    report = make_report(extra_sections=[("Ingestion ledger", pd.DataFrame({"file": ["-a.csv"], "rows": [3]}))])
    path = write_workbook(report, tmp_path / "out" / "report.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "Events by type", "Leaderboard", "Advocacy", "Declining",
                               "Invitations", "Distribution", "Ingestion ledger"]
    board = book["Leaderboard"]
    assert [c.value for c in board[1]] == ["Rank", "Customer", "Score", "Events attended / events held",
                                           "Users", "Trend"]
    assert [c.value for c in board[2]] == [1, "Acme Corp", "91.0", "6/6", 2, "▶ stable"]
    assert board["B4"].value == "'=HYPERLINK(\"http://x\")" and board["B4"].data_type == "s"
    assert board["A1"].font.bold and board.freeze_panes == "A2"
    assert board.column_dimensions["D"].width == len("Events attended / events held") + 2
    assert book["Summary"]["B2"].value == HEADLINE
    assert book["Declining"]["G2"].value.startswith("attended 0 events")
    assert book["Invitations"]["F2"].value == "Ana Lima (ana@acme.com)"
    assert book["Ingestion ledger"]["A2"].value == "'-a.csv"


def test_safe_value() -> None:
    for raw in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_value(raw) == "'" + raw
    assert safe_value("Acme") == "Acme"
    assert safe_value(-1.5) == -1.5
    assert safe_value(float("nan")) is None
