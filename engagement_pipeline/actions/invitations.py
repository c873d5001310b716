"""Event invitations: which recommendations to send, the gates before a send, the personalised email.

Gates, in order, each recorded as the `skipped` reason: already decided for this event id (sent, queued,
unknown, failed or held out: never twice), an invalid address, a suppressed address (unsubscribed, bounced: a
hard gate), the frequency cap (at most `max_per_contact` sent or queued in the last `cap_days`, this run's own
included). The contacts left are drawn into the invited group or the holdout (holdout.py), and each invited
contact's rendered message is committed to the outbox before anything is sent (outbox.py). A dry run renders
every message and writes nothing.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engagement_pipeline.insights.recommendations import is_on_topic
from engagement_pipeline.warehouse.action_tables import invitations

from . import outbox
from .holdout import HOLDOUT, INVITE, InvitedEvent, assign_arms, resolve_event
from .mailer import Mailer, build_message, clean_display_name, message_bytes, valid_email
from .outbox import as_utc, utc_now
from .suppressions import suppressed
from .unsubscribe import unsubscribe_url

if TYPE_CHECKING:
    import jinja2

RESULT_COLUMNS: tuple[str, ...] = ("event_id", "event_name", "customer_id", "customer_name", "contact_name",
                                   "contact_email", "arm", "status", "reason", "message_id")


@functools.cache
def _templates() -> jinja2.Environment:
    """The email templates, built on the first message: jinja2 is imported only by what renders one (the
    Dagster definitions import this module for its policy and jobs, and `score` renders no message)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("engagement_pipeline", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


@dataclass(frozen=True)
class InvitationPolicy:
    """Who the mail is from, where unsubscribing goes, and the frequency cap."""

    sender: str = "events@northwind-analytics.com"
    sender_name: str = "Northwind Analytics Events"
    unsubscribe_url: str = "https://events.northwind-analytics.com/unsubscribe"
    unsubscribe_secret: str = ""  # signs the links; see unsubscribe.installation_secret
    max_per_contact: int = 2
    cap_days: int = 30
    holdout_share: float | None = None  # None: the event's recorded share, else DEFAULT_HOLDOUT_SHARE (20 %)
    max_attempts: int = 4  # temporary failures (4xx, refused connection) are retried up to this many attempts
    backoff_seconds: float = 2.0  # ... waiting 2 s, 4 s, 8 s between them


@dataclass
class InvitationRun:
    results: pd.DataFrame
    previews: list[dict[str, str]] = field(default_factory=list)  # every rendered message, in recipient order
    event_id: str = ""
    note: str = ""  # a rename recognised, or the recorded holdout share kept

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.results["status"].value_counts().items()}


def find_event(catalogue: pd.DataFrame, name: str) -> pd.Series:
    """The catalogue row named `name` (case-insensitive; a unique prefix is enough)."""
    names = catalogue["event_name"].astype(str)
    exact = catalogue.loc[names.str.lower() == name.strip().lower()]
    if len(exact) == 1:
        return exact.iloc[0]
    prefix = catalogue.loc[names.str.lower().str.startswith(name.strip().lower())]
    if len(prefix) == 1:
        return prefix.iloc[0]
    known = "; ".join(names)
    raise ValueError(f"no single upcoming event matches {name!r}; upcoming events: {known or 'none'}")


def select_recommendations(recommendations: pd.DataFrame, event_name: str, customers: Sequence[str] = (),
                           top_n: int | None = None) -> pd.DataFrame:
    """The event's recommended contacts, best rank first; optionally only `customers` (ids or names), top N."""
    chosen = recommendations.loc[recommendations["event_name"] == event_name].sort_values("rank")
    if customers:
        wanted = {c.strip().lower() for c in customers}
        chosen = chosen.loc[chosen["customer_id"].str.lower().isin(wanted)
                            | chosen["customer_name"].str.lower().isin(wanted)]
    if top_n:
        chosen = chosen.head(top_n)
    return chosen.reset_index(drop=True)


def interest_sentence(contact_email: str, customer_name: str, topics: Sequence[str],
                      attendance: pd.DataFrame) -> str:
    """One sentence from the contact's own attended history: the event's topics they came for, else their
    attendance count, else their company."""
    rows = attendance.loc[(attendance["attendee_email"].astype(str).str.lower() == contact_email.lower())
                          & attendance["attended"].astype(bool)]
    names = rows.drop_duplicates("event_id")["event_name"].astype(str).tolist()
    liked = [t for t in topics if any(is_on_topic(n, t) for n in names)]
    if liked:
        joined = liked[0] if len(liked) == 1 else ", ".join(liked[:-1]) + " and " + liked[-1]
        return f"Based on your interest in {joined}, we think this event is a great fit for you."
    if names:
        count = len(names)
        return (f"Thank you for joining {count} of our events; "
                "we'd love to see you at the next one.")
    return f"As part of the {customer_name} team, we'd love you to join us."


def unsubscribe_link(policy: InvitationPolicy, email: str) -> str:
    return unsubscribe_url(policy.unsubscribe_url, policy.unsubscribe_secret, email)


def render_invitation(rec: pd.Series, event: pd.Series, sentence: str, policy: InvitationPolicy) -> dict[str, str]:
    """Subject, plain text and HTML of one invitation (HTML autoescaped: names cannot inject markup)."""
    name = clean_display_name(rec.get("contact_name")) or "there"
    event_name = clean_display_name(event["event_name"], limit=200)
    topics = event.get("topics")
    context = {
        "first_name": name.split(" ")[0], "contact_name": name, "sentence": sentence, "event_name": event_name,
        "event_date": pd.Timestamp(event["event_date"]).strftime("%A, %d %B %Y"),
        "topics": ", ".join(topics) if isinstance(topics, (tuple, list)) else "",
        "registration_url": event.get("registration_url") or "",
        "customer_name": clean_display_name(rec.get("customer_name")),
        "sender_name": policy.sender_name, "unsubscribe_url": unsubscribe_link(policy, rec["contact_email"]),
    }
    return {
        "subject": f"You're Invited: {event_name}",
        "text": _templates().get_template("invitation.txt.j2").render(context),
        "html": _templates().get_template("invitation.html.j2").render(context),
        "unsubscribe_url": context["unsubscribe_url"],
    }


def _sent_recently(conn: Connection, email: str, since: datetime) -> int:
    """Invitations to this address that went out, or are queued to, since `since` (this run's own included)."""
    rows = conn.execute(sa.select(invitations.c.sent_at, invitations.c.created_at).where(
        (invitations.c.contact_email == email) & invitations.c.status.in_(outbox.COMMITTED))).all()
    return sum(1 for r in rows if (when := as_utc(r.sent_at or r.created_at)) is not None and when >= since)


def _record(conn: Connection, existing: dict | None, values: dict) -> None:
    if existing is None:
        conn.execute(invitations.insert().values(**{"created_at": utc_now(), **values}))
    else:
        conn.execute(invitations.update()
                     .where(invitations.c.invitation_id == existing["invitation_id"]).values(**values))


def _already(existing: dict) -> str:
    status = existing["status"]
    if status == outbox.HELD_OUT:
        return "held out (control group): not invited to this event"
    if status == outbox.SENT:
        sent_at = as_utc(existing["sent_at"])
        return f"already invited on {sent_at:%Y-%m-%d}" if sent_at else "already invited"
    if status == outbox.UNKNOWN:
        return "already attempted, outcome unknown: confirm or release it (`engagement-pipeline outbox list`)"
    if status == outbox.FAILED:
        return f"failed earlier ({existing['reason']}); release it to try again"
    return f"already queued ({status})"


def _drawn_so_far(conn: Connection, event_id: str) -> tuple[int, int]:
    """How many contacts of the event were drawn already, and how many of them are held out."""
    arms = conn.execute(sa.select(invitations.c.arm).where((invitations.c.event_id == event_id)
                                                           & invitations.c.arm.is_not(None))).scalars().all()
    return len(arms), sum(1 for a in arms if a == HOLDOUT)


def _summary(engine: Engine, event_id: str, emails: Sequence[str]) -> dict[str, dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(invitations).where(
            (invitations.c.event_id == event_id) & invitations.c.contact_email.in_(list(emails)))).mappings().all()
    return {r["contact_email"]: dict(r) for r in rows}


def _gate(conn: Connection, email: str, blocked: dict[str, str], policy: InvitationPolicy,
          since: datetime) -> str | None:
    """Why this contact is excluded before the draw (so the two arms stay comparable), or None."""
    if not valid_email(email):
        return "invalid email address"
    if (why := blocked.get(email)) is not None:
        return f"suppressed ({why})"
    if (recent := _sent_recently(conn, email, since)) >= policy.max_per_contact:
        return (f"frequency cap: {recent} invitation{'s' * (recent != 1)} in the last "
                f"{policy.cap_days} days (max {policy.max_per_contact})")
    return None


@dataclass
class _Staged:
    target: InvitedEvent
    outcomes: dict[str, dict] = field(default_factory=dict)
    previews: list[dict[str, str]] = field(default_factory=list)


def _stage(conn: Connection, chosen: pd.DataFrame, event: pd.Series, attendance: pd.DataFrame,
           policy: InvitationPolicy, dry_run: bool, since: datetime, catalogue: pd.DataFrame | None) -> _Staged:
    """Every decision (skip, hold out, invite) and every rendered message, in the caller's transaction."""
    staged = _Staged(resolve_event(conn, event, policy.holdout_share, catalogue, register=not dry_run))
    target, outcomes = staged.target, staged.outcomes
    event_name = str(event["event_name"])
    blocked = suppressed(conn)
    eligible: list[tuple[pd.Series, str, dict | None, dict]] = []
    for _, rec in chosen.iterrows():
        email = str(rec["contact_email"]).strip().lower()
        if email in outcomes:
            continue
        outcome = outcomes[email] = {
            "event_id": target.event_id, "event_name": event_name, "customer_id": rec["customer_id"],
            "customer_name": rec["customer_name"], "contact_name": rec["contact_name"], "contact_email": email,
            "message_id": None, "arm": None}
        found = conn.execute(sa.select(invitations).where(
            (invitations.c.event_id == target.event_id) & (invitations.c.contact_email == email))).mappings().first()
        existing = dict(found) if found else None
        if existing is not None and existing["status"] != outbox.SKIPPED:
            outcome.update(status="skipped", reason=_already(existing), message_id=existing["message_id"],
                           arm=existing["arm"])
            continue
        base = {"event_id": target.event_id, "event_name": event_name,
                "event_date": pd.Timestamp(event["event_date"]).date(), "event_type": event.get("event_type"),
                "customer_id": rec["customer_id"], "customer_name": rec["customer_name"],
                "contact_name": clean_display_name(rec["contact_name"]), "contact_email": email, "attempts": 0}
        reason = _gate(conn, email, blocked, policy, since)
        if reason:
            outcome.update(status="skipped", reason=reason)
            if not dry_run:
                _record(conn, existing, {**base, "status": outbox.SKIPPED, "reason": reason, "arm": None})
            continue
        eligible.append((rec, email, existing, base))
    arms = assign_arms(target.holdout_seed, [email for _, email, _, _ in eligible], target.holdout_share,
                       *_drawn_so_far(conn, target.event_id))
    for rec, email, existing, base in eligible:
        outcome = outcomes[email]
        outcome["arm"] = arm = arms[email]
        if arm == HOLDOUT:
            outcome.update(status=outbox.HELD_OUT, reason=f"held out ({target.holdout_share:.0%} control group)")
            if not dry_run:
                _record(conn, existing, {**base, "status": outbox.HELD_OUT, "arm": HOLDOUT,
                                         "reason": outcome["reason"]})
            continue
        sentence = interest_sentence(email, str(rec["customer_name"]), list(event.get("topics") or ()), attendance)
        rendered = render_invitation(rec, event, sentence, policy)
        staged.previews.append({"to": f"{clean_display_name(rec['contact_name'])} <{email}>", "email": email,
                                **rendered})
        if dry_run:
            outcome.update(status="dry_run", reason="rendered, not sent")
            continue
        message = build_message(
            sender=policy.sender, sender_name=policy.sender_name, to_name=rec["contact_name"], to_email=email,
            subject=rendered["subject"], text=rendered["text"], html=rendered["html"],
            headers={"List-Unsubscribe": f"<{rendered['unsubscribe_url']}>",
                     "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
        )
        _record(conn, existing, {**base, "status": outbox.PENDING, "arm": INVITE, "reason": None,
                                 "message_id": str(message["Message-ID"]),
                                 "message": message_bytes(message).decode("utf-8"), "created_at": utc_now()})
        outcome["queued"] = True
    return staged


def send_invitations(engine: Engine, chosen: pd.DataFrame, event: pd.Series, attendance: pd.DataFrame,
                     mailer: Mailer, policy: InvitationPolicy | None = None, *, dry_run: bool = False,
                     now: datetime | None = None, catalogue: pd.DataFrame | None = None,
                     sleep: Callable[[float], None] = time.sleep) -> InvitationRun:
    """One email per chosen recommendation, through the gates and the holdout draw; returns every outcome.

    Every decision and every rendered message is committed first (one transaction), then the outbox delivers
    what is due for this event (see outbox.py), so a crash anywhere leaves each message accounted for. Give
    `catalogue` (the upcoming events) so that a renamed event is recognised as the same one."""
    policy = policy or InvitationPolicy()
    since = (now or utc_now()) - timedelta(days=policy.cap_days)
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                staged = _stage(conn, chosen, event, attendance, policy, dry_run, since, catalogue)
            break
        except sa.exc.IntegrityError:  # a concurrent launch for this event committed first: decide over its rows
            if attempt == 2:
                raise
    outcomes = staged.outcomes
    if not dry_run:  # the intents are committed: now deliver (a slow server holds no database lock)
        outbox.deliver_due(engine, mailer, event_id=staged.target.event_id,
                           retry=outbox.RetryPolicy(policy.max_attempts, policy.backoff_seconds), sleep=sleep)
        final = _summary(engine, staged.target.event_id, [e for e, o in outcomes.items() if o.get("queued")])
        for email, row in final.items():
            outcomes[email].update(status=row["status"], reason=row["reason"], message_id=row["message_id"])
    results = [{k: v for k, v in o.items() if k in RESULT_COLUMNS} for o in outcomes.values()]
    return InvitationRun(pd.DataFrame.from_records(results, columns=list(RESULT_COLUMNS)), staged.previews,
                         staged.target.event_id, staged.target.note)
