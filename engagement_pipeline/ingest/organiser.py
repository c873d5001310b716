"""Whose staff to leave out when nobody configured the organiser's domain: the file's own host rows say.

A CSM who has not set `ENGAGEMENT_INTERNAL_DOMAINS` would otherwise see co-hosts and staff panelists counted
as customer attendees. The platforms that mark their organiser (Zoom host, Teams organiser, GoTo organizer,
Webex host, Meet organiser when present) record those emails on the ParsedUpload; their company domain is
taken as internal for that upload only, and the rule is written into the upload's notes. Free-mail and
disposable domains are never inferred (a host on gmail.com says nothing about who else is staff), and a
configured list always wins. Nothing here ever falls back to the demo organiser's domain.
"""

from __future__ import annotations

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

    def internal(email: object) -> bool:
        cleaned = email.strip().lower() if isinstance(email, str) else ""
        domain = email_domain(cleaned) if cleaned else None
        return domain is not None and (domain.registrable in domains or domain.full in domains)

    flags = {email: internal(email) for email in records["attendee_email"].dropna().unique()}
    mask = records["attendee_email"].map(flags).fillna(False).astype(bool)
    return records.loc[mask].reset_index(drop=True)
