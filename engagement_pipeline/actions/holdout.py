"""Which invited event is which (a stable event id), and the randomised holdout drawn for it.

The id: the catalogue's `event_id` when it has one; else the id already registered for an event on the same
date and of the same type with the same name, or with another name no longer in the catalogue (a rename, only
recognised when the caller gives the catalogue, as the CLI and the job do); else a new id derived from name, date
and type. Renaming an event therefore never invites anyone again.

The holdout: the eligible contacts (valid, not suppressed, under the frequency cap) are put in the random
order `sha256(seed | email)` and the first round(share x n) are held out, so the share is exact rather than
a coin per contact. The share and the seed (the event id) are recorded with the event the first time it is
invited and never change; each contact's arm is stored on its invitation row and never re-drawn, and contacts
who become eligible later are drawn with the same seed, topping the holdout up to the share of everyone
drawn. The draw itself is a pure function of seed, share and addresses: the same in every re-run and restart,
whatever order the contacts come in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagement_pipeline.warehouse.action_tables import invitation_events

DEFAULT_HOLDOUT_SHARE = 0.2
INVITE, HOLDOUT = "invite", "holdout"


def derived_event_id(name: object, day: object, event_type: object) -> str:
    key = f"{' '.join(str(name).lower().split())}|{day or ''}|{event_type or ''}"
    return "evt-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def _key(seed: str, email: str) -> bytes:
    return hashlib.sha256(f"{seed}|{email.strip().lower()}".encode()).digest()


def assign_arms(seed: str, emails: Sequence[str], share: float, drawn: int = 0, held: int = 0) -> dict[str, str]:
    """Arms for contacts not drawn before: the event's holdout reaches round(share x everyone drawn), taking
    the newcomers in the order of sha256(seed | email), a random order fixed by the seed. `drawn` and `held`
    count the contacts already drawn for the event and how many of them are held out (never re-drawn)."""
    fresh = sorted({e.strip().lower() for e in emails}, key=lambda e: _key(seed, e))
    target = round(share * (drawn + len(fresh)))
    take = min(len(fresh), max(0, target - held))
    return {email: HOLDOUT if i < take else INVITE for i, email in enumerate(fresh)}


@dataclass(frozen=True)
class InvitedEvent:
    event_id: str
    holdout_share: float
    holdout_seed: str
    note: str = ""  # a rename recognised, or a requested share that differs from the recorded one


def _norm(name: object) -> str:
    return " ".join(str(name).lower().split())


def _day(event: pd.Series) -> object:
    return pd.Timestamp(event["event_date"]).date() if pd.notna(event.get("event_date")) else None


def resolve_event(conn: Connection, event: pd.Series, share: float | None = None,
                  catalogue: pd.DataFrame | None = None, *, register: bool = True) -> InvitedEvent:
    """The event's stable id and its recorded holdout (registered now if new and `register`)."""
    name, day, event_type = str(event["event_name"]), _day(event), event.get("event_type")
    explicit = str(event.get("event_id") or "").strip()
    current_names = {_norm(n) for n in catalogue["event_name"]} if catalogue is not None else set()
    row, note = None, ""
    if explicit:
        row = conn.execute(sa.select(invitation_events).where(invitation_events.c.event_id == explicit)
                           ).mappings().first()
    else:
        same_day = conn.execute(sa.select(invitation_events).where(
            (invitation_events.c.event_date == day) & (invitation_events.c.event_type == event_type))
        ).mappings().all()
        named = [r for r in same_day if _norm(r["event_name"]) == _norm(name)]
        renamed = [r for r in same_day if _norm(r["event_name"]) != _norm(name)
                   and _norm(r["event_name"]) not in current_names] if catalogue is not None else []
        if named:
            row = named[0]
        elif len(renamed) == 1:
            row = renamed[0]
            note = f"renamed from {row['event_name']!r}: the same event, nobody is invited twice"
    if row is not None:
        if register and row["event_name"] != name:
            conn.execute(invitation_events.update().where(invitation_events.c.event_id == row["event_id"])
                         .values(event_name=name))
        if share is not None and abs(share - float(row["holdout_share"])) > 1e-9:
            note = "; ".join(filter(None, [note, f"holdout share stays {row['holdout_share']:.0%} as recorded "
                                                  f"when the event was first invited (asked {share:.0%})"]))
        return InvitedEvent(str(row["event_id"]), float(row["holdout_share"]), str(row["holdout_seed"]), note)
    event_id = explicit or derived_event_id(name, day, event_type)
    chosen = DEFAULT_HOLDOUT_SHARE if share is None else float(share)
    if not 0 <= chosen < 1:
        raise ValueError(f"holdout share must be in [0, 1), got {chosen}")
    if register:
        conn.execute(invitation_events.insert().values(
            event_id=event_id, event_name=name, event_date=day, event_type=event_type, holdout_share=chosen,
            holdout_seed=event_id, created_at=datetime.now(UTC)))
    return InvitedEvent(event_id, chosen, event_id)
