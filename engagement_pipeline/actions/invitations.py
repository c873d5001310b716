"""Event invitations: which recommendations to send, the gates before a send, the personalised email.

Gates, in order, each recorded as the `skipped` reason: already sent for this event (never twice), an
invalid address, a suppressed address (unsubscribed, bounced: a hard gate), the frequency cap (at most
`max_per_contact` sent in the last `cap_days`, counting this run's own sends). A dry run renders every
message and writes nothing. Each send is committed on its own, so a crash keeps what already went out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jinja2
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engagement_pipeline.insights.recommendations import is_on_topic

from .mailer import Mailer, MailerError, build_message, clean_display_name, valid_email
from .tables import invitations, suppressions
from .unsubscribe import unsubscribe_url

RESULT_COLUMNS: tuple[str, ...] = ("event_name", "customer_id", "customer_name", "contact_name", "contact_email",
                                   "status", "reason", "message_id")
SUPPRESSION_REASONS = frozenset({"unsubscribed", "bounced", "complaint", "manual"})

_templates = jinja2.Environment(
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


@dataclass
class InvitationRun:
    results: pd.DataFrame
    previews: list[dict[str, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.results["status"].value_counts().items()}


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
        "text": _templates.get_template("invitation.txt.j2").render(context),
        "html": _templates.get_template("invitation.html.j2").render(context),
        "unsubscribe_url": context["unsubscribe_url"],
    }


def suppressed(conn: Connection) -> dict[str, str]:
    return {r.email: r.reason for r in conn.execute(sa.select(suppressions.c.email, suppressions.c.reason))}


def add_suppressions(conn: Connection, entries: pd.DataFrame, source: str) -> int:
    """Upserts (email, reason) rows; returns how many addresses are new on the list."""
    known = suppressed(conn)
    added = 0
    for email, reason in zip(entries["email"], entries["reason"], strict=True):
        email = str(email).strip().lower()
        if not valid_email(email):
            continue
        if email in known:
            conn.execute(suppressions.update().where(suppressions.c.email == email)
                         .values(reason=reason, source=source))
        else:
            conn.execute(suppressions.insert().values(email=email, reason=reason, source=source, added_at=_now()))
            known[email] = reason
            added += 1
    return added


def read_suppression_file(path: Path) -> pd.DataFrame:
    """A CSV with an `email` column (and optionally `reason`), or a plain list of addresses, one a line."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, header=None)
    first = [str(c).strip().lower() for c in raw.iloc[0]] if len(raw) else []
    if "email" in first:
        frame = raw.iloc[1:].set_axis(first, axis=1)
    else:
        frame = raw.iloc[:, :2].set_axis(["email", "reason"][: min(2, raw.shape[1])], axis=1)
    frame = frame.reindex(columns=["email", "reason"]).fillna("")
    frame["email"] = frame["email"].str.strip().str.lower()
    frame["reason"] = frame["reason"].str.strip().str.lower()
    bad = sorted(set(frame["reason"]) - SUPPRESSION_REASONS - {""})
    if bad:
        raise ValueError(f"{path.name}: unknown reason(s) {', '.join(bad)}; use one of "
                         f"{', '.join(sorted(SUPPRESSION_REASONS))}")
    frame["reason"] = frame["reason"].replace("", "unsubscribed")
    return frame.loc[frame["email"] != ""].reset_index(drop=True)


def _sent_recently(conn: Connection, email: str, since: datetime) -> int:
    rows = conn.execute(sa.select(invitations.c.sent_at).where(
        (invitations.c.contact_email == email) & (invitations.c.status == "sent"))).scalars().all()
    return sum(1 for sent_at in rows if sent_at is not None and _aware(sent_at) >= since)


def _record(conn: Connection, existing: dict | None, values: dict) -> None:
    if existing is None:
        conn.execute(invitations.insert().values(created_at=_now(), **values))
    else:
        conn.execute(invitations.update()
                     .where(invitations.c.invitation_id == existing["invitation_id"]).values(**values))


def send_invitations(engine: Engine, chosen: pd.DataFrame, event: pd.Series, attendance: pd.DataFrame,
                     mailer: Mailer, policy: InvitationPolicy | None = None, *, dry_run: bool = False,
                     now: datetime | None = None) -> InvitationRun:
    """One email per chosen recommendation, through the gates; returns every contact's outcome."""
    policy = policy or InvitationPolicy()
    now = now or _now()
    since = now - timedelta(days=policy.cap_days)
    results: list[dict] = []
    previews: list[dict[str, str]] = []
    event_name = str(event["event_name"])
    event_day = pd.Timestamp(event["event_date"]).date()
    for _, rec in chosen.iterrows():
        email = str(rec["contact_email"]).strip().lower()
        outcome = {"event_name": event_name, "customer_id": rec["customer_id"],
                   "customer_name": rec["customer_name"], "contact_name": rec["contact_name"],
                   "contact_email": email, "message_id": None}
        with engine.begin() as conn:
            existing = conn.execute(sa.select(invitations).where(
                (invitations.c.event_name == event_name) & (invitations.c.contact_email == email))).mappings().first()
            existing = dict(existing) if existing else None
            attempts = int(existing["attempts"] or 0) if existing else 0
            base = {"event_name": event_name, "event_date": event_day, "event_type": event.get("event_type"),
                    "customer_id": rec["customer_id"], "customer_name": rec["customer_name"],
                    "contact_name": clean_display_name(rec["contact_name"]), "contact_email": email}
            reason = None
            if existing and existing["status"] == "sent":
                sent_at = _aware(existing["sent_at"])
                reason = f"already invited on {sent_at:%Y-%m-%d}" if sent_at else "already invited"
                results.append({**outcome, "status": "skipped", "reason": reason,
                                "message_id": existing["message_id"]})
                continue
            if not valid_email(email):
                reason = "invalid email address"
            elif (why := suppressed(conn).get(email)) is not None:
                reason = f"suppressed ({why})"
            elif (recent := _sent_recently(conn, email, since)) >= policy.max_per_contact:
                reason = (f"frequency cap: {recent} invitation{'s' * (recent != 1)} in the last "
                          f"{policy.cap_days} days (max {policy.max_per_contact})")
            if reason:
                results.append({**outcome, "status": "skipped", "reason": reason})
                if not dry_run:
                    _record(conn, existing, {**base, "status": "skipped", "reason": reason, "attempts": attempts})
                continue
            sentence = interest_sentence(email, str(rec["customer_name"]), list(event.get("topics") or ()),
                                         attendance)
            rendered = render_invitation(rec, event, sentence, policy)
            if len(previews) < 3:
                previews.append({"to": f"{clean_display_name(rec['contact_name'])} <{email}>", **rendered})
            if dry_run:
                results.append({**outcome, "status": "dry_run", "reason": "rendered, not sent"})
                continue
            message = build_message(
                sender=policy.sender, sender_name=policy.sender_name, to_name=rec["contact_name"], to_email=email,
                subject=rendered["subject"], text=rendered["text"], html=rendered["html"],
                headers={"List-Unsubscribe": f"<{rendered['unsubscribe_url']}>",
                         "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
            )
        try:  # outside the transaction: a slow SMTP server must not hold a database lock
            message_id = mailer.send(message)
            values = {**base, "status": "sent", "reason": None, "message_id": message_id, "sent_at": _now(),
                      "attempts": attempts + 1}
            results.append({**outcome, "status": "sent", "reason": None, "message_id": message_id})
        except MailerError as err:
            values = {**base, "status": "failed", "reason": str(err), "attempts": attempts + 1}
            results.append({**outcome, "status": "failed", "reason": str(err)})
        with engine.begin() as conn:
            _record(conn, existing, values)
    return InvitationRun(pd.DataFrame.from_records(results, columns=list(RESULT_COLUMNS)), previews)
