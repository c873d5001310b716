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

    by_domain: dict[str, bool] = {}  # most distinct emails share a few domains; the verdict is the domain's

    def internal(email: object) -> bool:
        cleaned = email.strip().lower() if isinstance(email, str) else ""
        if "@" not in cleaned:  # what `email_domain` says None to
            return False
        found = by_domain.get(part := cleaned.rsplit("@", 1)[1])
        if found is None:
            domain = email_domain(cleaned)
            found = by_domain[part] = domain is not None and (domain.registrable in domains or domain.full in domains)
        return found

    # One verdict per distinct value and one positional take: `.dropna().unique()`, `.map(flags)`, `.fillna`
    # and a boolean `.loc` were ~17% of storing an upload; a missing email is never internal, as before.
    emails = records["attendee_email"].to_numpy(dtype=object)
    flags = {email: internal(email) for email in set(emails)}
    hits = np.fromiter(map(flags.__getitem__, emails), dtype=bool, count=len(emails))
    if not hits.any():
        return records.iloc[:0]
    return records.iloc[np.flatnonzero(hits)].reset_index(drop=True)
