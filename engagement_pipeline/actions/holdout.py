"""Which invited event is which (a stable event id), and the randomised holdout drawn for it.

The id: the catalogue's `event_id` when it has one; else the id already registered for an event on the same
date and of the same type with the same name, or with another name no longer in the catalogue (a rename, only
recognised when the caller gives the catalogue, as the CLI and the job do); else a new id derived from name, date
and type. Renaming an event therefore never invites anyone again.

The holdout: each eligible contact (valid, not suppressed, under the frequency cap) is held out when
`sha256(seed | email)` falls below the event's share. The share and the seed (the event id) are recorded with
the event the first time it is invited and never change; the draw is a pure function of them and the address,
so it is the same in every re-run, after every restart and whatever order or batch the contacts come in, and
the arm is stored on the contact's invitation row besides.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .tables import invitation_events

DEFAULT_HOLDOUT_SHARE = 0.2
INVITE, HOLDOUT = "invite", "holdout"


def derived_event_id(name: object, day: object, event_type: object) -> str:
    key = f"{' '.join(str(name).lower().split())}|{day or ''}|{event_type or ''}"
    return "evt-" + hashlib.sha256(key.encode()).hexdigest()[:16]


def draw(seed: str, email: str, share: float) -> str:
    """'holdout' for about `share` of addresses, 'invite' for the rest; the same answer every time."""
    digest = hashlib.sha256(f"{seed}|{email.strip().lower()}".encode()).digest()
    return HOLDOUT if int.from_bytes(digest[:8], "big") / 2**64 < share else INVITE


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


def event_registry(conn: Connection) -> pd.DataFrame:
    frame = pd.DataFrame(conn.execute(sa.select(invitation_events)).mappings().all())
    return frame if len(frame) else pd.DataFrame(columns=[c.name for c in invitation_events.columns])
