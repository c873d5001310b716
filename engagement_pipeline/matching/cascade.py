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

from engagement_pipeline.codes import distinct_rows
from engagement_pipeline.ingest.canonical import normalise_person_name

from . import fuzzy
from .domains import EmailDomain, email_domain
from .index import CrmIndex, Distinct, per_unique
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
    takes effect everywhere. Every step is a lookup over the distinct values of the whole frame (emails,
    domains, company names, (name, person, domain) triples) spread back to the rows with numpy: no step
    loops over rows, so matching a year of history costs what its distinct values cost.
    """
    base = records.drop(columns=[c for c in MATCH_COLUMNS if c in records.columns]).reset_index(drop=True)
    internal_domains = frozenset(d.strip().lower() for d in internal_domains)
    index = CrmIndex.for_crm(crm)
    email_codes, by_email = _email_facts(base["attendee_email"], internal_domains, index)
    internal_mask = by_email.internal[email_codes]
    internal = base.loc[internal_mask].reset_index(drop=True)
    if internal_mask.any():  # organiser staff are usually left out at ingestion: no copy of every row then
        base = base.loc[~internal_mask].reset_index(drop=True)
    rows = by_email.take(email_codes[~internal_mask])

    state = _State.empty(len(base))
    # 1. Contact email.
    state.fill(rows.contact_customer, "contact_email", CONTACT_EMAIL_CONFIDENCE, contact=rows.contact_name)
    # 2. Registrable domain (free-mail and disposable never match; the index leaves them out too).
    state.fill(rows.owner, "domain", rows.domain_confidence)
    # 3. Exact normalised company name, unless another customer's name holds all its words.
    names = per_unique(base["company"], normalise_company_name)
    unclear = ambiguous_names(set(names[pd.notna(names)]), index)
    by_name = Distinct(pd.Series(names, dtype=object))  # the names' distinct values, found once for three steps
    exact = by_name.map(lambda n: index.customer_by_name.get(n) if n and n not in unclear else None)
    state.fill(_allowed(exact, rows), "company_name", COMPANY_NAME_CONFIDENCE)
    # 4. Fuzzy, over distinct names still unmatched: first a close name alone, then with a supporting field.
    pending = sorted(set(names[state.open & pd.notna(names)]) - unclear)
    alone = fuzzy.match_alone(pending, index)
    alone_customer = by_name.map(lambda n: alone[n][0] if n in alone else None)
    alone_confidence = by_name.map(lambda n: fuzzy.fuzzy_confidence(alone[n][1]) if n in alone else 0.0)
    state.fill(_allowed(alone_customer, rows), "company_fuzzy", alone_confidence.astype(float))
    _match_supported(base, names, rows, index, state)

    matched = base.assign(
        customer_id=pd.Series(state.customer, dtype=object),
        match_method=pd.Series(state.method, dtype=object),
        match_confidence=state.confidence,
        matched_contact=pd.Series(state.contact, dtype=object),
    )
    return MatchOutcome(matched=matched, internal=internal)


@dataclass
class _EmailFacts:
    """What matching needs from an address, one entry per distinct address (row-aligned after `take`).

    `owner` is the customer that owns the address's corporate registrable domain (None for personal or
    missing addresses and for corporate domains no customer has); `corporate` says the address names an
    employer at all, which is what `name_match_allowed` turns on."""

    internal: np.ndarray
    contact_customer: np.ndarray
    contact_name: np.ndarray
    owner: np.ndarray
    domain_confidence: np.ndarray
    corporate: np.ndarray
    label: np.ndarray  # compact label of a corporate domain ('' otherwise), for the supported fuzzy step

    def take(self, codes: np.ndarray) -> _EmailFacts:
        return _EmailFacts(*(getattr(self, f)[codes] for f in self.__dataclass_fields__))


def _email_facts(raw: pd.Series, internal_domains: frozenset[str],
                 index: CrmIndex) -> tuple[np.ndarray, _EmailFacts]:
    """(code per row, facts per distinct raw address); code -1 (missing) picks the last entry, a missing
    address. Domains are parsed once per distinct domain (`parse_domain` is cached)."""
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    emails = [_clean_email(u) for u in uniques] + [None]
    parsed = [email_domain(e) if e else None for e in emails]
    contacts = [index.contact_by_email.get(e, (None, None)) if e else (None, None) for e in emails]
    corporate = [d is not None and not d.is_personal for d in parsed]

    def array(values: list[object], dtype: object = object) -> np.ndarray:
        out = np.empty(len(values), dtype=dtype)
        out[:] = values
        return out

    facts = _EmailFacts(
        internal=array([_is_internal(d, internal_domains) for d in parsed], bool),
        contact_customer=array([c[0] for c in contacts]),
        contact_name=array([c[1] for c in contacts]),
        owner=array([index.customer_by_domain.get(d.registrable) if corp else None  # type: ignore[union-attr]
                     for d, corp in zip(parsed, corporate, strict=True)]),
        domain_confidence=array([_domain_confidence(d) for d in parsed], float),
        corporate=array(corporate, bool),
        label=array([compact(d.label) if corp else ""  # type: ignore[union-attr]
                     for d, corp in zip(parsed, corporate, strict=True)]),
    )
    return codes, facts


def _allowed(found: np.ndarray, rows: _EmailFacts) -> np.ndarray:
    """`found` with the customers that `name_match_allowed` refuses blanked out, for all rows at once: a
    corporate address allows only the customer that owns its domain."""
    refused = pd.notna(found) & rows.corporate & (rows.owner != found)
    return np.where(refused, None, found)


def name_match_allowed(domain: EmailDomain | None, customer_id: str, index: CrmIndex) -> bool:
    """May a company *name* credit this customer? Not when the email's corporate domain is someone else's.

    Personal (free-mail, disposable) and missing addresses say nothing about the employer, so the name may
    decide; a corporate domain that is not one of the customer's domains means the person works elsewhere
    (a prospect with a look-alike or the same name), however close the typed company is.
    """
    if domain is None or domain.is_personal or not domain.registrable:
        return True
    return index.customer_by_domain.get(domain.registrable) == customer_id


def ambiguous_names(names: set[str], index: CrmIndex) -> set[str]:
    """Normalised names that more than one customer's name contains word for word ("acme" when "Acme Corp"
    and "Acme Analytics" are both customers): the evidence fits several customers, so a person decides.
    The word -> customers table is built once per index and each name is decided once (`CrmIndex.memo`)."""
    holders = index.word_holders()
    known = index.remembered("ambiguous")
    for name in names - known.keys():
        sets = [holders.get(word, set()) for word in name.split()]
        known[name] = bool(sets) and len(set.intersection(*sets)) > 1
    return {name for name in names if known[name]}


def _domain_confidence(domain: EmailDomain | None) -> float:
    return SUBDOMAIN_CONFIDENCE if domain is not None and domain.is_subdomain else DOMAIN_CONFIDENCE


@dataclass
class _State:
    """Per-row results; each step fills only rows no earlier (stronger) step has matched.

    `matched` says which rows have a customer: only `assign` writes customers, never a missing one, so it is
    `pd.notna(customer)` kept up to date instead of recomputed over every row's object for each step."""

    customer: np.ndarray
    method: np.ndarray
    confidence: np.ndarray
    contact: np.ndarray
    matched: np.ndarray

    @classmethod
    def empty(cls, n: int) -> _State:
        return cls(np.full(n, None, dtype=object), np.full(n, "unmatched", dtype=object), np.zeros(n),
                   np.full(n, None, dtype=object), np.zeros(n, dtype=bool))

    @property
    def open(self) -> np.ndarray:
        return ~self.matched

    def assign(self, where: np.ndarray, customer: np.ndarray, method: str, confidence: float | np.ndarray) -> None:
        """Rows `where` (positions or a mask) matched to `customer` (none missing) by `method`."""
        self.customer[where] = customer
        self.method[where] = method
        self.confidence[where] = confidence
        self.matched[where] = True

    def fill(self, found: np.ndarray, method: str, confidence: float | np.ndarray,
             contact: np.ndarray | None = None) -> None:
        take = self.open & pd.notna(found)
        self.assign(take, found[take], method, confidence[take] if isinstance(confidence, np.ndarray) else confidence)
        if contact is not None:
            self.contact[take] = contact[take]


def _match_supported(base: pd.DataFrame, names: np.ndarray, rows: _EmailFacts, index: CrmIndex,
                     state: _State) -> None:
    """Close names (>= 80) that the attendee's name or corporate email domain corroborates; fills in place.
    Decided once per distinct (name, known person, domain label), then spread back to the rows."""
    open_rows = np.flatnonzero(state.open & pd.notna(names))
    if not len(open_rows):
        return
    options = fuzzy.candidates(sorted(set(names[open_rows])), index, fuzzy.SUPPORTED_MIN_SCORE)
    open_rows = open_rows[np.fromiter((bool(options[n]) for n in names[open_rows]), bool, len(open_rows))]
    if not len(open_rows):
        return
    known_people = index.remembered("people").setdefault("all", frozenset().union(*index.contact_names.values()))
    people = per_unique(base["attendee_name"].iloc[open_rows], lambda p: _known_person(p, known_people))
    labels = rows.label[open_rows]
    group, firsts = _distinct_triples(names[open_rows], people, labels)
    decided = [fuzzy.supported_match(options[names[open_rows[i]]], people[i], labels[i], index) for i in firsts]
    found = np.empty(len(decided), dtype=object)
    found[:] = [d[0] if d else None for d in decided]
    scores = np.array([fuzzy.fuzzy_confidence(d[1]) if d else 0.0 for d in decided], dtype=float)
    customer = _allowed(found[group], rows.take(open_rows))
    take = pd.notna(customer)
    targets = open_rows[take]
    state.assign(targets, customer[take], "company_fuzzy", scores[group][take])


def _distinct_triples(*columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(group per row, position of each group's first row) for the distinct combinations of `columns`,
    groups numbered in order of first appearance (missing values form a group of their own)."""
    group = distinct_rows(columns)
    _, firsts = np.unique(group, return_index=True)
    return group, firsts


def _known_person(name: object, known: frozenset[str]) -> str | None:
    """The normalised name when some CRM contact has it; other names cannot support a match."""
    person = normalise_person_name(name) if isinstance(name, str) else ""
    return person if person in known else None
