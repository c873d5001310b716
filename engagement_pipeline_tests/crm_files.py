"""A CRM extract written from CSV text, as the product finds it in the data folder's `crm/`."""

from __future__ import annotations

from pathlib import Path


def write_crm_csvs(folder: Path, customers: str, contacts: str) -> Path:
    """`customers.csv` and `contacts.csv` in `folder` (returned, for `load_crm`)."""
    (folder / "customers.csv").write_text(customers, encoding="utf-8")
    (folder / "contacts.csv").write_text(contacts, encoding="utf-8")
    return folder
