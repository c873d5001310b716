"""The demo generator: deterministic bytes, anchor-relative dates, and the truth it claims, recomputed here.

The counts are recomputed from the written files with only `csv` and `openpyxl` (the pipeline's own parsers
are tested elsewhere), applying the pipeline's rules: hosts, organiser staff, bots and waiting-room rows out;
join/leave rows folded per person; the hybrid user group's two exports merged by name and date.
"""

from __future__ import annotations

import csv
import difflib
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import openpyxl
import pytest

from engagement_pipeline.config import DEMO_ORGANISER_DOMAIN
from engagement_pipeline.demo import DemoTruth, generate_demo
from engagement_pipeline.ingest.canonical import infer_event_type

ANCHOR = date(2026, 11, 2)
PERSONAL = {"gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com"}
LEGAL = {"inc", "gmbh", "ltd", "llc", "plc", "sa", "bv", "ag", "corp", "pty"}


@dataclass(frozen=True)
class Row:
    event: str
    day: date
    email: str
    company: str
    attended: bool
    status: str = ""  # no_show, cancelled or ''
    role: str = "attendee"
    questions: int = 0
    feedback: bool = False
    file: str = ""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoTruth]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo(out, anchor=ANCHOR)


def _cells(path: Path) -> list[list[str]]:
    """Rows of strings with right-padding removed, from a CSV (BOM or not) or the first sheet of an xlsx."""
    if path.suffix == ".xlsx":
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    else:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
    while rows and not any(rows[-1]):
        rows.pop()
    out = []
    for r in rows:
        while r and r[-1] == "":
            r = r[:-1]
        out.append(r)
    return out


def _webinar(rows: list[list[str]], name: str) -> list[Row]:
    top = next(i for i, r in enumerate(rows) if r and r[0] == "Topic")
    summary = dict(zip(rows[top], rows[top + 1], strict=False))
    day = datetime.strptime(summary["Actual Start Time"].strip(), "%b %d, %Y %I:%M %p").date()
    out, section, cols = [], "", None
    for r in rows[top + 2:]:
        if len(r) == 1 and r[0].endswith(("Details", "Attended")):
            section, cols = r[0], None
        elif cols is None:
            cols = r
        elif section != "Host Details":
            rec = dict(zip(cols, r, strict=False))
            role = "speaker" if section == "Panelist Details" else "attendee"
            out.append(Row(summary["Topic"], day, rec["Email"].lower(), rec.get("Organization", ""),
                           rec["Attended"] == "Yes", "" if rec["Attended"] == "Yes" else "no_show", role, file=name))
    return out


def _meeting(rows: list[list[str]], name: str) -> list[Row]:
    summary = {k.lower(): v for k, v in zip(rows[0], rows[1], strict=False)}
    day = datetime.strptime(summary["start time"], "%m/%d/%Y %I:%M:%S %p").date()
    top = next(i for i, r in enumerate(rows) if r and r[0].lower() == "name (original name)")
    out = []
    for r in rows[top + 1:]:
        rec = {k.lower(): v for k, v in zip(rows[top], r, strict=False)}
        if rec.get("in waiting room") == "Yes" or not rec.get("email", rec.get("user email")):
            continue
        out.append(Row(summary["topic"], day, rec.get("email", rec.get("user email", "")).lower(), "", True,
                       file=name))
    return out


def _eventbrite(rows: list[list[str]], name: str) -> list[Row]:
    status = {"Checked In": "", "Attending": "no_show", "Not Attending": "cancelled"}
    recs = [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]
    return [Row(x["Event Name"], datetime.strptime(x["Event Date"], "%m/%d/%Y").date(), x["Email"].lower(),
                x["Company"], x["Attendee Status"] == "Checked In", status[x["Attendee Status"]], file=name)
            for x in recs]


def _hopin(rows: list[list[str]], name: str) -> list[Row]:
    recs = [dict(zip(rows[0], r, strict=False)) for r in rows[1:]]
    return [Row(x["Event"], date.fromisoformat(x["Event start"]), x["Email"].lower(), x["Company"],
                x["Attended"] == "Yes", "" if x["Attended"] == "Yes" else "no_show",
                "speaker" if x["Ticket type"] == "Speaker" else "attendee", int(x["Questions asked"]),
                x["Feedback submitted"] == "Yes", file=name) for x in recs]


def read_inbox(inbox: Path) -> list[Row]:
    """Every export row as a Row, organiser staff and nameless rows (bots) dropped."""
    rows: list[Row] = []
    for path in sorted(inbox.iterdir()):
        cells = _cells(path)
        first = cells[0][0]
        parse = {"Attendee Report": _webinar, "Topic": _meeting, "Meeting ID": _meeting,
                 "Order #": _eventbrite, "Name": _hopin}[first]
        rows += parse(cells, path.name)
    return [r for r in rows if r.email and not r.email.endswith("@" + DEMO_ORGANISER_DOMAIN)]


def _norm(company: str) -> str:
    words = re.sub(r"[^a-z0-9 ]", "", company.lower()).split()
    return " ".join(w for w in words if w not in LEGAL)


class Crm:
    """The test's own matching: contact email, then domain, then a fuzzy, suffix-blind company name."""

    def __init__(self, root: Path) -> None:
        with (root / "crm" / "customers.csv").open(encoding="utf-8") as fh:
            self.customers = list(csv.DictReader(fh))
        with (root / "crm" / "contacts.csv").open(encoding="utf-8") as fh:
            self.contacts = list(csv.DictReader(fh))
        self.by_email = {c["email"].lower(): c["customer_id"] for c in self.contacts}
        self.by_domain = {d: c["customer_id"] for c in self.customers for d in c["domains"].split(";")}
        self.names = {_norm(c["name"]): c["customer_id"] for c in self.customers}

    def resolve(self, email: str, companies: set[str]) -> str | None:
        if email in self.by_email:
            return self.by_email[email]
        if email.split("@")[1] in self.by_domain:
            return self.by_domain[email.split("@")[1]]
        for company in sorted(companies):
            close = difflib.get_close_matches(_norm(company), list(self.names), n=1, cutoff=0.85)
            if close:
                return self.names[close[0]]
        return None


@pytest.fixture(scope="module")
def parsed(demo: tuple[Path, DemoTruth]) -> dict[str, object]:
    root, _ = demo
    rows = read_inbox(root / "inbox")
    crm = Crm(root)
    companies: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        if r.company:
            companies[r.email].add(r.company)
    attended = {(r.event, r.day, r.email) for r in rows if r.attended}
    owner = {e: crm.resolve(e, companies[e]) for _, _, e in attended}
    return {"rows": rows, "attended": attended, "owner": owner, "crm": crm}


def test_same_anchor_and_seed_give_identical_bytes(tmp_path: Path) -> None:
    generate_demo(tmp_path / "a", anchor=ANCHOR)
    generate_demo(tmp_path / "b", anchor=ANCHOR)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 24  # 4 CRM/catalogue/truth files + crm/internal_domains.txt + 19 exports
    for rel in files:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes(), rel
    generate_demo(tmp_path / "c", anchor=ANCHOR, seed=8)
    contacts = Path("crm") / "contacts.csv"
    assert (tmp_path / "c" / contacts).read_bytes() != (tmp_path / "a" / contacts).read_bytes()


@pytest.mark.parametrize("anchor", [ANCHOR, date(2025, 3, 1), date(2027, 1, 31)])
def test_dates_are_relative_to_the_anchor(tmp_path: Path, anchor: date) -> None:
    truth = generate_demo(tmp_path, anchor=anchor)
    days = {r.day for r in read_inbox(tmp_path / "inbox")}
    assert len(days) == 18
    assert all(anchor - timedelta(days=365) <= d < anchor for d in days)
    with (tmp_path / "events" / "upcoming_events.csv").open(encoding="utf-8") as fh:
        upcoming = list(csv.DictReader(fh))
    assert 4 <= len(upcoming) <= 6
    assert all(anchor < date.fromisoformat(u["date"]) <= anchor + timedelta(days=56) for u in upcoming)
    assert {"webinar", "user_group", "training"} <= {u["type"] for u in upcoming}
    assert all(u["registration_url"].startswith("https://events.northwind-analytics.com/") for u in upcoming)
    assert truth.anchor == anchor and truth.counts["records"] == 567


def test_events_by_type_are_inferable_from_their_names(parsed: dict, demo: tuple[Path, DemoTruth]) -> None:
    events = {(name, day) for name, day, _ in parsed["attended"]}
    types = Counter(infer_event_type(name) for name, _ in events)
    assert types == {"webinar": 8, "user_group": 4, "training": 4, "conference": 2}
    assert demo[1].counts["by_type"] == dict(types)
    topics = ("analytics", "dashboards", "data quality", "automation", "security", "integrations")
    assert all(any(t in name.lower() for t in topics) for name, _ in events)


def test_counts_recomputed_from_the_files(parsed: dict, demo: tuple[Path, DemoTruth]) -> None:
    truth = demo[1]
    attended, owner = parsed["attended"], parsed["owner"]
    assert len(attended) == truth.counts["records"] == 567
    assert len({e for *_, e in attended}) == truth.counts["people"] == 234
    assert len(set(owner.values()) - {None}) == truth.counts["customers"] == 78
    assert len(parsed["crm"].customers) == 82
    assert sorted(e for e, c in owner.items() if c is None) == list(truth.prospect_people)
    no_shows = {(r.event, r.day, r.email) for r in parsed["rows"] if r.status == "no_show"}
    assert len(no_shows) == truth.no_show and not no_shows & attended
    assert any(r.status == "cancelled" for r in parsed["rows"])


def _halves(parsed: dict, customer: str) -> tuple[int, int]:
    split = ANCHOR - timedelta(days=182)
    events = {(n, d) for n, d, e in parsed["attended"] if parsed["owner"][e] == customer}
    return sum(d < split for _, d in events), sum(d >= split for _, d in events)


def test_trend_segments_are_unmistakable(parsed: dict, demo: tuple[Path, DemoTruth]) -> None:
    truth = demo[1]
    assert len(truth.declining) >= 4 and len(truth.rising) >= 4 and len(truth.stable) >= 4
    for c in truth.declining:
        first, second = _halves(parsed, c)
        assert first >= 8 and second <= 2, (c, first, second)
    for c in truth.rising:
        first, second = _halves(parsed, c)
        assert first <= 2 and second >= 7, (c, first, second)
    for c in truth.stable:
        first, second = _halves(parsed, c)
        assert first == second >= 3, (c, first, second)


def test_new_customers_attend_only_after_joining(parsed: dict, demo: tuple[Path, DemoTruth]) -> None:
    since = {c["customer_id"]: date.fromisoformat(c["customer_since"]) for c in parsed["crm"].customers}
    assert sorted(c for c, d in since.items() if d >= ANCHOR - timedelta(days=90)) == list(demo[1].new)
    brand_new = [c for c in demo[1].new if since[c] >= ANCHOR - timedelta(days=30)]
    assert len(brand_new) == 2 and not set(brand_new) & set(parsed["owner"].values())
    for c in demo[1].new:
        assert all(d >= since[c] for _, d, e in parsed["attended"] if parsed["owner"][e] == c)


def test_advocates_speak_ask_and_come_to_everything(parsed: dict, demo: tuple[Path, DemoTruth]) -> None:
    truth, rows, owner = demo[1], parsed["rows"], parsed["owner"]
    assert len(truth.advocacy) >= 3
    spoke = {r.email for r in rows if r.role == "speaker" and r.attended}
    assert sorted(spoke) == list(truth.speakers)
    for c in truth.advocacy:
        mine = [r for r in rows if r.attended and owner.get(r.email) == c]
        assert len({r.email for r in mine}) >= 5
        assert {infer_event_type(r.event) for r in mine} == {"webinar", "user_group", "training", "conference"}
        assert {r.email for r in mine} & spoke
        assert all(r.feedback for r in mine if r.file.startswith("hopin"))
        first, second = _halves(parsed, c)
        assert abs(first - second) <= 1 and first >= 8
    asked: Counter[str] = Counter()
    for r in rows:
        asked[r.email] += r.questions
    top = [e for e, _ in sorted(asked.items(), key=lambda kv: (-kv[1], kv[0]))[:5]]
    assert top == list(truth.top_question_askers)
    assert {owner[e] for e in top} <= set(truth.advocacy)


def test_personal_addresses_and_domain_only_people_resolve(parsed: dict, demo: tuple[Path, DemoTruth]) -> None:
    truth, crm, owner = demo[1], parsed["crm"], parsed["owner"]
    assert len(truth.personal_address_people) >= 5
    for email, customer in truth.personal_address_people.items():
        assert email.split("@")[1] in PERSONAL and owner[email] == customer
    typed = {r.company for r in parsed["rows"] if r.email in truth.personal_address_people and r.company}
    assert {"Acme Analytics", "Brightline", "Orbit Dta Ltd"} <= typed
    assert any(e in crm.by_email for e in truth.personal_address_people)
    assert any(e not in crm.by_email for e in truth.personal_address_people)
    second = {d for c in crm.customers for d in c["domains"].split(";")[1:]}
    assert len(second) >= 1 and any(e.split("@")[1] in second for e in truth.domain_only_people)
    for email, customer in truth.domain_only_people.items():
        assert email not in crm.by_email and crm.by_domain[email.split("@")[1]] == customer == owner[email]
    assert all(c["is_champion"] in ("true", "false") for c in crm.contacts)


def test_hybrid_user_group_is_one_event_in_two_files(parsed: dict, demo: tuple[Path, DemoTruth]) -> None:
    merged = demo[1].merged_event
    mine = [r for r in parsed["rows"] if r.event == merged["name"] and r.day.isoformat() == merged["date"]]
    by_file: dict[str, set[str]] = defaultdict(set)
    for r in mine:
        if r.attended:
            by_file[r.file].add(r.email)
    online, in_person = (by_file[f] for f in sorted(by_file, key=lambda f: not f.startswith("participants")))
    assert len(by_file) == 2 and online & in_person and online - in_person and in_person - online


def test_layout_quirks_are_present(demo: tuple[Path, DemoTruth]) -> None:
    inbox = demo[0] / "inbox"
    names = sorted(p.name for p in inbox.iterdir())
    webinars = [n for n in names if n.endswith("Attendee Report.csv")]
    assert len(webinars) == 7 and len([n for n in names if n.endswith(".xlsx")]) == 2
    raw = [(inbox / n).read_bytes() for n in webinars]
    assert sum(b.startswith(b"\xef\xbb\xbf") for b in raw) == 6
    assert sum(b"User Name (Original Name)" not in b and b"Attendee Report,\r\n" in b for b in raw) == 1
    meetings = [(inbox / n).read_text(encoding="utf-8") for n in names if n.startswith("participants_")]
    assert sum("read.ai meeting notes" in m for m in meetings) == 1
    assert sum(m.startswith("Meeting ID,Topic") for m in meetings) == 1
    assert all(",Yes\n" in m for m in meetings if m.startswith("Topic"))  # waiting-room rows
    assert len([n for n in names if n.startswith("Attendees-")]) == 4
    rejoins = Counter((r.file, r.email) for r in read_inbox(inbox) if r.attended)
    assert sum(n > 1 for n in rejoins.values()) >= 20  # join/leave rows the pipeline must fold
    assert json.loads((demo[0] / "demo_truth.json").read_text())["counts"]["records"] == 567
