"""The transactional outbox of invitations: nothing is sent twice, and every message is accounted for.

An invitation row is the intent (recipient, event id, stable Message-ID, the rendered message), committed
before any send. Delivery moves it through states, each committed before the step it describes:

    pending --claim--> sending --body leaves--> transmitting --250--> sent
       ^                  |  (4xx, refused, dropped before the body)      \\--5xx / 4xx (limit)--> failed
       |                  \\--> retry (next_attempt_at, exponential backoff) --due--> claimed again
       \\-- release (a person) <-- unknown <-- (lost connection or timeout after the body; sender died there)

- A 250 reply to the message body is *sent*, whatever QUIT does afterwards.
- *unknown* is never re-sent automatically: a person confirms it (it arrived) or releases it (send again).
- A process that died holding a claim is recovered on the next launch: `sending` (the body never left)
  goes back to `pending`; `transmitting` (the body may have arrived) becomes `unknown`. A claim is dead when
  its process is gone (same host) or older than the lease (another host).
- Claims are conditional updates (`... WHERE status IN ('pending', 'retry')`), so two senders at once never
  both claim one message.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engagement_pipeline.warehouse.action_tables import invitations

from .mailer import Delivery, Mailer, Outcome

PENDING, SENDING, TRANSMITTING, SENT = "pending", "sending", "transmitting", "sent"
RETRY, UNKNOWN, FAILED, SKIPPED, HELD_OUT = "retry", "unknown", "failed", "skipped", "held_out"
#: Statuses of a message that went out or may still go out: they count towards the frequency cap and block a
#: second invitation to the same contact for the same event.
COMMITTED = (PENDING, SENDING, TRANSMITTING, SENT, RETRY, UNKNOWN)
REVIEW = (UNKNOWN, FAILED, RETRY, PENDING, SENDING, TRANSMITTING)
LEASE = timedelta(minutes=15)


def checkpoint(step: str) -> None:
    """Called at each committed step (claimed, transmitting, accepted, recorded); crash tests replace it."""


_ACTIVE: set[str] = set()  # this process's senders at work (threads of an API server may send at once)


def process_token() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def utc_now() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored timestamp as an aware UTC datetime (SQLite hands them back naive)."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _claim_is_dead(claimed_by: str | None, claimed_at: datetime | None, now: datetime) -> bool:
    host, pid, _nonce = [*(claimed_by or "").rsplit(":", 2), "", "", ""][:3]
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return claimed_by not in _ACTIVE  # ours, from a sender of this process that has finished
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    claimed_at = as_utc(claimed_at)
    return claimed_at is None or now - claimed_at > LEASE


def recover(engine: Engine, now: datetime | None = None) -> dict[str, int]:
    """Claims left by a process that died: back to pending if the body never left, else unknown."""
    now = now or utc_now()
    counts = {"requeued": 0, "unknown": 0}
    with engine.begin() as conn:
        rows = conn.execute(sa.select(invitations.c.invitation_id, invitations.c.status, invitations.c.claimed_by,
                                      invitations.c.claimed_at)
                            .where(invitations.c.status.in_((SENDING, TRANSMITTING)))).all()
        for row in rows:
            if not _claim_is_dead(row.claimed_by, row.claimed_at, now):
                continue
            if row.status == SENDING:
                values = {"status": PENDING, "reason": "requeued: the sender stopped before the message left"}
                counts["requeued"] += 1
            else:
                values = {"status": UNKNOWN, "reason": "the sender stopped after the message left and before "
                                                       "the server's answer was recorded: confirm or release"}
                counts["unknown"] += 1
            conn.execute(invitations.update().where((invitations.c.invitation_id == row.invitation_id)
                                                    & (invitations.c.status == row.status)).values(**values))
    return counts


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 4
    backoff_seconds: float = 2.0

    def delay(self, attempts: int) -> timedelta:
        return timedelta(seconds=self.backoff_seconds * (2 ** max(0, attempts - 1)))


def _claim(engine: Engine, invitation_id: int, token: str) -> dict | None:
    with engine.begin() as conn:
        claimed = conn.execute(invitations.update()
                               .where((invitations.c.invitation_id == invitation_id)
                                      & invitations.c.status.in_((PENDING, RETRY)))
                               .values(status=SENDING, claimed_by=token, claimed_at=utc_now(),
                                       attempts=invitations.c.attempts + 1)).rowcount
        if claimed != 1:
            return None
        row = conn.execute(sa.select(invitations).where(invitations.c.invitation_id == invitation_id)).mappings()
        return dict(row.one())


def _set(engine: Engine, invitation_id: int, token: str, expected: str, **values: object) -> None:
    with engine.begin() as conn:
        conn.execute(invitations.update().where((invitations.c.invitation_id == invitation_id)
                                                & (invitations.c.status == expected)
                                                & (invitations.c.claimed_by == token)).values(**values))


def _outcome_values(delivery: Delivery, attempts: int, retry: RetryPolicy, now: datetime) -> dict[str, object]:
    if delivery.outcome == Outcome.SENT:
        return {"status": SENT, "reason": None, "sent_at": now, "next_attempt_at": None}
    if delivery.outcome == Outcome.UNKNOWN:
        return {"status": UNKNOWN, "reason": f"{delivery.detail} (may have arrived: confirm or release)"}
    if delivery.outcome == Outcome.PERMANENT:
        return {"status": FAILED, "reason": delivery.detail, "next_attempt_at": None}
    if attempts >= retry.max_attempts:
        return {"status": FAILED, "reason": f"gave up after {attempts} attempts: {delivery.detail}",
                "next_attempt_at": None}
    return {"status": RETRY, "reason": delivery.detail, "next_attempt_at": now + retry.delay(attempts)}


def deliver_one(engine: Engine, mailer: Mailer, invitation_id: int, retry: RetryPolicy,
                token: str | None = None) -> str | None:
    """Claims one due message and makes one attempt; returns its new status (None: someone else has it)."""
    token = token or process_token()
    row = _claim(engine, invitation_id, token)
    if row is None:
        return None
    checkpoint("claimed")
    transmitting = False

    def on_transmit() -> None:
        nonlocal transmitting
        _set(engine, invitation_id, token, SENDING, status=TRANSMITTING)
        transmitting = True
        checkpoint("transmitting")

    try:
        delivery = mailer.deliver(row["message"].encode("utf-8"), sender_of(row["message"]), row["contact_email"],
                                  on_transmit)
    except Exception as err:  # whatever broke, the row must not stay claimed
        delivery = Delivery(Outcome.UNKNOWN if transmitting else Outcome.TEMPORARY,
                            f"{type(err).__name__}: {err}")
    if delivery.outcome == Outcome.SENT:
        checkpoint("accepted")
    values = _outcome_values(delivery, int(row["attempts"]), retry, utc_now())
    _set(engine, invitation_id, token, TRANSMITTING if transmitting else SENDING, **values)
    checkpoint("recorded")
    return str(values["status"])


def sender_of(message: str) -> str:
    """The envelope sender: the message's own From address (stored with it)."""
    from email import message_from_string
    from email.policy import default

    return str(message_from_string(message, policy=default)["From"].addresses[0].addr_spec)


def _due(engine: Engine, event_id: str | None, now: datetime) -> tuple[list[int], datetime | None]:
    where = invitations.c.status.in_((PENDING, RETRY))
    if event_id is not None:
        where = where & (invitations.c.event_id == event_id)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(invitations.c.invitation_id, invitations.c.status,
                                      invitations.c.next_attempt_at).where(where)
                            .order_by(invitations.c.invitation_id)).all()
    due = [r.invitation_id for r in rows if r.status == PENDING or (as_utc(r.next_attempt_at) or now) <= now]
    later = [as_utc(r.next_attempt_at) for r in rows if r.status == RETRY and r.invitation_id not in due]
    return due, min((t for t in later if t is not None), default=None)


def deliver_due(engine: Engine, mailer: Mailer, *, event_id: str | None = None, retry: RetryPolicy | None = None,
                sleep: Callable[[float], None] = time.sleep, wait: bool = True) -> dict[str, int]:
    """Recovers dead claims, then sends every due message (of one event, or all); with `wait`, sleeps through
    the backoff of temporary failures until each message is sent, failed, or unknown."""
    retry = retry or RetryPolicy()
    token = process_token()
    _ACTIVE.add(token)
    try:
        recover(engine)
        counts: dict[str, int] = {}
        while True:
            due, next_at = _due(engine, event_id, utc_now())
            for invitation_id in due:
                status = deliver_one(engine, mailer, invitation_id, retry, token)
                if status:
                    counts[status] = counts.get(status, 0) + 1
            if due:
                continue
            if next_at is None or not wait:
                return counts
            sleep(max(0.0, (next_at - utc_now()).total_seconds()))
    finally:
        _ACTIVE.discard(token)


def review_list(engine: Engine, statuses: Iterable[str] = REVIEW) -> pd.DataFrame:
    """Messages a person may need to look at: unknown first, then failed, waiting and in flight."""
    with engine.connect() as conn:
        rows = conn.execute(sa.select(invitations.c.invitation_id, invitations.c.event_id,
                                      invitations.c.event_name, invitations.c.contact_email, invitations.c.status,
                                      invitations.c.attempts, invitations.c.message_id, invitations.c.reason,
                                      invitations.c.claimed_at)
                            .where(invitations.c.status.in_(tuple(statuses)))
                            .order_by(invitations.c.invitation_id)).mappings().all()
    frame = pd.DataFrame([dict(r) for r in rows], columns=["invitation_id", "event_id", "event_name",
                                                          "contact_email", "status", "attempts", "message_id",
                                                          "reason", "claimed_at"])
    order = {s: i for i, s in enumerate(REVIEW)}
    return frame.sort_values(["status", "invitation_id"], key=lambda c: c.map(order) if c.name == "status" else c,
                             ignore_index=True)


class OutboxError(ValueError):
    """A confirm or release that does not apply to the message's current status."""


def _decide(engine: Engine, invitation_id: int, allowed: tuple[str, ...], **values: object) -> str:
    with engine.begin() as conn:
        status = conn.execute(sa.select(invitations.c.status)
                              .where(invitations.c.invitation_id == invitation_id)).scalar()
        if status is None:
            raise OutboxError(f"no invitation {invitation_id}")
        if status not in allowed:
            raise OutboxError(f"invitation {invitation_id} is {status}; only {' or '.join(allowed)} can be changed")
        conn.execute(invitations.update().where((invitations.c.invitation_id == invitation_id)
                                                & (invitations.c.status == status)).values(**values))
        return str(status)


def confirm(engine: Engine, invitation_id: int, note: str = "confirmed as delivered by a person") -> None:
    """An unknown message did arrive: it counts as sent (at the time it was last attempted)."""
    with engine.connect() as conn:
        claimed_at = conn.execute(sa.select(invitations.c.claimed_at)
                                  .where(invitations.c.invitation_id == invitation_id)).scalar()
    _decide(engine, invitation_id, (UNKNOWN,), status=SENT, reason=note, sent_at=as_utc(claimed_at) or utc_now())


def release(engine: Engine, invitation_id: int, note: str = "released by a person: send again") -> None:
    """An unknown (did not arrive) or failed message goes back to the queue, same Message-ID, one more round of
    attempts; the next `invite` of its event (or `outbox send`) sends it."""
    _decide(engine, invitation_id, (UNKNOWN, FAILED), status=PENDING, reason=note, attempts=0, next_attempt_at=None,
            claimed_by=None, claimed_at=None)
