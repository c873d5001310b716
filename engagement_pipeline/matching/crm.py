"""The CRM extract: customers (with every email domain they own) and their known contacts.

Matching trusts this file completely, so a CRM mistake becomes a wrong engagement score. The loader
refuses what would make a match ambiguous (duplicate ids, a domain or contact email claimed by two
customers, a contact of an unknown customer, a yes/no nobody can read) and says which file, which line
(as a spreadsheet shows it: the header is line 1) and what is wrong. Extra columns are kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from pandera.typing import Series

from engagement_pipeline.matching.domains import clean_domain, parse_domain

_TRUE = frozenset({"true", "t", "yes", "y", "1", "x"})
_FALSE = frozenset({"false", "f", "no", "n", "0", ""})
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CrmError(ValueError):
    """A CRM file that cannot be trusted for matching; the message names the file, line and problem."""


class CustomersSchema(pa.DataFrameModel):
    """One customer account. `domains` is parsed from the `;`-separated column after validation."""

    customer_id: Series[str] = pa.Field(str_length={"min_value": 1}, unique=True)
    name: Series[str] = pa.Field(str_length={"min_value": 1})
    domains: Series[str] = pa.Field(nullable=True)
    arr: Series[float] = pa.Field(ge=0, nullable=True)
    usage_health: Series[float] = pa.Field(ge=0, le=100, nullable=True)
    csm_owner: Series[str] = pa.Field(nullable=True)
    customer_since: Series[pd.Timestamp] = pa.Field(nullable=True)

    class Config:
        name = "crm_customers"
        strict = False  # extra columns are allowed and kept
        coerce = True


class ContactsSchema(pa.DataFrameModel):
    """A known person at a customer; `is_champion` is read from yes/no text before validation."""

    customer_id: Series[str] = pa.Field(str_length={"min_value": 1})
    name: Series[str] = pa.Field(nullable=True)
    email: Series[str] = pa.Field(nullable=True, str_matches=_EMAIL)
    role: Series[str] = pa.Field(nullable=True)
    is_champion: Series[bool] = pa.Field()

    class Config:
        name = "crm_contacts"
        strict = False
        coerce = True


@dataclass(frozen=True)
class Crm:
    customers: pd.DataFrame
    contacts: pd.DataFrame


def _line(index: object) -> int:
    """Row index -> the line a person sees in the CSV (header is line 1)."""
    return int(index) + 2  # type: ignore[call-overload]


def _read(path: Path, schema: type[pa.DataFrameModel]) -> pd.DataFrame:
    if not path.is_file():
        raise CrmError(f"{path}: file not found (the CRM folder needs {path.name})")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise CrmError(f"{path.name}: not a readable CSV file: {err}") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    required = list(schema.to_schema().columns)
    missing = [c for c in required if c not in frame.columns]
    if missing:
        found = ", ".join(frame.columns)
        raise CrmError(f"{path.name}: missing required column(s) {', '.join(missing)}; found {found}")
    frame = frame.apply(lambda col: col.str.strip())
    # Empty cells are missing values for every required column, so "nullable" means what it says.
    frame[required] = frame[required].replace("", None)
    return frame


def _plain(check: object, value: object) -> str:
    """A pandera check name in a CSM's words."""
    text = str(check)
    if "datetime" in text:
        return f"{value!r} is not a date (use YYYY-MM-DD)"
    if text.startswith(("coerce_dtype('float", "dtype('float")):
        return f"{value!r} is not a number"
    if text == "field_uniqueness":
        return f"{value!r} appears more than once"
    if text == "not_nullable" or text.startswith("str_length"):
        return "is empty"
    if text.startswith("str_matches"):
        return f"{value!r} is not a valid email address"
    return f"{value!r} fails {text}"


def _validate(frame: pd.DataFrame, schema: type[pa.DataFrameModel], file_name: str) -> pd.DataFrame:
    try:
        return schema.validate(frame, lazy=True)
    except SchemaErrors as err:
        cases = err.failure_cases
        rows = cases[cases["index"].notna()].drop_duplicates(["index", "column"])
        shown = rows if len(rows) else cases.drop_duplicates(["column", "check"])
        problems = [
            (f"line {_line(c.index)}, " if pd.notna(c.index) else "") + f"{c.column}: {_plain(c.check, c.failure_case)}"
            for c in shown.head(10).itertuples(index=False)
        ]
        more = f" (and {len(shown) - 10} more)" if len(shown) > 10 else ""
        raise CrmError(f"{file_name}: " + "; ".join(problems) + more) from err


def _parse_domains(customers: pd.DataFrame, file_name: str) -> list[tuple[str, ...]]:
    """`;`-separated domains -> registrable domains; one domain may belong to one customer only."""
    owner: dict[str, tuple[str, int]] = {}
    parsed: list[tuple[str, ...]] = []
    for index, cid, raw in zip(customers.index, customers["customer_id"], customers["domains"], strict=True):
        found: list[str] = []
        for part in re.split(r"[;,\s]+", raw if isinstance(raw, str) else ""):
            if not clean_domain(part):
                continue
            registrable = parse_domain(part).registrable
            if not registrable:
                raise CrmError(f"{file_name} line {_line(index)} (customer {cid}): {part!r} is not an email domain")
            if registrable in owner and owner[registrable][0] != cid:
                other, other_line = owner[registrable]
                raise CrmError(
                    f"{file_name} line {_line(index)} (customer {cid}): domain {registrable} is already claimed by "
                    f"customer {other} (line {other_line}); a domain can identify one customer only"
                )
            owner[registrable] = (cid, _line(index))
            if registrable not in found:
                found.append(registrable)
        parsed.append(tuple(found))
    return parsed


def _parse_champion(contacts: pd.DataFrame, file_name: str) -> pd.Series:
    values = contacts["is_champion"].fillna("").str.lower()
    bad = values[~values.isin(_TRUE | _FALSE)]
    if len(bad):
        index = bad.index[0]
        raise CrmError(
            f"{file_name} line {_line(index)}: is_champion {contacts.at[index, 'is_champion']!r} is not a yes/no value "
            f"(use one of true/false, yes/no, y/n, 1/0)"
        )
    return values.isin(_TRUE)


def _check_contacts(contacts: pd.DataFrame, customer_ids: set[str], file_name: str) -> None:
    unknown = contacts[~contacts["customer_id"].isin(customer_ids)]
    if len(unknown):
        index = unknown.index[0]
        raise CrmError(
            f"{file_name} line {_line(index)}: customer_id {unknown.at[index, 'customer_id']!r} is not in customers.csv"
        )
    emails = contacts.dropna(subset=["email"]).drop_duplicates(["customer_id", "email"])
    clash = emails[emails.duplicated("email", keep=False)]
    if len(clash):
        first, second = clash.index[0], clash.index[1]
        raise CrmError(
            f"{file_name} line {_line(second)}: email {clash.at[second, 'email']} belongs to customer "
            f"{clash.at[second, 'customer_id']} and to customer {clash.at[first, 'customer_id']} (line {_line(first)})"
        )


def load_crm(crm_dir: Path) -> Crm:
    """Reads `customers.csv` and `contacts.csv` from `crm_dir`; raises CrmError on anything ambiguous."""
    crm_dir = Path(crm_dir)
    customers = _read(crm_dir / "customers.csv", CustomersSchema)
    customers = _validate(customers, CustomersSchema, "customers.csv")
    customers["domains"] = pd.Series(_parse_domains(customers, "customers.csv"), index=customers.index, dtype=object)
    # A free-mail domain listed here by mistake is kept (it is what the CRM says) but never matches.

    contacts = _read(crm_dir / "contacts.csv", ContactsSchema)
    contacts["is_champion"] = _parse_champion(contacts, "contacts.csv")
    contacts["email"] = contacts["email"].str.lower()
    contacts = _validate(contacts, ContactsSchema, "contacts.csv")
    _check_contacts(contacts, set(customers["customer_id"]), "contacts.csv")
    return Crm(customers=customers.reset_index(drop=True), contacts=contacts.reset_index(drop=True))


_CACHED: dict[Path, tuple[tuple[str, str], Crm]] = {}


def load_crm_cached(crm_dir: Path) -> Crm:
    """`load_crm`, read and validated once per process for the same file contents (keyed by their sha256).

    A run that ingests a batch of files and re-scores needs the CRM several times (once per batch, once for
    the re-score, in the benchmark once per upload); validating it with pandera each time was ~12 % of the
    chain at 100k records. Every caller gets the same Crm, which is read-only like the files it comes from
    (nothing in the pipeline changes a loaded CRM's frames; copy them before changing anything), so the
    match index built for it is found again by identity (`CrmIndex.for_crm`)."""
    import hashlib

    crm_dir = Path(crm_dir).resolve()
    digests = tuple(hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else ""
                    for p in (crm_dir / "customers.csv", crm_dir / "contacts.csv"))
    cached = _CACHED.get(crm_dir)
    if cached is None or cached[0] != digests:
        _CACHED[crm_dir] = cached = (digests, load_crm(crm_dir))  # type: ignore[assignment]
    return cached[1]
