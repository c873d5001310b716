"""One attendance history out of many uploads: later exports supersede earlier ones, platforms merge.

Two rules keep the counts honest when the same event arrives more than once:
- a later upload of the same event from the same platform (a fuller export) replaces the earlier one;
- the same event from two platforms (Eventbrite registrations + Zoom attendance of a hybrid user group)
  merges per attendee: registered or attended on either side counts, minutes and interactions take the
  larger figure (they measure the same session), and the most specific role wins.
"""

from __future__ import annotations

import pandas as pd

from engagement_pipeline.canonical import CANONICAL_COLUMNS

_ROLE_PRIORITY = {"speaker": 3, "panelist": 2, "attendee": 1, "host": 0}
_ROLE_BY_PRIORITY = {v: k for k, v in _ROLE_PRIORITY.items()}


def supersede_older_exports(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keeps, per (event, platform), only the newest upload's rows; returns (kept, superseded summary)."""
    if records.empty:
        columns = ["upload_id", "event_id", "platform", "superseded_by", "records"]
        return records, pd.DataFrame(columns=columns)
    latest = records.groupby(["event_id", "platform"])["upload_id"].transform("max")
    is_latest = records["upload_id"] == latest
    superseded = (
        records.loc[~is_latest]
        .assign(superseded_by=latest[~is_latest])
        .groupby(["upload_id", "event_id", "platform", "superseded_by"], as_index=False)
        .size()
        .rename(columns={"size": "records"})
    )
    return records.loc[is_latest], superseded


def merge_platforms(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (event_id, attendee_key) across platforms; event facts from the newest upload."""
    if records.empty:
        return pd.DataFrame(columns=list(CANONICAL_COLUMNS))
    ordered = records.sort_values(["upload_id", "source_row"], ascending=[False, True], kind="stable")
    ordered = ordered.assign(_role_rank=ordered["role"].map(_ROLE_PRIORITY).fillna(1).astype(int))
    keys = ["event_id", "attendee_key"]
    merged = ordered.groupby(keys, as_index=False, sort=False).agg(
        attendee_email=("attendee_email", "first"),
        attendee_name=("attendee_name", "first"),
        company=("company", "first"),
        registered=("registered", "any"),
        attended=("attended", "any"),
        minutes_attended=("minutes_attended", "max"),
        questions_asked=("questions_asked", "max"),
        polls_answered=("polls_answered", "max"),
        feedback_submitted=("feedback_submitted", "any"),
        _role_rank=("_role_rank", "max"),
        platform=("platform", "first"),
        source_file=("source_file", "first"),
        source_row=("source_row", "first"),
        rows_folded=("rows_folded", "sum"),
    )
    merged["role"] = merged.pop("_role_rank").map(_ROLE_BY_PRIORITY)
    event_facts = _event_facts(ordered)
    merged = merged.merge(event_facts, on="event_id", how="left")
    merged.loc[~merged["attended"], "minutes_attended"] = 0.0
    return merged[list(CANONICAL_COLUMNS)].sort_values(["event_date", "event_id", "attendee_key"],
                                                        ignore_index=True)


def _event_facts(ordered: pd.DataFrame) -> pd.DataFrame:
    """Name and date from the newest upload; the type from the newest upload that names a specific one."""
    facts = ordered.groupby("event_id", sort=False).agg(
        event_name=("event_name", "first"), event_date=("event_date", "first")
    )
    typed = ordered.loc[ordered["event_type"] != "other"]
    specific = typed.groupby("event_id", sort=False)["event_type"].first()
    facts["event_type"] = specific.reindex(facts.index).fillna("other")
    return facts.reset_index()


def merge_uploads(records: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Upload records (with upload_id) -> (merged canonical attendance, superseded summary)."""
    kept, superseded = supersede_older_exports(records)
    return merge_platforms(kept), superseded


def events_held(attendance: pd.DataFrame) -> pd.DataFrame:
    """Every event that appears in any upload, with its attendance counts; an event nobody from a
    customer attended still counts as an opportunity that was offered."""
    columns = ["event_id", "event_name", "event_type", "event_date", "registered", "attended",
               "duration_minutes"]
    if attendance.empty:
        return pd.DataFrame(columns=columns)
    events = attendance.groupby("event_id", as_index=False).agg(
        event_name=("event_name", "first"),
        event_type=("event_type", "first"),
        event_date=("event_date", "first"),
        registered=("registered", "sum"),
        attended=("attended", "sum"),
    )
    events["duration_minutes"] = float("nan")
    return events[columns].sort_values("event_date", ignore_index=True)
