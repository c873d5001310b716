"""Synthetic data of a chosen size for the benchmark: a scaled CRM and one real-format export per event.

Why not the demo generator: `generate_demo` writes a fixed 567-record year on purpose (its tests assert
exact numbers). The benchmark needs the same file layouts at 1k … 1M records, so this module builds a
population of the requested size and hands it to the demo's own writers (`engagement_pipeline.demo.writers`),
which reproduce the real exports byte for byte: Zoom webinar Attendee Reports (2025 layout, BOM, padding),
Zoom meeting participant exports (2024+ lowercase layout, join/leave repeats, waiting room, a note-taker
bot), Eventbrite attendee reports and Hopin people exports. The parsers therefore do exactly the work they
do on real uploads.

What "records" means: one (person, event) pair, the unit the pipeline counts (attended or no-show). The raw
rows written are more (join/leave repeats, waiting-room rows, hosts, panelists, cancelled tickets).

Shape, scaled with the size: ~1 customer per 10 records capped at 3,000; ~1 person per 4 records;
24 events for 1k records growing to ~380 for 1M (size**0.4); event dates over the 12 months before the
anchor; ~7 % of people on personal addresses who type their company (some with a typo), ~6 % prospects who
match no customer; some customers rising or declining over the year so the trend test has work to do.
Deterministic for a given size, anchor and seed.
"""

from __future__ import annotations

import csv
import io
import json
import math
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from engagement_pipeline.config import DEMO_ORGANISER_DOMAIN
from engagement_pipeline.demo import writers
from engagement_pipeline.demo.population import (
    CSMS,
    FIRST,
    LAST,
    MINUTES,
    NOUNS,
    ROLES,
    START_HOUR,
    SUFFIXES,
    Attendance,
    Event,
    Person,
    build_events,
    weekday_near,
)
from engagement_pipeline.ingest.canonical import slugify

REGISTRATION_SITE = "https://events.northwind-analytics.com"
SYLLABLES = ("ka", "lo", "ve", "ran", "tix", "mor", "den", "sul", "qua", "bri", "zen", "pol", "ter", "vin",
             "ash", "gle", "dor", "fen", "ix", "nar", "op", "ral", "sen", "tu", "vor", "wel", "yan", "zo",
             "cal", "mi")
PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com")
PROSPECT_TLDS = ("org", "io", "net", "co")
TOPICS = (("analytics", "Analytics"), ("dashboards", "Dashboards"), ("data-quality", "Data Quality"),
          ("security", "Security"), ("integrations", "Integrations"), ("automation", "Automation"))
CITIES = ("Boston", "London", "Chicago", "Berlin", "Austin", "Madrid", "Sydney", "Toronto")
# Per 20 events: 9 webinars (Zoom webinar), 5 trainings (Zoom meeting), 4 user groups (Eventbrite),
# 2 conferences (Hopin); the relative audience of each type decides how the records are spread.
TYPE_CYCLE = ("webinar", "training", "webinar", "user_group", "webinar", "training", "conference", "webinar",
              "user_group", "webinar", "training", "webinar", "user_group", "webinar", "training", "webinar",
              "conference", "user_group", "webinar", "training")
AUDIENCE = {"webinar": 1.2, "training": 0.5, "user_group": 0.6, "conference": 3.0}
NO_SHOW = {"webinar": 0.2, "training": 0.0, "user_group": 0.2, "conference": 0.15}
MAX_CUSTOMERS = 3_000


@dataclass(frozen=True)
class Shape:
    """How many of each thing a size gets."""

    records: int
    customers: int
    people: int
    events: int
    prospects: int


def shape_for(records: int) -> Shape:
    customers = min(MAX_CUSTOMERS, max(20, records // 10))
    events = max(6, round(24 * (records / 1000) ** 0.4))
    people = max(150, records // 4)
    return Shape(records, customers, people, events, prospects=max(5, customers // 10))


def _company_stems(rng: random.Random, n: int) -> list[str]:
    """n distinct invented brand words ('Kalomor', 'Zenvin'), so no name is a real company."""
    seen: set[str] = set()
    out: list[str] = []
    while len(out) < n:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.choice((2, 3, 3)))).capitalize()
        if len(word) >= 4 and word not in seen:
            seen.add(word)
            out.append(word)
    return out


def _typo(text: str, rng: random.Random) -> str:
    """One dropped letter inside the first word: 'Kalomor Robotics' -> 'Kalmor Robotics'."""
    first, _, rest = text.partition(" ")
    if len(first) < 5:
        return text
    i = rng.randint(1, len(first) - 2)
    return f"{first[:i]}{first[i + 1:]} {rest}".strip()


@dataclass
class _Customer:
    customer_id: str
    name: str
    stem: str  # the name without its legal suffix
    domain: str
    since: date
    trend: float  # -1 declining, 0 flat, +1 rising over the year


def _customers(shape: Shape, rng: random.Random, anchor: date) -> tuple[list[_Customer], list[tuple[str, str]]]:
    stems = _company_stems(rng, shape.customers + shape.prospects)
    customers = []
    for n, stem_word in enumerate(stems[: shape.customers]):
        noun = NOUNS[n % len(NOUNS)]
        suffix, tld = SUFFIXES[n % len(SUFFIXES)]
        stem = f"{stem_word} {noun}"
        recent = rng.random() < 0.05
        since = anchor - timedelta(days=rng.randint(30, 200) if recent else rng.randint(420, 2400))
        roll = rng.random()
        trend = -1.0 if roll < 0.15 else (1.0 if roll < 0.30 else 0.0)
        customers.append(_Customer(f"C{n + 1:05d}", f"{stem} {suffix}", stem,
                                   f"{stem.replace(' ', '').lower()}.{tld}", since, trend))
    prospects = [(f"{word} {NOUNS[(n + 5) % len(NOUNS)]}",
                  f"{word.lower()}{NOUNS[(n + 5) % len(NOUNS)].lower()}.{PROSPECT_TLDS[n % len(PROSPECT_TLDS)]}")
                 for n, word in enumerate(stems[shape.customers:])]
    return customers, prospects


def _people(shape: Shape, customers: list[_Customer], prospects: list[tuple[str, str]], rng: random.Random,
            np_rng: np.random.Generator) -> tuple[list[Person], np.ndarray, np.ndarray, set[str]]:
    """People, the customer index of each (-1 for prospects), their base attendance weight, contact emails."""
    taken: set[str] = set()

    def email(first: str, last: str, domain: str, personal: bool) -> str:
        local = f"{first}{last}{rng.randint(10, 99)}" if personal else f"{first}.{last}"
        out, n = f"{local.lower()}@{domain}", 2
        while out in taken:
            out, n = f"{local.lower()}{n}@{domain}", n + 1
        taken.add(out)
        return out

    # Big customers send many people: Zipf-like share of the people per customer.
    share = 1.0 / np.arange(1, len(customers) + 1) ** 0.8
    owner = np_rng.choice(len(customers), size=shape.people, p=share / share.sum())
    kinds = np_rng.random(shape.people)
    people: list[Person] = []
    cust_index = np.full(shape.people, -1, dtype=np.int64)
    contacts: set[str] = set()
    per_customer: dict[int, int] = {}
    for i in range(shape.people):
        first, last, title = rng.choice(FIRST), rng.choice(LAST), rng.choice(ROLES[1:])
        if kinds[i] < 0.06:  # prospect: a company that is not in the CRM
            name, domain = prospects[i % len(prospects)]
            people.append(Person(email(first, last, domain, False), first, last, title, None, name, "prospect"))
            continue
        c = customers[int(owner[i])]
        cust_index[i] = int(owner[i])
        if kinds[i] < 0.13:  # personal address, company typed by hand (sometimes misspelt, sometimes blank)
            typed = rng.choices([c.stem, c.name, _typo(c.stem, rng), ""], weights=[60, 15, 15, 10])[0]
            person = Person(email(first, last, rng.choice(PERSONAL_DOMAINS), True), first, last, title,
                            c.customer_id, typed, "personal", is_contact=rng.random() < 0.2)
        else:
            seat = per_customer.get(int(owner[i]), 0)
            per_customer[int(owner[i])] = seat + 1
            typed = (c.name, c.stem, "")[i % 3]
            person = Person(email(first, last, c.domain, False), first, last,
                            "VP Data" if seat == 0 else title, c.customer_id, typed, "corporate",
                            is_contact=seat < 3, is_champion=seat == 0)
        people.append(person)
        if person.is_contact:
            contacts.add(person.email)
    weight = np_rng.lognormal(0.0, 1.0, size=shape.people)
    return people, cust_index, weight, contacts


def _events(shape: Shape, anchor: date) -> list[Event]:
    """Events spread evenly over the 12 months before the anchor, Tuesday to Thursday."""
    events = []
    for n in range(shape.events):
        kind = TYPE_CYCLE[n % len(TYPE_CYCLE)]
        topic, title = TOPICS[n % len(TOPICS)]
        days_before = 360 - round(n * 357 / max(1, shape.events - 1))
        day = weekday_near(anchor - timedelta(days=days_before))
        number = n + 1
        name = {
            "webinar": f"{title} {('Deep Dive', 'in Practice', 'Best Practices', 'Roadmap')[n % 4]} Webinar {number}",
            "training": f"{title} Hands-On Workshop {number}",
            "user_group": f"{CITIES[n % len(CITIES)]} {title} User Group {number}",
            "conference": f"{title} Summit {number}",
        }[kind]
        layout = {"webinar": "zoom_webinar", "training": "zoom_meeting", "user_group": "eventbrite",
                  "conference": "hopin"}[kind]
        start = datetime.combine(day, time(START_HOUR[kind], 0)) + timedelta(minutes=n % 7)
        events.append(Event(f"E{number:04d}", name, kind, day, start, MINUTES[kind], topic, layout))
    return events


def _allocate(total: int, weights: list[float], caps: list[int]) -> list[int]:
    """Largest-remainder split of `total` by `weights`, no part above its cap (the people available)."""
    scale = total / sum(weights)
    raw = [w * scale for w in weights]
    parts = [min(cap, math.floor(r)) for r, cap in zip(raw, caps, strict=True)]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - math.floor(raw[i]), reverse=True)
    while sum(parts) < total:
        grew = False
        for i in order:
            if sum(parts) >= total:
                break
            if parts[i] < caps[i]:
                parts[i] += 1
                grew = True
        if not grew:
            raise ValueError(f"cannot place {total} records: too few people for the events")
    return parts


def _attendances(events: list[Event], sizes: list[int], people: list[Person], cust_index: np.ndarray,
                 weight: np.ndarray, customers: list[_Customer], rng: random.Random,
                 np_rng: np.random.Generator) -> dict[str, list[Attendance]]:
    """Who registered for / attended each event: weighted sampling without replacement (Gumbel top-k)."""
    trend = np.array([c.trend for c in customers] + [0.0])[cust_index]  # index -1 -> the appended 0.0
    log_w = np.log(weight)
    out: dict[str, list[Attendance]] = {}
    for n, (event, k) in enumerate(zip(events, sizes, strict=True)):
        t = n / max(1, len(events) - 1) - 0.5  # -0.5 (a year ago) .. +0.5 (now)
        keys = log_w + 1.4 * trend * t - np.log(-np.log(np_rng.random(len(people))))
        chosen = np.argpartition(-keys, k - 1)[:k] if k < len(people) else np.arange(len(people))
        no_show = NO_SHOW[event.type]
        regs = []
        spoke = False
        for i in sorted(int(x) for x in chosen):
            p = people[i]
            status = "no_show" if rng.random() < no_show else "attended"
            role = "attendee"
            if (not spoke and status == "attended" and p.kind == "corporate" and event.type in ("webinar", "conference")
                    and n % 3 == 0 and weight[i] > 3):
                role, spoke = "speaker", True
            extra: dict[str, Any] = {}
            if event.type == "conference" and status == "attended":
                extra = {"questions": int(rng.random() < 0.3) * rng.randint(1, 5), "polls": rng.randint(0, 4),
                         "chats": rng.randint(0, 12), "feedback": rng.random() < 0.35}
            regs.append(Attendance(event.key, p.email, status=status, role=role, **extra))
        if event.type == "user_group":  # a couple of cancelled tickets: rows, not records
            spare = [people[i] for i in rng.sample(range(len(people)), 2)]
            seen = {a.email for a in regs}
            regs += [Attendance(event.key, p.email, status="cancelled") for p in spare if p.email not in seen]
        out[event.key] = regs
    return out


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _crm_files(out_dir: Path, customers: list[_Customer], people: list[Person], anchor: date,
               rng: random.Random) -> int:
    """customers.csv, contacts.csv and the demo-style upcoming events catalogue; returns the contact count."""
    crm = out_dir / "crm"
    crm.mkdir(parents=True, exist_ok=True)
    rows = [["customer_id", "name", "domains", "arr", "usage_health", "csm_owner", "customer_since"]]
    rows += [[c.customer_id, c.name, c.domain, str(20_000 + 1000 * rng.randint(0, 300)), str(rng.randint(30, 95)),
              CSMS[n % len(CSMS)], c.since.isoformat()] for n, c in enumerate(customers)]
    (crm / "customers.csv").write_bytes(_csv(rows))
    contacts = sorted((p for p in people if p.is_contact), key=lambda p: (str(p.customer_id), p.email))
    rows = [["customer_id", "name", "email", "role", "is_champion"]]
    rows += [[str(p.customer_id), p.name, p.email, p.title, "true" if p.is_champion else "false"] for p in contacts]
    (crm / "contacts.csv").write_bytes(_csv(rows))
    events = out_dir / "events"
    events.mkdir(parents=True, exist_ok=True)
    _, upcoming = build_events(anchor)
    rows = [["name", "type", "date", "topics", "registration_url"]]
    rows += [[name, kind, day.isoformat(), topics, f"{REGISTRATION_SITE}/{slugify(name)}"]
             for name, kind, day, topics in upcoming]
    (events / "upcoming_events.csv").write_bytes(_csv(rows))
    return len(contacts)


def _staff() -> list[Person]:
    return [Person(f"{first}.{last}@{DEMO_ORGANISER_DOMAIN}".lower(), first, last, title, None,
                   "Northwind Analytics", "staff")
            for first, last, title in (("Maya", "Chen", "Head of Community"), ("Tom", "Okafor", "Education Lead"),
                                       ("Priya", "Raman", "Community Manager"), ("Lena", "Fischer", "PM"))]


def _export(event: Event, regs: list[Attendance], people: dict[str, Person], staff: list[Person], n: int,
            rng: random.Random) -> tuple[str, bytes, int]:
    """(file name, bytes, data rows) of one event's export in its platform's real layout."""
    maya, tom, priya, lena = staff
    if event.layout == "zoom_webinar":
        digits = str(81 * 10**9 + n * 7919)
        shown = f"{digits[:3]} {digits[3:7]} {digits[7:]}"
        rows = writers.zoom_webinar(event, regs, people, maya, [lena], shown, rng, legacy=False)
        return f"{digits} - Attendee Report.csv", writers.to_csv(rows, bom=True, pad=True), len(rows)
    if event.layout == "zoom_meeting":
        meeting_id = str(82 * 10**9 + n * 7907)
        attended = [a for a in regs if a.status == "attended"]
        rows = writers.zoom_meeting(event, attended, people, tom, meeting_id, rng, legacy=False, bot=n % 7 == 0)
        return f"participants_{meeting_id}.csv", writers.to_csv(rows), len(rows)
    if event.layout == "eventbrite":
        rows = writers.eventbrite(event, regs, people, priya, rng)
        return f"Attendees-{77 * 10**8 + n * 104_729}.csv", writers.to_csv(rows), len(rows)
    rows = writers.hopin(event, regs, people, [maya, lena], [tom], rng)
    return f"hopin-people-export-{slugify(event.name)}.csv", writers.to_csv(rows, newline="\n"), len(rows)


def generate(out_dir: Path, records: int, anchor: date, seed: int = 11, progress: Any = None) -> dict[str, Any]:
    """Writes `crm/`, `events/upcoming_events.csv` and `inbox/` under out_dir; returns (and saves) a manifest."""
    out_dir = Path(out_dir)
    shape = shape_for(records)
    rng = random.Random(f"bench-{seed}-{records}")
    np_rng = np.random.default_rng([seed, records])
    customers, prospects = _customers(shape, rng, anchor)
    people, cust_index, weight, _ = _people(shape, customers, prospects, rng, np_rng)
    contacts = _crm_files(out_dir, customers, people, anchor, rng)
    events = _events(shape, anchor)
    sizes = _allocate(records, [AUDIENCE[e.type] for e in events], [len(people)] * len(events))
    regs = _attendances(events, sizes, people, cust_index, weight, customers, rng, np_rng)
    by_email = {p.email: p for p in people}
    staff = _staff()
    inbox = out_dir / "inbox"
    inbox.mkdir(parents=True, exist_ok=True)
    files, rows_written, total_bytes = [], 0, 0
    by_layout: dict[str, int] = {}
    for n, event in enumerate(events):
        name, data, rows = _export(event, regs[event.key], by_email, staff, n, rng)
        (inbox / name).write_bytes(data)
        files.append(name)
        rows_written += rows
        total_bytes += len(data)
        by_layout[event.layout] = by_layout.get(event.layout, 0) + 1
        if progress and (n + 1) % max(1, len(events) // 4) == 0:
            progress(f"wrote {n + 1}/{len(events)} export files")
    counted = [a for e in events for a in regs[e.key] if a.status != "cancelled"]
    manifest = {
        "records": records,
        "records_planned": len(counted),
        "attended_planned": sum(a.status == "attended" for a in counted),
        "no_show_planned": sum(a.status == "no_show" for a in counted),
        "customers": len(customers),
        "contacts": contacts,
        "people": len(people),
        "events": len(events),
        "files": len(files),
        "rows_written": rows_written,
        "bytes": total_bytes,
        "files_by_layout": by_layout,
        "anchor": anchor.isoformat(),
        "seed": seed,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


__all__ = ["Shape", "generate", "shape_for"]
