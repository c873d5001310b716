"""Whose staff to leave out when nobody configured the organiser's domain: the file's own host rows say.

A CSM who has not set `ENGAGEMENT_INTERNAL_DOMAINS` would otherwise see co-hosts and staff panelists counted
as customer attendees. The platforms that mark their organiser (Zoom host, Teams organiser, GoTo organizer,
Webex host, Meet organiser when present) record those emails on the ParsedUpload; their company domain is
taken as internal for that upload only, and the rule is written into the upload's notes. Free-mail and
disposable domains are never inferred (a host on gmail.com says nothing about who else is staff), and a
configured list always wins. Nothing here ever falls back to the demo organiser's domain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engagement_pipeline.ingest.common import stripped_lowered
from engagement_pipeline.ingest.ledger import rows_at
from engagement_pipeline.ingest.result import ParsedUpload
from engagement_pipeline.matching.domains import email_domain


def internal_domains_for(configured: frozenset[str], parsed: ParsedUpload) -> tuple[frozenset[str], str | None]:
    """(domains to treat as internal for this upload, the rule to record in its notes or None)."""
    if configured:
        return configured, None
    domains: dict[str, None] = {}
    for email in parsed.organiser_emails:
        domain = email_domain(email)
        if domain is not None and not domain.is_personal and domain.registrable:
            domains.setdefault(domain.registrable, None)
    if not domains:
        if parsed.organiser_emails:
            return frozenset(), ("no internal domain configured and the organiser rows use personal email "
                                 "domains: nobody excluded as staff (set ENGAGEMENT_INTERNAL_DOMAINS)")
        return frozenset(), None
    listed = ", ".join(domains)
    return frozenset(domains), (f"no internal domain configured: organiser domain {listed} inferred from the "
                                f"file's host/organiser rows ({', '.join(parsed.organiser_emails)}); people at "
                                f"{listed} excluded as staff (set ENGAGEMENT_INTERNAL_DOMAINS to override)")


def organiser_records(records: pd.DataFrame, internal_domains: frozenset[str]) -> pd.DataFrame:
    """The records of the organiser's own people: an email whose registrable or full domain is internal.

    The same rule `matching.match_attendance` applies before it matches; an upload applies it on its own (with
    the domains `internal_domains_for` chose for it) so staff leave its ledger as *excluded*, and the customer
    match happens once per run, on the merged history, where the CRM is an input."""
    domains = frozenset(d.strip().lower() for d in internal_domains)
    if not domains or records.empty:
        return records.iloc[:0]

    # One verdict per distinct email and one positional take (`rows_at`: a slice when the rows are one run, the take
    # of every column was a third of this function): `.dropna().unique()`, `.map(flags)`, `.fillna` and a boolean
    # `.loc` were ~17% of storing an upload; a missing email is never internal, as before.
    emails = records["attendee_email"].to_numpy(dtype=object)
    flags = _internal_emails(set(emails), domains)
    if not flags:
        return records.iloc[:0]
    return rows_at(records, np.flatnonzero(np.fromiter(map(flags.__contains__, emails), dtype=bool, count=len(emails))))


def _internal_emails(emails: set[object], domains: frozenset[str]) -> set[object]:
    """The emails (as given) whose domain is internal: `email_domain(cleaned)` of the first email of each distinct
    domain part decides for every email with that part, `cleaned` being the email stripped and lower-cased.

    The emails are stripped in C and lowered as one NUL-joined text (`stripped_lowered`): a Python call per email
    that stripped, lowered and split it was over half of `organiser_records`, almost every email of an upload being
    distinct. Anything but text (a missing email) is never internal."""
    texts = [email for email in emails if isinstance(email, str)]
    cleaned = stripped_lowered(texts)
    if cleaned is None:  # a NUL inside a text: one by one
        cleaned = [text.strip().lower() for text in texts]
    verdicts: dict[str, bool] = {}  # per domain part; most emails share a few domains
    parts = [text.rpartition("@") for text in cleaned]
    for text, (_, at, part) in zip(cleaned, parts, strict=True):
        if at and part not in verdicts:  # no "@": what `email_domain` says None to
            domain = email_domain(text)
            verdicts[part] = domain is not None and (domain.registrable in domains or domain.full in domains)
    internal = {part for part, verdict in verdicts.items() if verdict}
    if not internal:
        return set()
    return {email for email, (_, at, part) in zip(texts, parts, strict=True) if at and part in internal}
