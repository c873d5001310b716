"""The engagement report as GitHub-flavoured Markdown, and the display tables the workbook shares.

Reading order is the CSM's: what needs action (declining customers with ARR, owner and the reason in plain
words, new risk signals, outreach due this week), then the top 10, advocacy, invitations per event, the
distribution and events by type. Statistics (p-values, rate ratios, windows) are only in the technical
appendix; full tables are in the .xlsx (`report_tables` builds them once, so the two never disagree).

Every cell and every name is passed through `escape.md_text`: uploaded names cannot make links, images,
HTML or broken tables. Charts are our own SVG, embedded as `data:` image URIs (`charts.md_image`).
"""

from __future__ import annotations

import math
import re
from datetime import timedelta
from typing import TYPE_CHECKING

import pandas as pd

from engagement_pipeline.insights.summary import TREND_LABELS
from engagement_pipeline.report.charts import histogram_svg, md_image, sparkline_svg
from engagement_pipeline.report.escape import md_text

if TYPE_CHECKING:
    from engagement_pipeline.report import EngagementReport

TOP_N = 10
SMALL_TABLE = 10  # extra sections up to this many rows are shown in full in the appendix, longer ones counted
SUMMARISED = frozenset({"Open risk signals", "Outreach tasks", "Customer health (lowest first)"})
OUTREACH_DAYS = 7
_P_VALUE = re.compile(r"\s*\((?:p\s*[=<]\s*[0-9.eE-]+|p not tested)\)")


class Markup(str):
    """Markdown we wrote ourselves (a chart image): passed through by `cell` unescaped."""


def cell(value: object) -> str:
    """One Markdown table cell: missing -> '', user text escaped (`md_text`: pipes, links, HTML, newlines)."""
    if isinstance(value, Markup):
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return md_text(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GFM table of every column of `frame`, headers as the column names."""
    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def plain_reason(reason: object) -> str:
    """The risk sentence without its statistics: '… vs 8 of 9 in the 6 before (p=0.055); missed …' loses the
    '(p=0.055)'. The figures stay in the technical appendix."""
    return _P_VALUE.sub("", "" if reason is None else str(reason))


def _label(event_type: object) -> str:
    return str(event_type).replace("_", " ")


def _score(value: object) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 1)


def _fmt_score(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):.1f}"


def _money(value: object) -> str:
    return "" if value is None or pd.isna(value) else f"{float(value):,.0f}"


def report_tables(report: EngagementReport) -> dict[str, pd.DataFrame]:
    """Display-ready tables keyed by sheet name, in report order; numbers stay numbers (for the .xlsx)."""
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
            "Band": dist["band"], "Customers": dist["customers"], "Share": dist["share"].astype(float),
        }),
    }


def _block(frame: pd.DataFrame, empty: str) -> list[str]:
    return [markdown_table(frame) if len(frame) else empty, ""]


def _spark(report: EngagementReport, name: object) -> Markup:
    points = report.history.get(str(name), [])
    return Markup(md_image(sparkline_svg(points), "score history") if len(points) > 1 else "")


def _mine(frame: pd.DataFrame | None, column: str, names: set[str] | None) -> pd.DataFrame:
    if frame is None:
        return pd.DataFrame()
    return frame if names is None else frame.loc[frame[column].astype(str).isin(names)]


def _needs_action(report: EngagementReport, names: set[str] | None) -> list[str]:
    risks = _mine(report.risks, "customer_name", names)
    lines = ["## Needs action", "", "### Declining engagement", ""]
    declining = pd.DataFrame({
        "Customer": risks["customer_name"], "ARR": risks["arr"].map(_money), "CSM": risks["csm_owner"],
        "Score": risks["score"].map(_fmt_score),
        "Score history": [_spark(report, n) for n in risks["customer_name"]],
        "Why": risks["reason"].map(plain_reason),
    })
    lines += _block(declining, "No customer shows a tested decline.")
    signals = _mine(report.signals, "customer_name", names)
    lines += ["### New risk signals", ""]
    new = signals.loc[signals["created_now"].astype(bool)] if len(signals) and "created_now" in signals else \
        signals.iloc[0:0]
    if len(new):
        for customer, causes in new.groupby("customer_name", sort=False)["cause"]:
            lines.append(f"- {md_text(customer)}: {md_text(', '.join(_label(c) for c in dict.fromkeys(causes)))}")
        lines.append("")
    else:
        lines += [f"No new risk signal in this run ({len(signals)} still open).", ""]
    tasks = _mine(report.tasks, "customer_name", names)
    lines += [f"### Outreach due within {OUTREACH_DAYS} days", ""]
    if len(tasks):
        due = pd.to_datetime(tasks["due_date"]).dt.date
        tasks = tasks.loc[due <= report.as_of + timedelta(days=OUTREACH_DAYS)]
    table = pd.DataFrame({
        "Customer": tasks["customer_name"] if len(tasks) else [], "CSM": tasks["csm_owner"] if len(tasks) else [],
        "Due": pd.to_datetime(tasks["due_date"]).dt.date if len(tasks) else [],
        "Action": tasks["suggested_action"].map(lambda t: plain_reason(str(t)).split(":")[0]) if len(tasks) else [],
    })
    lines += _block(table, "No outreach due this week.")
    return lines


def _leaderboard(report: EngagementReport, names: set[str] | None) -> list[str]:
    lb = _mine(report.leaderboard, "customer", names)
    top = lb.head(TOP_N)
    title = f"## Top {TOP_N} customers" if len(lb) > TOP_N else "## Leaderboard"
    table = pd.DataFrame({
        "Rank": top["rank"], "Customer": top["customer"], "Score": top["score"].map(_fmt_score),
        "Score history": [_spark(report, n) for n in top["customer"]],
        "Events attended / held": top["events attended / events held"],
        "Trend": top["trend"].map(lambda t: TREND_LABELS.get(t, t)),
    })
    lines = [title, "", *_block(table, "No customer has a score yet.")]
    if len(lb) > TOP_N:
        lines += [f"{len(lb) - TOP_N} more scored customers: *Leaderboard* sheet of the .xlsx and the "
                  "`engagement_scores` asset.", ""]
    return lines


def _advocacy(report: EngagementReport, names: set[str] | None) -> list[str]:
    adv = _mine(report.advocacy, "customer_name", names)
    table = pd.DataFrame({
        "Customer": adv["customer_name"], "Score": adv["score"].map(_fmt_score), "Champion": adv["champion"],
        "Why": adv["notable_text"], "Ask for": adv["suggested_types_text"],
    })
    return ["## Advocacy candidates", "", *_block(table, "No customer is both highly engaged and not declining.")]


def _invitations(report: EngagementReport, names: set[str] | None) -> list[str]:
    rec = _mine(report.recommendations, "customer_name", names)
    lines = ["## Invitations", ""]
    events = rec[["event_name", "event_date", "event_type"]].drop_duplicates()
    if report.upcoming is not None and len(report.upcoming):
        events = report.upcoming[["event_name", "event_date", "event_type"]]
    if events.empty:
        return [*lines, "No upcoming events after the as-of date.", ""]
    rec_dates = pd.to_datetime(rec["event_date"]).dt.date
    for ev in events.itertuples(index=False):
        day = pd.Timestamp(ev.event_date).date()
        mine = rec.loc[(rec["event_name"] == ev.event_name) & (rec_dates == day)]
        lines += [f"### {md_text(ev.event_name)} — {day} ({_label(ev.event_type)})", ""]
        table = pd.DataFrame({
            "#": mine["rank"], "Customer": mine["customer_name"],
            "Contact": [f"{n} ({e})" if isinstance(n, str) and n else e
                        for n, e in zip(mine["contact_name"], mine["contact_email"], strict=True)],
            "Why": mine["reason"],
        })
        lines += _block(table, "No customer to recommend for this event yet.")
    return lines


def _distribution(report: EngagementReport, names: set[str] | None) -> list[str]:
    lines = ["## Score distribution", ""]
    if report.scores and names is None:
        lines += [md_image(histogram_svg(report.scores, bins=10, title="Customers by engagement score"),
                      "histogram of engagement scores"), ""]
    dist = report.distribution
    table = pd.DataFrame({"Band": dist["band"], "Customers": dist["customers"],
                          "Share": [f"{s:.0%}" for s in dist["share"]]})
    return [*lines, *_block(table, "No customers to distribute.")]


def _events(report: EngagementReport) -> list[str]:
    ev = report.event_summary
    table = pd.DataFrame({"Event type": ev["event_type"].map(_label), "Events": ev["events"],
                          "Attendees": ev["attendees"], "Avg per event": ev["avg_per_event"]})
    return ["## Events by type", "", *_block(table, "No events in this upload.")]


def _appendix(report: EngagementReport, names: set[str] | None) -> list[str]:
    s = report.summary
    types = ", ".join(f"{_label(k)} ({v})" for k, v in s.get("event_types", {}).items()) or "none"
    months = max(1, round(report.trend_window_days / 30.44))
    lines = [
        "## Technical appendix", "",
        f"- Upload: {md_text(s.get('headline', ''))}; customers matched: {s.get('customers', 0)}; "
        f"date range {s.get('date_from') or 'n/a'} to {s.get('date_to') or 'n/a'}; event types: {types}; "
        f"no-shows (registered, did not attend): {s.get('no_shows', 0)}.",
        f"- Trend test: attendance rate in the last {months} months ({report.trend_window_days} days) vs the "
        f"{months} before, exact rate-ratio test; 'declining' when the rate fell at p < {report.trend_alpha:g}.",
    ]
    risks = _mine(report.risks, "customer_name", names)
    if len(risks):
        lines += ["", markdown_table(pd.DataFrame({
            "Customer": risks["customer_name"], "Rate ratio": risks["rate_ratio"].map(
                lambda r: "" if pd.isna(r) else f"{float(r):.2f}"),
            "p-value": risks["p_value"].map(lambda p: "" if pd.isna(p) else f"{float(p):.3g}"),
            "Full reason": risks["reason"]}))]
    small = [(t, f) for t, f in report.extra_sections if t not in SUMMARISED and 0 < len(f) <= SMALL_TABLE]
    for title, frame in small:
        lines += ["", f"### {md_text(title)}", "", markdown_table(frame)]
    large = [(t, f) for t, f in report.extra_sections if not any(f is g for _, g in small)]
    if large:
        lines += ["", "Full tables (in the .xlsx, one sheet each, and in the Dagster assets):", ""]
        lines += [f"- {md_text(title)}: {len(frame)} rows" for title, frame in large]
    return [*lines, ""]


def owner_names(report: EngagementReport, owner: str) -> set[str]:
    """Customer names whose CSM owner is `owner` (case-insensitive)."""
    wanted = owner.strip().casefold()
    return {name for name, csm in report.owners.items() if str(csm).strip().casefold() == wanted}


def report_owners(report: EngagementReport) -> list[str]:
    """The CSM owners of the customers in the report, sorted."""
    return sorted({str(o) for o in report.owners.values() if o and not pd.isna(o)})


def render_markdown(report: EngagementReport, owner: str | None = None) -> str:
    """The whole report, or one CSM owner's view of it (their customers only)."""
    names = owner_names(report, owner) if owner else None
    s = report.summary
    declining = len(_mine(report.risks, "customer_name", names))
    at_risk = float(pd.to_numeric(_mine(report.risks, "customer_name", names).get("arr", pd.Series(dtype=float)),
                                  errors="coerce").sum()) if declining else 0.0
    title = f"# Customer engagement report — as of {report.as_of}"
    if owner:
        canonical = next((str(o) for o in report_owners(report) if o.strip().casefold() == owner.strip().casefold()),
                         owner)
        title += f" — {md_text(canonical)}'s customers"
    attention = (f"**{declining} customer{'s' * (declining != 1)} need{'s' * (declining == 1)} action** "
                 f"(ARR at risk {_money(at_risk)})." if declining else "No customer needs action.")
    lines = [title, "", f"{md_text(s.get('headline', ''))}. {attention}", ""]
    if owner and not names:
        lines += [f"No customer in the CRM has {md_text(owner)} as CSM owner.", ""]
    lines += _needs_action(report, names)
    lines += _leaderboard(report, names)
    lines += _advocacy(report, names)
    lines += _invitations(report, names)
    lines += _distribution(report, names)
    if names is None:
        lines += _events(report)
    lines += _appendix(report, names)
    if report.closing:
        lines += ["## What changed", "", md_text(report.closing), ""]
    return "\n".join(lines).rstrip() + "\n"
