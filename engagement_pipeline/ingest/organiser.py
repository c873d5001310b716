"""Whose staff to leave out when nobody configured the organiser's domain: the file's own host rows say.

A CSM who has not set `ENGAGEMENT_INTERNAL_DOMAINS` would otherwise see co-hosts and staff panelists counted
as customer attendees. The platforms that mark their organiser (Zoom host, Teams organiser, GoTo organizer,
Webex host, Meet organiser when present) record those emails on the ParsedUpload; their company domain is
taken as internal for that upload only, and the rule is written into the upload's notes. Free-mail and
disposable domains are never inferred (a host on gmail.com says nothing about who else is staff), and a
configured list always wins. Nothing here ever falls back to the demo organiser's domain.
"""

from __future__ import annotations

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
