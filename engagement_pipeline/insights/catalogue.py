"""The catalogue of upcoming events (`events/upcoming_events.csv`), the input of invitation recommendations.

Marketing keeps this file by hand, so it is validated with a pandera schema that names the offending rows
instead of letting a typo in an event type silently drop an event from the recommendations.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.canonical import EVENT_TYPES

UPCOMING_COLUMNS: tuple[str, ...] = ("event_name", "event_type", "event_date", "topics", "registration_url")


class UpcomingEventsFile(pa.DataFrameModel):
    """One row per planned event, as typed in the CSV (`name,type,date,topics,registration_url`)."""

    name: Series[str] = pa.Field(str_length={"min_value": 1})
    type: Series[str] = pa.Field(isin=EVENT_TYPES)
    date: Series[pd.Timestamp] = pa.Field()
    topics: Series[str] = pa.Field(nullable=True)
    registration_url: Series[str] = pa.Field(nullable=True, str_matches=r"^https?://\S+$")

    @pa.dataframe_check
    def one_row_per_event(cls, df: pd.DataFrame) -> bool:
        return not df.duplicated(["name", "date"]).any()

    class Config:
        name = "upcoming_events"
        strict = True
        coerce = True


def parse_topics(raw: object) -> tuple[str, ...]:
    """'Analytics; Dashboards;' -> ('analytics', 'dashboards'): lower-case, stripped, de-duplicated."""
    if not isinstance(raw, str):
        return ()
    seen: dict[str, None] = {}
    for part in raw.split(";"):
        topic = " ".join(part.strip().lower().split())
        if topic:
            seen[topic] = None
    return tuple(seen)


def load_upcoming_events(path: Path, as_of: date | None = None) -> pd.DataFrame:
    """Validated upcoming events; with `as_of`, only those strictly after it (past ones are history).
    The catalogue is optional: no file means no upcoming events (the report says so), not an error."""
    if not path.exists():
        return pd.DataFrame({c: pd.Series(dtype="datetime64[ns]" if c == "event_date" else "object")
                             for c in UPCOMING_COLUMNS})
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    raw = raw.apply(lambda col: col.str.strip())
    raw["type"] = raw["type"].str.lower().str.replace(" ", "_").str.replace("-", "_")
    for column in ("topics", "registration_url"):
        if column in raw:
            raw[column] = raw[column].replace("", None)
    valid = UpcomingEventsFile.validate(raw, lazy=True)
    events = pd.DataFrame(
        {
            "event_name": valid["name"].astype(object),
            "event_type": valid["type"].astype(object),
            "event_date": pd.to_datetime(valid["date"]).dt.normalize(),
            "topics": valid["topics"].map(parse_topics).astype(object),
            "registration_url": valid["registration_url"].astype(object),
        }
    )
    if as_of is not None:
        events = events.loc[events["event_date"] > pd.Timestamp(as_of)]
    return events.sort_values(["event_date", "event_name"], ignore_index=True)[list(UPCOMING_COLUMNS)]
