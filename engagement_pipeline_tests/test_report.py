"""The report renders the insights as valid Markdown and as a workbook that Excel cannot be tricked by.

The report is assembled from small hand-made insight tables (the insights are tested in test_insights.py),
one customer name carrying a pipe and one carrying a formula.
"""

from __future__ import annotations

import base64
import html as html_lib
import re
from datetime import date
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

from engagement_pipeline.insights.summary import engagement_distribution
from engagement_pipeline.report import EngagementReport, render_markdown, write_workbook
from engagement_pipeline.report.charts import bar_svg, histogram_svg, sparkline_svg
from engagement_pipeline.report.escape import mask_email, mask_emails_in, md_text
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
    assert f"{HEADLINE}. **1 customer needs action** (ARR at risk 300,000)." in text
    assert "date range 2025-09-10 to 2026-06-10" in text  # the upload figures are in the appendix
    assert "| 1 | Acme Corp | 91.0 |  | 6/6 | ▶ stable |" in text
    assert "| 3 | =HYPERLINK(\"http:\u2060//x\") | 45.0 |  | 3/6 | ▼ declining |" in text
    assert "| Acme Corp | 91.0 | Ana Lima (ana@\u2060acme.com) | spoke at 1 event; asked 12 questions | " \
           "speaking, reference |" in text
    assert "| Cobalt Inc | 300,000 | Dana | 45.0 |  | attended 0 events in the last 6 months vs 3 in the 6 before; " \
           "missed the last 3 events in a row |" in text
    assert "### Dashboards Webinar — 2026-07-15 (webinar)" in text
    assert "| 1 | Acme Corp | Ana Lima (ana@\u2060acme.com) | attended 3 events on analytics, dashboards |" in text
    assert "### Advisory User Group — 2026-08-05 (user group)\n\nNo customer to recommend" in text
    assert "| High | 1 | 20% |" in text


def test_needs_action_comes_first_and_p_values_only_in_the_appendix() -> None:
    signals = pd.DataFrame({"customer_name": ["Cobalt Inc", "Cobalt Inc"], "cause": ["declining_attendance",
                            "missed_events"], "detail": ["x (p=0.031)", "y"], "as_of": ["2026-06-30"] * 2,
                            "created_now": [True, True]})
    tasks = pd.DataFrame({"customer_name": ["Cobalt Inc"], "csm_owner": ["Dana"], "due_date": ["2026-07-03"],
                          "suggested_action": ["Call Ann to review their goals: attended 0 events (p=0.031)"]})
    text = render_markdown(make_report(signals=signals, tasks=tasks))
    order = [text.index(h) for h in ("## Needs action", "### Declining engagement", "### New risk signals",
                                     "### Outreach due within 7 days", "## Top 10 customers" if "## Top 10" in
                                     text else "## Leaderboard", "## Advocacy candidates", "## Invitations",
                                     "## Score distribution", "## Events by type", "## Technical appendix")]
    assert order == sorted(order)
    assert "- Cobalt Inc: declining attendance, missed events" in text
    assert "| Cobalt Inc | Dana | 2026-07-03 | Call Ann to review their goals |" in text
    body, appendix = text.split("## Technical appendix")
    assert not re.search(r"\bp\s*[=<]|p-value", body), "statistics belong in the appendix"
    assert "p=0.031" in appendix and "| 0.031 |" in appendix
    assert body.count("attended 0 events in the last 6 months") == 1  # the reason once


def test_leaderboard_is_cut_to_the_top_10_and_sparklines_and_histogram_are_embedded() -> None:
    n = 25
    board = pd.DataFrame({"rank": range(1, n + 1), "customer": [f"C{i}" for i in range(n)],
                          "score": [90.0 - i for i in range(n)], "events attended / events held": ["1/2"] * n,
                          "users": [1] * n, "trend": ["stable"] * n})
    history = {"C0": [(date(2026, 1, 1), 50.0), (date(2026, 3, 1), 70.0), (date(2026, 6, 30), 90.0)]}
    text = render_markdown(make_report(leaderboard=board, history=history, scores=[float(v) for v in range(n)]))
    top = next(t for t in _tables(text) if t[0].startswith("| Rank | Customer | Score | Score history"))
    assert len(top) == 2 + 10
    assert "15 more scored customers" in text
    uri = re.search(r"!\[score history\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", top[2])
    assert uri and base64.b64decode(uri[1]).decode().startswith("<svg") and "polyline" in base64.b64decode(
        uri[1]).decode()
    assert "![histogram of engagement scores](data:image/svg+xml;base64," in text


def test_markdown_escapes_pipes_and_newlines_and_keeps_columns() -> None:
    board = make_report().leaderboard.assign(customer=["Acme Corp", "Bolt | Co", "Two\nLines"])
    text = render_markdown(make_report(leaderboard=board))
    assert "| 2 | Bolt \\| Co | 75.0 |  | 3/6 | insufficient data |" in text
    assert "Two Lines" in text
    for table in _tables(text):  # every row has its header's number of unescaped pipes
        assert len({row.replace("\\|", "").count("|") for row in table}) == 1


HOSTILE = ["[x](https://evil)", "![x](https://evil/p.png)", "<img src=x onerror=alert(1)>",
           "<script>x</script>", "www.evil.example", "Mallory <https://evil>", "`code` *bold* _it_ ~~s~~"]


def _rendered_html(markdown: str) -> str:
    """The Markdown as CommonMark with GFM tables and strikethrough renders it (markdown-it-py, which rich
    brings with dagster); GFM's bare-URL autolinks are covered by `test_md_text_and_mask_email`."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark").enable(["table", "strikethrough"]).render(markdown)


def test_hostile_names_and_companies_render_as_text_with_no_link_image_or_html() -> None:
    board = pd.DataFrame({"rank": range(1, len(HOSTILE) + 1), "customer": HOSTILE, "score": [50.0] * len(HOSTILE),
                          "events attended / events held": ["1/2"] * len(HOSTILE), "users": [1] * len(HOSTILE),
                          "trend": ["stable"] * len(HOSTILE)})
    rec = make_report().recommendations.assign(customer_name=[HOSTILE[0]], contact_name=[HOSTILE[2]],
                                               event_name=[HOSTILE[1]])
    upcoming = pd.DataFrame({"event_name": [HOSTILE[1]], "event_type": ["webinar"],
                             "event_date": pd.to_datetime(["2026-07-15"])})
    text = render_markdown(make_report(leaderboard=board, recommendations=rec, upcoming=upcoming))
    html = _rendered_html(text)
    assert "<a " not in html, "no live link"
    assert "<img" not in html.replace('src="data:image/svg+xml', ""), "no remote image"
    assert "<script" not in html and "onerror=alert" not in html.replace("&lt;img src=x onerror=alert", "")
    for word in ("<code>code", "<em>bold", "<em>it", "<s>s", "<del>s"):
        assert word not in html
    shown = html.replace("&quot;", '"').replace("\u2060", "")  # the word joiner is invisible
    for hostile in HOSTILE:  # and each still reads as what was uploaded
        assert html_lib.escape(hostile, quote=False) in shown, hostile


def test_md_text_and_mask_email() -> None:
    # GFM autolinks bare URLs, www. and addresses after escapes are resolved: an invisible joiner breaks them.
    assert md_text("[x](https://evil)") == "\\[x\\](https:\u2060//evil)"
    assert md_text("www.evil.io") == "www\u2060.evil.io" and md_text("a@b.io") == "a@\u2060b.io"
    assert md_text(None) == "" and md_text(float("nan")) == ""
    assert md_text("Acme (EU) GmbH #1") == "Acme (EU) GmbH #1"
    assert mask_email("Dana.Lee@Acme.IO") == "d***@acme.io" and mask_email("nobody") == "***"
    assert mask_emails_in("Ana Lima (ana@acme.com), bo@x.org") == "Ana Lima (a***@acme.com), b***@x.org"


def test_charts_are_standalone_svg() -> None:
    for svg in (histogram_svg([1, 5, 55, 99, 100], bins=10, title="Scores <all>"),
                sparkline_svg([(date(2026, 1, 1), 40.0), (date(2026, 2, 1), 45.0)]),
                sparkline_svg([]), bar_svg(["High", "Low"], [3, 41], title="Bands")):
        assert svg.startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"") and svg.endswith("</svg>")
        assert "href" not in svg and "<script" not in svg and "url(" not in svg
    assert "Scores &lt;all&gt;" in histogram_svg([1.0], title="Scores <all>")
    assert histogram_svg([5, 15, 15], bins=10).count('fill="#4f6fd6"') == 10  # one bar per bin


def test_owner_view_keeps_only_the_owners_customers() -> None:
    owners = {"Acme Corp": "Dana", "Cobalt Inc": "Dana", "Bolt | Co": "Eve"}
    board = make_report().leaderboard.assign(customer=["Acme Corp", "Bolt | Co", "Cobalt Inc"])
    report = make_report(leaderboard=board, owners=owners)
    dana = render_markdown(report, owner="dana")
    assert "— Dana's customers" in dana.splitlines()[0] and "Cobalt Inc" in dana and "Bolt" not in dana
    eve = render_markdown(report, owner="Eve")
    assert "No customer shows a tested decline." in eve and "Cobalt" not in eve


def test_markdown_says_so_when_sections_are_empty() -> None:
    empty = make_report(risks=make_report().risks.iloc[0:0], advocacy=make_report().advocacy.iloc[0:0],
                        extra_sections=[("Unmatched attendees", pd.DataFrame({"email": ["gus@gmail.com"]}))])
    text = render_markdown(empty)
    assert "### Declining engagement\n\nNo customer shows a tested decline." in text
    assert "No customer needs action." in text
    assert "No customer is both highly engaged and not declining." in text
    assert "### Unmatched attendees\n\n| email |\n|---|\n| gus@\u2060gmail.com |" in text


def test_workbook_sheets_numbers_formats_filters_and_chart(tmp_path: Path) -> None:
    report = make_report(extra_sections=[("Ingestion ledger", pd.DataFrame({"file": ["-a.csv"], "rows": [3]}))])
    path = write_workbook(report, tmp_path / "out" / "report.xlsx")
    book = load_workbook(path)
    assert book.sheetnames == ["Summary", "Chart", "Events by type", "Leaderboard", "Advocacy", "Declining",
                               "Invitations", "Distribution", "Ingestion ledger"]
    assert len(book.chartsheets) == 1 and len(book["Chart"]._charts) == 1
    board = book["Leaderboard"]
    assert [c.value for c in board[1]] == ["Rank", "Customer", "Score", "Events attended / events held",
                                           "Users", "Trend"]
    assert [c.value for c in board[2]] == [1, "Acme Corp", 91.0, "6/6", 2, "▶ stable"]
    assert board["C2"].data_type == "n" and board["C2"].number_format == "0.0"
    assert board["B4"].value == "'=HYPERLINK(\"http://x\")" and board["B4"].data_type == "s"
    assert board["A1"].font.bold and board.freeze_panes == "A2" and board.auto_filter.ref == "A1:F4"
    ranges = {str(r.sqref) for r in board.conditional_formatting}
    assert {"C2:C4", "F2:F4"} <= ranges
    assert board.column_dimensions["D"].width == len("Events attended / events held") + 2
    share = book["Distribution"]["C2"]
    assert share.data_type == "n" and share.number_format == "0%"
    declining = book["Declining"]
    assert declining["F2"].value == 300000 and declining["F2"].number_format == "#,##0"
    assert book["Summary"]["B2"].value == HEADLINE
    assert declining["G2"].value.startswith("attended 0 events")
    assert book["Invitations"]["F2"].value == "Ana Lima (ana@acme.com)"
    assert book["Ingestion ledger"]["A2"].value == "'-a.csv"


def test_safe_value() -> None:
    for raw in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"):
        assert safe_value(raw) == "'" + raw
    assert safe_value("Acme") == "Acme"
    assert safe_value(-1.5) == -1.5
    assert safe_value(float("nan")) is None
