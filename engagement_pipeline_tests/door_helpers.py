"""Shared data for the generic-sheet, mapping and held-upload tests: a three-customer CRM and one
many-event attendance sheet written in the three everyday spellings (invented people and companies)."""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook

CUSTOMERS = (
    "customer_id,name,domains,arr,usage_health,csm_owner,customer_since\n"
    "C1,Acme Analytics Inc.,acme.io,120000,70,Dana,2024-01-01\n"
    "C2,Globex Corporation,globex.com,80000,60,Eli,2024-01-01\n"
    "C3,Initech,initech.com,50000,50,Dana,2024-01-01\n"
)
CONTACTS = (
    "customer_id,name,email,role,is_champion\n"
    "C1,Ana Lima,ana@acme.io,Analyst,true\n"
    "C2,Cy Tran,cy@globex.com,Admin,false\n"
)

# (customer column, person name, email, event, type, date, status)
ROWS: tuple[tuple[str, str, str, str, str, date, str], ...] = (
    ("Acme Analytics", "Ana Lima", "ana@acme.io", "Dashboards Webinar", "Webinar", date(2026, 3, 14), "attended"),
    ("Acme Analytics", "Ben Ode", "ben@acme.io", "Dashboards Webinar", "Webinar", date(2026, 3, 14), "no-show"),
    ("Globex", "Cy Tran", "cy@globex.com", "Dashboards Webinar", "Webinar", date(2026, 3, 14), "cancelled"),
    ("Globex", "Cy Tran", "cy@globex.com", "Spring User Group", "User Group", date(2026, 4, 2), "attended"),
    ("Initech", "Di Park", "di@initech.com", "Spring User Group", "User Group", date(2026, 4, 2), "no-show"),
    # The sheet says Globex, the corporate email says Acme: the email domain wins (customer column = evidence).
    ("Globex", "Ed Roe", "ed@acme.io", "Admin Training", "Training", date(2026, 4, 20), "attended"),
    ("Initech", "Fay Lu", "fay@initech.com", "Admin Training", "Training", date(2026, 4, 20), "cancelled"),
    # Free-mail address: only the customer column can place her (company-name rule).
    ("Initech", "Gus Ho", "gus.ho@gmail.com", "Admin Training", "Training", date(2026, 4, 20), "attended"),
)
# event -> (attended, no-show, excluded as cancelled)
EXPECTED_PER_EVENT = {
    "Dashboards Webinar": (1, 1, 1),
    "Spring User Group": (1, 1, 0),
    "Admin Training": (2, 0, 1),
}
EXPECTED_TYPES = {"Dashboards Webinar": "webinar", "Spring User Group": "user_group", "Admin Training": "training"}
EXPECTED_CUSTOMERS = {
    "ana@acme.io": "C1", "ben@acme.io": "C1", "cy@globex.com": "C2", "di@initech.com": "C3",
    "ed@acme.io": "C1", "gus.ho@gmail.com": "C3",
}
EXCEL_EPOCH = date(1899, 12, 30)

STATUS_WORDS = {  # spelling -> the status words its source system uses
    "title": {"attended": "Attended", "no-show": "No-show", "cancelled": "Cancelled"},
    "literal": {"attended": "checked in", "no-show": "registered", "cancelled": "declined"},
    "crm": {"attended": "Present", "no-show": "Absent", "cancelled": "Declined"},
}


def write_crm(data_dir: Path) -> Path:
    crm = data_dir / "crm"
    crm.mkdir(parents=True, exist_ok=True)
    (crm / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (crm / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    return crm


def spelling_rows(spelling: str, *, xlsx: bool = False) -> list[list[object]]:
    """Header plus data rows of the sheet in one spelling; dates as the source system writes them."""
    words = STATUS_WORDS[spelling]
    if spelling == "title":
        out: list[list[object]] = [["Customer", "User", "Email", "Event", "Event Type", "Date", "Attendance Status"]]
        for company, person, email, event, kind, day, status in ROWS:
            when: object = datetime(day.year, day.month, day.day, 10) if xlsx else day.strftime("%B %d, %Y")
            out.append([company, person, email, event, kind, when, words[status]])
    elif spelling == "literal":
        out = [["customer", "user", "event", "event type", "date", "attendance status"]]
        for company, _person, email, event, kind, day, status in ROWS:
            when = day if xlsx else day.strftime("%d/%m/%Y")  # day-first: 14/03/2026
            out.append([company.lower(), email, event, kind.lower(), when, words[status]])
    else:
        out = [["Account Name", "Contact Name", "Contact Email", "Event Name", "Format", "Event Date", "Status"]]
        for company, person, email, event, kind, day, status in ROWS:
            serial = (day - EXCEL_EPOCH).days
            out.append([company, person, email, event, kind, serial if xlsx else str(serial), words[status]])
    return out


def write_sheet(path: Path, rows: list[list[object]], *, notes_sheet_first: bool = False) -> Path:
    if path.suffix == ".xlsx":
        workbook = Workbook()
        sheet = workbook.active
        if notes_sheet_first:
            sheet.title = "Read me"
            sheet.append(["Attendance for Q1/Q2, exported by the CSM team"])
            sheet = workbook.create_sheet("Attendance")
        for row in rows:
            sheet.append(row)
        workbook.save(path)
    else:
        with path.open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows([[str(c) for c in row] for row in rows])
    return path
