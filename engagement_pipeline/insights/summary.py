"""What the upload contained and how engagement is spread: the numbers a CSM checks first.

Counts are of *attended* person×event records; registrations without attendance are reported separately
as no-shows, so "Found 567 attendance records" never includes people who did not turn up. `events` is the
table of events held (event_id, event_name, event_type, event_date); events nobody attended still count
as held. When it is None the events are those present in `attendance`.
"""

from __future__ import annotations

import pandas as pd

from engagement_pipeline.config import BANDS
from engagement_pipeline.ingest.canonical import EVENT_TYPES

BAR_WIDTH = 20
TREND_LABELS: dict[str, str] = {
    "rising": "▲ rising", "stable": "▶ stable", "declining": "▼ declining",
    "insufficient_data": "insufficient data",
}


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"


def _events_held(attendance: pd.DataFrame, events: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["event_id", "event_type", "event_date"]
    seen = attendance[columns] if events is None else pd.concat([events[columns], attendance[columns]])
    held = seen.drop_duplicates("event_id", ignore_index=True)
    return held.assign(event_date=pd.to_datetime(held["event_date"]))


def upload_summary(attendance: pd.DataFrame, events: pd.DataFrame | None = None) -> dict:
    """Records, people, events, customers, no-shows, date range, events per type and a headline sentence."""
    attended = attendance.loc[attendance["attended"].astype(bool)]
    held = _events_held(attendance, events)
    records, people, n_events = len(attended), int(attended["attendee_key"].nunique()), len(held)
    by_type = held["event_type"].value_counts()
    event_types = {t: int(by_type[t]) for t in (*EVENT_TYPES, *sorted(set(by_type.index) - set(EVENT_TYPES)))
                   if t in by_type.index}
    return {
        "records": records,
        "people": people,
        "events": n_events,
        "customers": int(attended["customer_id"].dropna().nunique()),
        "no_shows": int((attendance["registered"].astype(bool) & ~attendance["attended"].astype(bool)).sum()),
        "date_from": held["event_date"].min().date() if n_events else None,
        "date_to": held["event_date"].max().date() if n_events else None,
        "event_types": event_types,
        "headline": f"Found {_plural(records, 'attendance record')} for {_plural(people, 'user')} "
                    f"across {_plural(n_events, 'event')}",
    }


def event_summary(attendance: pd.DataFrame, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per event type: events held, attended records, average attendees per event (1 decimal)."""
    held = _events_held(attendance, events)
    attended = attendance.loc[attendance["attended"].astype(bool)]
    table = pd.DataFrame({
        "events": held.groupby("event_type")["event_id"].nunique(),
        "attendees": attended.groupby("event_type").size(),
    }).fillna(0).astype(int)
    order = [t for t in EVENT_TYPES if t in table.index] + sorted(set(table.index) - set(EVENT_TYPES))
    table = table.reindex(order).rename_axis("event_type").reset_index()
    table["avg_per_event"] = (table["attendees"] / table["events"].where(table["events"] > 0)).round(1)
    return table[["event_type", "events", "attendees", "avg_per_event"]]


def engagement_distribution(scores: pd.DataFrame) -> pd.DataFrame:
    """Customers per band in High, Good, Medium, Low order ('Not scored' last, only when present)."""
    counts = scores["band"].value_counts()
    bands = [name for name, _ in BANDS] + (["Not scored"] if counts.get("Not scored", 0) else [])
    total = len(scores)
    rows = []
    for band in bands:
        n = int(counts.get(band, 0))
        share = n / total if total else 0.0
        rows.append({"band": band, "customers": n, "share": share, "bar": "█" * round(share * BAR_WIDTH)})
    return pd.DataFrame(rows, columns=["band", "customers", "share", "bar"])


def leaderboard(scores: pd.DataFrame, trends: pd.DataFrame) -> pd.DataFrame:
    """Scored customers by rank: score, 'attended/held' events, users and the tested trend."""
    scored = scores.loc[scores["score"].notna()].merge(trends[["customer_id", "trend"]], on="customer_id",
                                                       how="left")
    scored = scored.assign(rank=scored["rank"].fillna(scored["score"].rank(ascending=False, method="min")))
    scored = scored.sort_values(["rank", "customer_name"], ignore_index=True)
    held = scored[["events_attended", "events_held"]].fillna(0).astype(int)
    return pd.DataFrame({
        "rank": scored["rank"].astype(int),
        "customer": scored["customer_name"],
        "score": scored["score"].round(1),
        "events attended / events held": [f"{a}/{h}" for a, h in
                                          zip(held["events_attended"], held["events_held"], strict=True)],
        "users": scored["users"].fillna(0).astype(int),
        "trend": scored["trend"].fillna("insufficient_data"),
    })
