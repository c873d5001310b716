"""Closing the loop: did invited contacts attend, did advocacy asks succeed, did invitations lift attendance.

An invitation is converted when the attendance history (after a later upload) shows its contact attended
the invited event: the same name (case, punctuation and spacing aside), or an event of the same type held
on the event's date. Measures, as the product states its success criteria:
- invitation conversion = converted / sent, per event and overall;
- attendance lift = invited contacts' attendance rate / the rate of the other known attendees (people who
  had attended any earlier event and were not invited) at the same events, minus 1 (target > 20 %);
- advocacy conversion = won / (won + lost + open) of all opportunities created (target > 25 %);
- the randomised holdout's outcomes (`holdout_outcomes`), from which uplift.py measures the causal uplift.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagement_pipeline.warehouse.action_tables import (
    advocacy_opportunities,
    invitation_events,
    invitations,
    read_table,
)
from engagement_pipeline.warehouse.store import write_lock

CONVERSION_COLUMNS: tuple[str, ...] = ("event_name", "event_date", "sent", "attended", "conversion_rate",
                                       "baseline_rate", "attendance_lift")


def _norm(text: object) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", str(text).lower()).split())


def held_events(attendance: pd.DataFrame) -> pd.DataFrame:
    events = attendance[["event_id", "event_name", "event_type", "event_date"]].drop_duplicates("event_id").copy()
    events["day"] = pd.to_datetime(events["event_date"]).dt.date
    events["norm"] = events["event_name"].map(_norm)
    return events


def match_event(events: pd.DataFrame, name: str, day: object, event_type: object) -> str | None:
    """The held event an invitation was for, or None if it has not shown up in any upload yet."""
    same_name = events.loc[events["norm"] == _norm(name)]
    if day is not None and len(same_name) > 1:
        same_name = same_name.loc[same_name["day"] == day]
    if len(same_name):
        return str(same_name["event_id"].iloc[0])
    same_day = events.loc[(events["day"] == day) & (events["event_type"] == event_type)]
    return str(same_day["event_id"].iloc[0]) if len(same_day) == 1 else None


def mark_conversions(conn: Connection, attendance: pd.DataFrame) -> int:
    """Marks sent, not yet converted invitations whose contact attended the event; returns how many."""
    if attendance.empty:
        return 0
    write_lock(conn)
    pending = conn.execute(sa.select(invitations).where(
        (invitations.c.status == "sent") & invitations.c.converted_at.is_(None))).mappings().all()
    if not pending:  # nothing to mark: no need to index a year of attendance (~0.25 s at 100k records)
        return 0
    events = held_events(attendance)
    attended = attendance.loc[attendance["attended"].astype(bool) & attendance["attendee_email"].notna()]
    who = set(zip(attended["event_id"], attended["attendee_email"].str.lower(), strict=True))
    marked = 0
    for inv in pending:
        event_id = match_event(events, inv["event_name"], inv["event_date"], inv["event_type"])
        if event_id and (event_id, inv["contact_email"].lower()) in who:
            conn.execute(invitations.update().where(invitations.c.invitation_id == inv["invitation_id"])
                         .values(converted_at=datetime.now(UTC), converted_event_id=event_id))
            marked += 1
    return marked


def _baseline(attendance: pd.DataFrame, event_id: str, invited: set[str]) -> float | None:
    """Share of earlier known attendees (not invited to this event) who attended it."""
    rows = attendance.loc[attendance["attended"].astype(bool) & attendance["customer_id"].notna()
                          & attendance["attendee_email"].notna()]
    day = pd.to_datetime(rows.loc[rows["event_id"] == event_id, "event_date"]).min()
    if pd.isna(day):
        return None
    earlier = set(rows.loc[pd.to_datetime(rows["event_date"]) < day, "attendee_email"].str.lower()) - invited
    if not earlier:
        return None
    came = set(rows.loc[rows["event_id"] == event_id, "attendee_email"].str.lower())
    return len(earlier & came) / len(earlier)


def invitation_conversion(conn: Connection, attendance: pd.DataFrame) -> pd.DataFrame:
    """Per invited event (sent invitations only) and an 'All events' row."""
    sent = read_table(conn, invitations, invitations.c.status == "sent")
    if sent.empty:
        return pd.DataFrame(columns=list(CONVERSION_COLUMNS))
    rows = []
    total_base: list[tuple[int, float]] = []
    for (name, day), group in sent.groupby(["event_name", "event_date"], sort=True, dropna=False):
        converted = int(group["converted_event_id"].notna().sum())
        event_ids = group["converted_event_id"].dropna().unique()
        event_id = event_ids[0] if len(event_ids) else (
            match_event(held_events(attendance), name, day, group["event_type"].iloc[0])
            if not attendance.empty else None)
        base = _baseline(attendance, event_id, set(group["contact_email"].str.lower())) if event_id else None
        rate = converted / len(group)
        if base is not None:
            total_base.append((len(group), base))
        rows.append({"event_name": name, "event_date": day, "sent": len(group), "attended": converted,
                     "conversion_rate": round(rate, 3), "baseline_rate": None if base is None else round(base, 3),
                     "attendance_lift": None if not base else round(rate / base - 1, 3)})
    n_sent = sum(r["sent"] for r in rows)
    n_conv = sum(r["attended"] for r in rows)
    base_all = (sum(n * b for n, b in total_base) / sum(n for n, _ in total_base)) if total_base else None
    rate_all = n_conv / n_sent
    rows.append({"event_name": "All events", "event_date": None, "sent": n_sent, "attended": n_conv,
                 "conversion_rate": round(rate_all, 3),
                 "baseline_rate": None if base_all is None else round(base_all, 3),
                 "attendance_lift": None if not base_all else round(rate_all / base_all - 1, 3)})
    return pd.DataFrame.from_records(rows, columns=list(CONVERSION_COLUMNS))


def advocacy_conversion(conn: Connection) -> dict[str, float | int | None]:
    counts = dict(conn.execute(sa.select(advocacy_opportunities.c.status, sa.func.count())
                               .group_by(advocacy_opportunities.c.status)).all())
    total = sum(counts.values())
    won = int(counts.get("won", 0))
    return {"opportunities": total, "open": int(counts.get("open", 0)), "won": won,
            "lost": int(counts.get("lost", 0)), "conversion_rate": round(won / total, 3) if total else None}


def holdout_outcomes(conn: Connection, attendance: pd.DataFrame) -> pd.DataFrame:
    """One row per contact drawn into an arm (invite | holdout) of an event whose attendance has arrived:
    `event` (its name), `event_id`, `arm`, `attended`. The input of `uplift.attendance_uplift`."""
    columns = ["event", "event_id", "arm", "attended"]
    drawn = read_table(conn, invitations, invitations.c.arm.is_not(None))
    if drawn.empty or attendance.empty:
        return pd.DataFrame(columns=columns)
    events = held_events(attendance)
    attended = attendance.loc[attendance["attended"].astype(bool) & attendance["attendee_email"].notna()]
    who = set(zip(attended["event_id"], attended["attendee_email"].str.lower(), strict=True))
    registry = read_table(conn, invitation_events).set_index("event_id")  # the current name (renames)
    rows = []
    for event_id, group in drawn.groupby("event_id", sort=True):
        known = registry.loc[event_id] if event_id in registry.index else group.iloc[-1]
        name, day, event_type = known["event_name"], known["event_date"], known["event_type"]
        held = match_event(events, name, day, event_type) or match_event(
            events, group["event_name"].iloc[0], day, event_type)
        if held is None:
            continue  # the event's attendance has not arrived yet
        for arm, email in zip(group["arm"], group["contact_email"].str.lower(), strict=True):
            rows.append({"event": name, "event_id": event_id, "arm": arm, "attended": (held, email) in who})
    return pd.DataFrame(rows, columns=columns)


def advocacy_outcomes(conn: Connection, candidates: pd.DataFrame, attendance: pd.DataFrame
                      ) -> tuple[pd.Series, pd.Series] | None:
    """Attended any event after the ask, for customers asked to advocate (an opportunity) vs eligible candidates
    not asked, measured from the first ask. Observational: who is asked is chosen, not drawn."""
    asked = read_table(conn, advocacy_opportunities)
    if asked.empty or attendance.empty or candidates.empty:
        return None
    came = attendance.loc[attendance["attended"].astype(bool) & attendance["customer_id"].notna()]
    days = pd.to_datetime(came["event_date"]).dt.tz_localize(None)

    def after(customer: str, since: pd.Timestamp) -> bool:
        return bool((days[came["customer_id"] == customer] > since).any())

    created = pd.to_datetime(asked["created_at"], utc=True).dt.tz_localize(None).dt.normalize()
    first = asked.assign(created=created).groupby("customer_id")["created"].min()
    contacted = pd.Series([after(c, t) for c, t in first.items()], dtype=bool)
    others = [c for c in candidates["customer_id"].astype(str).unique() if c not in first.index]
    not_contacted = pd.Series([after(c, first.min()) for c in others], dtype=bool)
    return contacted, not_contacted
