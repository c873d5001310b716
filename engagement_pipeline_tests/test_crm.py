"""The CRM loader: a clean extract loads with the documented types; anything ambiguous names its line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from engagement_pipeline.matching.crm import Crm, CrmError, load_crm

from .crm_files import write_crm_csvs

CUSTOMERS = """customer_id,name,domains,arr,usage_health,csm_owner,customer_since,segment
C001,Acme Analytics Inc.,Acme.com; @acme-analytics.io,120000,80,Dana Ruiz,2023-01-15,enterprise
C002,Orbit Data Ltd,orbitdata.co.uk,,55,Lee Park,2024-06-01,smb
C003,Blue Fjord AS,,5000,,Dana Ruiz,,smb
"""
CONTACTS = """customer_id,name,email,role,is_champion,phone
C001,Ana Lima, Ana.Lima@Acme.com ,VP Data,yes,123
C001,Raj Patel,raj@acme-analytics.io,Analyst,FALSE,
C002,Bo Chen,bo@orbitdata.co.uk,,
"""


def write_crm(folder: Path, customers: str = CUSTOMERS, contacts: str = CONTACTS) -> Path:
    return write_crm_csvs(folder, customers, contacts)


def test_happy_path_types_and_extra_columns(tmp_path: Path) -> None:
    crm = load_crm(write_crm(tmp_path))
    assert isinstance(crm, Crm)
    customers = crm.customers.set_index("customer_id")
    assert list(customers.index) == ["C001", "C002", "C003"]
    assert customers.at["C001", "domains"] == ("acme.com", "acme-analytics.io")
    assert customers.at["C003", "domains"] == ()
    assert customers.at["C001", "arr"] == 120000.0
    assert pd.isna(customers.at["C002", "arr"])
    assert customers.at["C002", "usage_health"] == 55.0
    assert customers.at["C001", "customer_since"] == pd.Timestamp("2023-01-15")
    assert customers.at["C001", "segment"] == "enterprise"  # extra column kept
    contacts = crm.contacts
    assert contacts["email"].tolist() == ["ana.lima@acme.com", "raj@acme-analytics.io", "bo@orbitdata.co.uk"]
    assert contacts["is_champion"].tolist() == [True, False, False]
    assert contacts["is_champion"].dtype == bool
    assert "phone" in contacts.columns


def test_domains_are_reduced_to_registrable(tmp_path: Path) -> None:
    customers = CUSTOMERS.replace("orbitdata.co.uk", "EU.OrbitData.co.uk")
    crm = load_crm(write_crm(tmp_path, customers=customers))
    assert crm.customers.set_index("customer_id").at["C002", "domains"] == ("orbitdata.co.uk",)


BAD_CUSTOMERS = [
    pytest.param(CUSTOMERS.replace("C003,Blue", "C001,Blue"), ["customers.csv", "line 4", "customer_id"],
                 id="duplicate-id"),
    pytest.param(CUSTOMERS.replace("orbitdata.co.uk", "orbitdata.co.uk;acme.com"),
                 ["customers.csv line 3", "C002", "acme.com", "C001 (line 2)"], id="domain-claimed-twice"),
    pytest.param(CUSTOMERS.replace("5000,,", "lots,,"), ["customers.csv", "line 4", "arr"], id="bad-arr"),
    pytest.param(CUSTOMERS.replace(",55,", ",155,"), ["customers.csv", "line 3", "usage_health"],
                 id="health-over-100"),
    pytest.param(CUSTOMERS.replace("2024-06-01", "someday"), ["customers.csv", "line 3", "customer_since"],
                 id="bad-date"),
    pytest.param(CUSTOMERS.replace("C002,Orbit Data Ltd", "C002,"), ["customers.csv", "line 3", "name"],
                 id="missing-name"),
    pytest.param(CUSTOMERS.replace(",arr,", ",revenue,"), ["customers.csv", "missing required column", "arr"],
                 id="missing-column"),
    pytest.param(CUSTOMERS.replace("orbitdata.co.uk", "localhost"), ["customers.csv line 3", "localhost"],
                 id="not-a-domain"),
]


@pytest.mark.parametrize(("customers", "expected"), BAD_CUSTOMERS)
def test_bad_customers_name_the_line(tmp_path: Path, customers: str, expected: list[str]) -> None:
    with pytest.raises(CrmError) as err:
        load_crm(write_crm(tmp_path, customers=customers))
    for part in expected:
        assert part in str(err.value)


BAD_CONTACTS = [
    pytest.param(CONTACTS.replace("C002,Bo Chen", "C999,Bo Chen"), ["contacts.csv line 4", "C999"],
                 id="unknown-customer"),
    pytest.param(CONTACTS.replace("yes,123", "maybe,123"), ["contacts.csv line 2", "is_champion", "maybe"],
                 id="bad-boolean"),
    pytest.param(CONTACTS.replace("bo@orbitdata.co.uk", "raj@acme-analytics.io"),
                 ["contacts.csv line 4", "raj@acme-analytics.io", "C002", "C001 (line 3)"], id="email-two-customers"),
    pytest.param(CONTACTS.replace("bo@orbitdata.co.uk", "bo at orbit"), ["contacts.csv", "line 4", "email"],
                 id="bad-email"),
]


@pytest.mark.parametrize(("contacts", "expected"), BAD_CONTACTS)
def test_bad_contacts_name_the_line(tmp_path: Path, contacts: str, expected: list[str]) -> None:
    with pytest.raises(CrmError) as err:
        load_crm(write_crm(tmp_path, contacts=contacts))
    for part in expected:
        assert part in str(err.value)


def test_missing_file_is_a_crm_error(tmp_path: Path) -> None:
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    with pytest.raises(CrmError, match=r"contacts\.csv"):
        load_crm(tmp_path)


def test_crm_error_is_a_value_error() -> None:
    assert issubclass(CrmError, ValueError)
