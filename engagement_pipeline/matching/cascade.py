"""Attendee -> customer, strongest evidence first; every row keeps how it was matched and how sure we are.

| step | evidence | method | confidence |
|---|---|---|---|
| 1 | email is a CRM contact's (trimmed, lower-cased) | contact_email | 1.0 |
| 2 | email's registrable domain is one of the customer's domains | domain | 0.95 (0.9 from a subdomain) |
| 3 | normalised company name equals one customer's normalised name (unambiguous, see below) | company_name | 0.85 |
| 4 | close company name, see `fuzzy` | company_fuzzy | 0.6-0.8 |
| 5 | nothing: left for a person to review, never forced | unmatched | 0.0 |

Steps 3 and 4 obey `name_match_allowed`: a company name is never enough when the attendee's email has a
corporate domain that is not one of that customer's domains. "Vertx Health" at vertxhealth.io is another
company (a prospect) however close the name; the row stays unmatched and the review queue suggests the
look-alike. A bare "Acme" when "Acme Corp" and "Acme Analytics" are both customers is ambiguous
(`ambiguous_names`): also left for a person.

Organiser-internal addresses (registrable or full domain in `internal_domains`) are split off first: staff
host and present, and would otherwise inflate whichever customer they resemble. Each step works on distinct
values (emails, domains, company strings), so cost grows with the number of distinct values, not rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engagement_pipeline.ingest.canonical import normalise_person_name

from . import fuzzy
from .domains import EmailDomain, email_domain
from .index import CrmIndex, per_unique
from .names import compact, normalise_company_name

if TYPE_CHECKING:
    from engagement_pipeline.matching.crm import Crm

MATCH_COLUMNS: tuple[str, ...] = ("customer_id", "match_method", "match_confidence", "matched_contact")
CONTACT_EMAIL_CONFIDENCE = 1.0
DOMAIN_CONFIDENCE = 0.95
SUBDOMAIN_CONFIDENCE = 0.9
COMPANY_NAME_CONFIDENCE = 0.85


@dataclass
class MatchOutcome:
    matched: pd.DataFrame
    internal: pd.DataFrame


def _clean_email(value: object) -> str | None:
    return value.strip().lower() or None if isinstance(value, str) else None


def _is_internal(domain: EmailDomain | None, internal_domains: frozenset[str]) -> bool:
    return domain is not None and (domain.registrable in internal_domains or domain.full in internal_domains)


def match_attendance(records: pd.DataFrame, crm: Crm, internal_domains: frozenset[str]) -> MatchOutcome:
    """Adds customer_id, match_method, match_confidence, matched_contact; internal staff go to `internal`.

    Any match columns already on `records` (re-matching stored history) are replaced, so a CRM correction
    takes effect everywhere.
    """
    base = records.drop(columns=[c for c in MATCH_COLUMNS if c in records.columns]).reset_index(drop=True)
    internal_domains = frozenset(d.strip().lower() for d in internal_domains)
    emails = pd.Series(per_unique(base["attendee_email"], _clean_email), dtype=object)
    domains = per_unique(emails, lambda e: email_domain(e) if e else None)
    is_internal = per_unique(emails, lambda e: _is_internal(email_domain(e) if e else None, internal_domains))
    internal_mask = is_internal.astype(bool)
    internal = base.loc[internal_mask].reset_index(drop=True)
    base = base.loc[~internal_mask].reset_index(drop=True)
    emails, domains = emails[~internal_mask].reset_index(drop=True), domains[~internal_mask]

    index = CrmIndex.for_crm(crm)
    state = _State.empty(len(base))
    # 1. Contact email.
    state.fill(
        per_unique(emails, lambda e: index.contact_by_email.get(e, (None, None))[0] if e else None),
        "contact_email", CONTACT_EMAIL_CONFIDENCE,
        contact=per_unique(emails, lambda e: index.contact_by_email.get(e, (None, None))[1] if e else None),
    )
    # 2. Registrable domain (free-mail and disposable never match; the index leaves them out too).
    state.fill(
        per_unique(emails, lambda e: _domain_customer(email_domain(e) if e else None, index)),
        "domain", per_unique(emails, lambda e: _domain_confidence(email_domain(e) if e else None)),
    )
    # 3. Exact normalised company name, unless another customer's name holds all its words.
    names = pd.Series(per_unique(base["company"], normalise_company_name), dtype=object)
    unclear = ambiguous_names(set(names.dropna()), index)
    exact = per_unique(names, lambda n: index.customer_by_name.get(n) if n and n not in unclear else None)
    state.fill(name_matches_allowed(exact, domains, index), "company_name", COMPANY_NAME_CONFIDENCE)
    # 4. Fuzzy, over distinct names still unmatched: first a close name alone, then with a supporting field.
    pending = sorted(set(names[state.open & names.notna().to_numpy()]) - unclear)
    alone = fuzzy.match_alone(pending, index)
    state.fill(
        name_matches_allowed(per_unique(names, lambda n: alone[n][0] if n in alone else None), domains, index),
        "company_fuzzy", per_unique(names, lambda n: fuzzy.fuzzy_confidence(alone[n][1]) if n in alone else 0.0),
    )
    _match_supported(base, names.to_numpy(), domains, index, state)

    matched = base.assign(
        customer_id=pd.Series(state.customer, dtype=object),
        match_method=pd.Series(state.method, dtype=object),
        match_confidence=state.confidence,
        matched_contact=pd.Series(state.contact, dtype=object),
    )
    return MatchOutcome(matched=matched, internal=internal)


def name_match_allowed(domain: EmailDomain | None, customer_id: str, index: CrmIndex) -> bool:
    """May a company *name* credit this customer? Not when the email's corporate domain is someone else's.

    Personal (free-mail, disposable) and missing addresses say nothing about the employer, so the name may
    decide; a corporate domain that is not one of the customer's domains means the person works elsewhere
    (a prospect with a look-alike or the same name), however close the typed company is.
    """
    if domain is None or domain.is_personal or not domain.registrable:
        return True
    return index.customer_by_domain.get(domain.registrable) == customer_id


def name_matches_allowed(found: np.ndarray, domains: np.ndarray, index: CrmIndex) -> np.ndarray:
    """`found` with the customers that `name_match_allowed` refuses blanked out (row-aligned arrays)."""
    out = found.copy()
    for i in np.flatnonzero(pd.notna(found)):
        if not name_match_allowed(domains[i], out[i], index):
            out[i] = None
    return out


def ambiguous_names(names: set[str], index: CrmIndex) -> set[str]:
    """Normalised names that more than one customer's name contains word for word ("acme" when "Acme Corp"
    and "Acme Analytics" are both customers): the evidence fits several customers, so a person decides."""
    holders: dict[str, set[int]] = {}
    for position, customer_name in enumerate(index.names):
        for word in customer_name.split():
            holders.setdefault(word, set()).add(position)
    unclear = set()
    for name in names:
        sets = [holders.get(word, set()) for word in name.split()]
        if sets and len(set.intersection(*sets)) > 1:
            unclear.add(name)
    return unclear


def _domain_customer(domain: EmailDomain | None, index: CrmIndex) -> str | None:
    if domain is None or domain.is_personal:
        return None
    return index.customer_by_domain.get(domain.registrable)


def _domain_confidence(domain: EmailDomain | None) -> float:
    return SUBDOMAIN_CONFIDENCE if domain is not None and domain.is_subdomain else DOMAIN_CONFIDENCE


@dataclass
class _State:
    """Per-row results; each step fills only rows no earlier (stronger) step has matched."""

    customer: np.ndarray
    method: np.ndarray
    confidence: np.ndarray
    contact: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _State:
        return cls(np.full(n, None, dtype=object), np.full(n, "unmatched", dtype=object), np.zeros(n),
                   np.full(n, None, dtype=object))

    @property
    def open(self) -> np.ndarray:
        return pd.isna(self.customer)

    def fill(self, found: np.ndarray, method: str, confidence: float | np.ndarray,
             contact: np.ndarray | None = None) -> None:
        take = self.open & pd.notna(found)
        self.customer[take] = found[take]
        self.method[take] = method
        self.confidence[take] = confidence[take] if isinstance(confidence, np.ndarray) else confidence
        if contact is not None:
            self.contact[take] = contact[take]


def _match_supported(base: pd.DataFrame, names: np.ndarray, domains: np.ndarray, index: CrmIndex,
                     state: _State) -> None:
    """Close names (>= 80) that the attendee's name or corporate email domain corroborates; fills in place."""
    rows = np.flatnonzero(state.open & pd.notna(names)).tolist()
    if not rows:
        return
    options = fuzzy.candidates(sorted({names[i] for i in rows}), index, fuzzy.SUPPORTED_MIN_SCORE)
    rows = [i for i in rows if options[names[i]]]
    if not rows:
        return
    known_people = frozenset().union(*index.contact_names.values())
    people = per_unique(base["attendee_name"].iloc[rows], lambda p: _known_person(p, known_people))
    decided: dict[tuple[str, str | None, str], tuple[str, float] | None] = {}
    for i, person in zip(rows, people, strict=True):
        d = domains[i]
        label = compact(d.label) if d is not None and not d.is_personal else ""
        key = (names[i], person, label)
        if key not in decided:
            decided[key] = fuzzy.supported_match(options[names[i]], person, label, index)
        found = decided[key]
        if found is not None and name_match_allowed(d, found[0], index):
            state.customer[i], state.method[i] = found[0], "company_fuzzy"
            state.confidence[i] = fuzzy.fuzzy_confidence(found[1])


def _known_person(name: object, known: frozenset[str]) -> str | None:
    """The normalised name when some CRM contact has it; other names cannot support a match."""
    person = normalise_person_name(name) if isinstance(name, str) else ""
    return person if person in known else None
