"""The whole-frame matcher gives, row for row, what the cascade's rules give one person at a time.

`match_attendance` works on distinct values and arrays (issue 11: one index, no per-row loops). The
reference below is the cascade as the module docstring of `matching.cascade` states it, applied to one row
at a time with the same index and scorers, so a shortcut in the vectorised path that changes any row's
customer, method, confidence or contact fails here. The people are generated: look-alike company names
(typos, dropped letters, legal forms, case), addresses at a customer's domain, a subdomain, a look-alike
domain, free-mail, the organiser's domain or none, and CRM contacts' names and addresses.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement_pipeline.ingest.canonical import CANONICAL_COLUMNS, make_attendee_key, normalise_person_name
from engagement_pipeline.matching import fuzzy, match_attendance, unmatched_attendees
from engagement_pipeline.matching.cascade import ambiguous_names, name_match_allowed
from engagement_pipeline.matching.crm import Crm, load_crm
from engagement_pipeline.matching.domains import email_domain
from engagement_pipeline.matching.index import CrmIndex
from engagement_pipeline.matching.names import compact, normalise_company_name

from .crm_files import write_crm_csvs

INTERNAL = frozenset({"northwind-analytics.com"})
CUSTOMERS = """customer_id,name,domains,arr,usage_health,csm_owner,customer_since
C001,Acme Analytics Inc.,acme.com;acme-analytics.io,120000,80,Dana,2023-01-15
C002,Orbit Data Ltd,orbitdata.co.uk,50000,60,Lee,2023-01-15
C003,Orbital Dynamics,orbital-dynamics.com,90000,70,Lee,2023-01-15
C004,Blue Fjord AS,bluefjord.no,5000,50,Dana,2023-01-15
C005,Zenith Corp,zenithcorp.com,10000,90,Lee,2023-01-15
C006,Zenith Robotics,zenith-robotics.com,10000,90,Lee,2023-01-15
C007,Globex Corporation,globex.com,70000,65,Dana,2023-01-15
C008,Vertex Health,vertexhealth.com,30000,55,Dana,2023-01-15
"""
CONTACTS = """customer_id,name,email,role,is_champion
C001,Ana Lima,ana.lima@acme.com,VP Data,yes
C002,Raj Patel,raj@orbitdata.co.uk,Analyst,no
C007,Kim Novak,kim.novak@globex.com,Director,no
C008,Li Wei,li.wei@vertexhealth.com,Nurse lead,no
"""
COMPANIES = ["Acme Analytics", "Orbit Data", "Orbital Dynamics", "Blue Fjord", "Zenith", "Zenith Robotics",
             "Globex", "Vertex Health", "Vertx Health", "Acme", "Orbit", "Globe Ex", "Initech", "n/a"]
DOMAINS = ["acme.com", "eu.acme.com", "acme-analytics.io", "orbitdata.co.uk", "orbtdata.io", "orbital-dynamics.com",
           "bluefjord.no", "zenithcorp.com", "zenith-robotics.com", "globex.com", "globex.de", "vertexhealth.com",
           "vertxhealth.io", "initech.com", "gmail.com", "yahoo.com", "mailinator.com", "northwind-analytics.com"]
PEOPLE = ["Ana Lima", "Raj Patel", "Kim Novak", "Li Wei", "Sam Doe", "Jo Park"]
SUFFIXES = ["", " Inc.", " Ltd", " GmbH", ", S.A.", " Corp."]


@pytest.fixture(scope="module")
def crm(tmp_path_factory: pytest.TempPathFactory) -> Crm:
    return load_crm(write_crm_csvs(tmp_path_factory.mktemp("crm_reference"), CUSTOMERS, CONTACTS))


def _look_alike(name: str, rng: random.Random) -> str:
    """The name as people type it: maybe a dropped, doubled or swapped letter, a legal form, other case."""
    chars = list(name)
    edit = rng.choice(["none", "drop", "double", "swap"])
    at = rng.randrange(1, len(chars) - 1)
    if edit == "drop":
        del chars[at]
    elif edit == "double":
        chars.insert(at, chars[at])
    elif edit == "swap":
        chars[at], chars[at + 1] = chars[at + 1], chars[at]
    typed = "".join(chars) + rng.choice(SUFFIXES)
    return rng.choice([typed, typed.upper(), typed.lower()])


def generated_people(seed: int, n: int) -> pd.DataFrame:
    rng = random.Random(seed)
    rows = []
    contact_emails = ["ana.lima@acme.com", " Raj@OrbitData.co.uk ", "kim.novak@globex.com", "li.wei@vertexhealth.com"]
    for i in range(n):
        person = rng.choice(PEOPLE)
        local = person.split()[0].lower()
        email = rng.choice([None, "", rng.choice(contact_emails), f"{local}{i % 7}@{rng.choice(DOMAINS)}",
                            f"{local}@{rng.choice(DOMAINS)}"])
        company = rng.choice([None, _look_alike(rng.choice(COMPANIES), rng)])
        rows.append({
            "event_id": f"2026-10-{1 + i % 3:02d}-webinar", "event_name": "Webinar", "event_type": "webinar",
            "event_date": pd.Timestamp(f"2026-10-{1 + i % 3:02d}"), "platform": "zoom_webinar",
            "attendee_key": make_attendee_key(email, person) or f"row{i}", "attendee_email": email,
            "attendee_name": person, "company": company, "registered": True, "attended": True,
            "minutes_attended": 30.0, "questions_asked": 0, "polls_answered": 0, "feedback_submitted": False,
            "role": "attendee", "source_file": "export.csv", "source_row": i + 2, "rows_folded": 1,
        })
    return pd.DataFrame(rows, columns=list(CANONICAL_COLUMNS))


def reference_match(row: pd.Series, index: CrmIndex) -> tuple[str | None, str, float, str | None] | None:
    """(customer, method, confidence, contact) for one row by the cascade's rules; None for organiser staff."""
    email = row["attendee_email"].strip().lower() or None if isinstance(row["attendee_email"], str) else None
    domain = email_domain(email) if email else None
    if domain is not None and (domain.registrable in INTERNAL or domain.full in INTERNAL):
        return None
    if email in index.contact_by_email:
        customer, contact = index.contact_by_email[email]
        return customer, "contact_email", 1.0, contact
    if domain is not None and not domain.is_personal and domain.registrable in index.customer_by_domain:
        return index.customer_by_domain[domain.registrable], "domain", 0.9 if domain.is_subdomain else 0.95, None
    name = normalise_company_name(row["company"])
    if not name:
        return None, "unmatched", 0.0, None
    unclear = bool(ambiguous_names({name}, index))
    exact = None if unclear else index.customer_by_name.get(name)
    if exact and name_match_allowed(domain, exact, index):
        return exact, "company_name", 0.85, None
    alone = {} if unclear else fuzzy.match_alone([name], index)
    if name in alone and name_match_allowed(domain, alone[name][0], index):
        return alone[name][0], "company_fuzzy", fuzzy.fuzzy_confidence(alone[name][1]), None
    options = fuzzy.candidates([name], index, fuzzy.SUPPORTED_MIN_SCORE)[name]
    if options:
        known = frozenset().union(*index.contact_names.values())
        typed = normalise_person_name(row["attendee_name"]) if isinstance(row["attendee_name"], str) else ""
        label = compact(domain.label) if domain is not None and not domain.is_personal else ""
        found = fuzzy.supported_match(options, typed if typed in known else None, label, index)
        if found is not None and name_match_allowed(domain, found[0], index):
            return found[0], "company_fuzzy", fuzzy.fuzzy_confidence(found[1]), None
    return None, "unmatched", 0.0, None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_whole_frame_matching_equals_the_rules_applied_row_by_row(crm: Crm, seed: int) -> None:
    people = generated_people(seed, 150)
    outcome = match_attendance(people, crm, INTERNAL)
    index = CrmIndex.build(crm)
    expected = [reference_match(row, index) for _, row in people.iterrows()]
    staff = [i for i, e in enumerate(expected) if e is None]
    assert outcome.internal["source_row"].tolist() == people["source_row"].iloc[staff].tolist()
    kept = [e for e in expected if e is not None]
    got = outcome.matched[["customer_id", "match_method", "match_confidence", "matched_contact"]]
    assert [tuple(None if pd.isna(v) else v for v in r) for r in got.itertuples(index=False)] == kept


def test_the_generated_people_reach_every_step(crm: Crm) -> None:
    """The generator is worth comparing on: it produces every method and refused look-alikes."""
    people = generated_people(7, 600)
    matched = match_attendance(people, crm, INTERNAL).matched
    assert set(matched["match_method"]) == {"contact_email", "domain", "company_name", "company_fuzzy", "unmatched"}
    refused = matched.loc[matched["customer_id"].isna() & matched["attendee_email"].str.contains("vertxhealth.io",
                                                                                               na=False)]
    assert len(refused) and unmatched_attendees(matched, crm)["suggestions_text"].str.len().gt(0).any()
