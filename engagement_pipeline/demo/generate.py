"""`generate_demo`: writes the demo CRM, the upcoming-events catalogue, a year of exports and the known truth.

Deterministic on purpose: the same anchor and seed give byte-identical files, so the end-to-end test can
assert exact numbers and a reviewer can diff two runs. The only clock read is `date.today()` when no anchor
is given.
"""

from __future__ import annotations

import csv
import io
import json
import random
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from engagement_pipeline.config import DEMO_ORGANISER_DOMAIN, INTERNAL_DOMAINS_FILE
from engagement_pipeline.demo import writers
from engagement_pipeline.demo.population import Population, build_population
from engagement_pipeline.ingest.canonical import slugify

TARGET = {"records": 567, "people": 234, "customers": 78, "events": 18}
REGISTRATION_SITE = "https://events.northwind-analytics.com"


@dataclass(frozen=True)
class DemoTruth:
    """What the pipeline should find in the demo data; also written as `demo_truth.json`."""

    anchor: date
    seed: int
    counts: dict[str, object]
    events: tuple[dict[str, str], ...]
    declining: tuple[str, ...]
    rising: tuple[str, ...]
    stable: tuple[str, ...]
    new: tuple[str, ...]
    advocacy: tuple[str, ...]
    personal_address_people: dict[str, str]
    domain_only_people: dict[str, str]
    speakers: tuple[str, ...]
    top_question_askers: tuple[str, ...]
    merged_event: dict[str, str]
    prospect_people: tuple[str, ...]
    no_show: int

    def to_json(self) -> str:
        data = asdict(self) | {"anchor": self.anchor.isoformat()}
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def _write(path: Path, data: bytes) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path.name


def _crm(pop: Population, out_dir: Path) -> None:
    """customers.csv and contacts.csv, sorted by id so the files diff cleanly."""
    customers = sorted(pop.customers, key=lambda c: c.customer_id)
    rows = [["customer_id", "name", "domains", "arr", "usage_health", "csm_owner", "customer_since"]]
    rows += [[c.customer_id, c.name, ";".join(c.domains), str(c.arr), str(c.usage_health), c.csm_owner,
              c.customer_since.isoformat()] for c in customers]
    _write(out_dir / "crm" / "customers.csv", _csv(rows))
    contacts = sorted((p for p in pop.people.values() if p.is_contact), key=lambda p: (p.customer_id, p.email))
    rows = [["customer_id", "name", "email", "role", "is_champion"]]
    rows += [[str(p.customer_id), p.name, p.email, p.title, "true" if p.is_champion else "false"] for p in contacts]
    _write(out_dir / "crm" / "contacts.csv", _csv(rows))
    rows = [["name", "type", "date", "topics", "registration_url"]]
    rows += [[name, kind, day.isoformat(), topics, f"{REGISTRATION_SITE}/{slugify(name)}"]
             for name, kind, day, topics in pop.upcoming]
    _write(out_dir / "events" / "upcoming_events.csv", _csv(rows))


def _inbox(pop: Population, inbox: Path, seed: int) -> dict[str, list[str]]:
    """One export per event (two for the hybrid user group), in the layout its platform produces."""
    rng = random.Random(f"engagement-demo-files-{seed}")
    maya, tom, priya, lena, sam = pop.staff
    files: dict[str, list[str]] = {}
    for event in pop.events:
        regs = [a for a in pop.attendances if a.event_key == event.key]
        stamp = datetime.combine(event.day + timedelta(days=1), datetime.min.time())
        layout, names = event.layout, files.setdefault(event.key, [])
        if layout.startswith("zoom_webinar"):
            legacy = layout.endswith("2020")
            digits = str(rng.randint(10**8, 10**9 - 1) if legacy else rng.randint(81 * 10**9, 99 * 10**9 - 1))
            shown = f"{digits[:3]}-{digits[3:6]}-{digits[6:]}" if legacy else f"{digits[:3]} {digits[3:7]} {digits[7:]}"
            rows = writers.zoom_webinar(event, regs, pop.people, maya, [lena], shown, rng, legacy)
            if layout.endswith("xlsx"):
                names.append(_write(inbox / f"{digits} - Attendee Report.xlsx", writers.to_xlsx(rows, digits, stamp)))
            else:
                data = writers.to_csv(rows, bom=not legacy, pad=not legacy)
                names.append(_write(inbox / f"{digits} - Attendee Report.csv", data))
        elif layout.startswith("zoom_meeting"):
            attended = [a for a in regs if a.status == "attended"]
            meeting_id = str(rng.randint(81 * 10**9, 99 * 10**9 - 1))
            rows = writers.zoom_meeting(event, attended, pop.people, tom, meeting_id, rng,
                                        legacy=layout.endswith("2020"), bot=event.key == "T1")
            names.append(_write(inbox / f"participants_{meeting_id}.csv", writers.to_csv(rows)))
        elif layout.startswith("eventbrite"):
            rows = writers.eventbrite(event, regs, pop.people, priya, rng)
            names.append(_write(inbox / f"Attendees-{rng.randint(77 * 10**8, 78 * 10**8 - 1)}.csv",
                                writers.to_csv(rows)))
            if layout.endswith("hybrid"):
                online = [a for a in regs if a.status == "attended" and a.channel != "in_person"]
                meeting_id = str(rng.randint(81 * 10**9, 99 * 10**9 - 1))
                rows = writers.zoom_meeting(event, online, pop.people, priya, meeting_id, rng)
                names.append(_write(inbox / f"participants_{meeting_id}.csv", writers.to_csv(rows)))
        else:
            rows = writers.hopin(event, regs, pop.people, [maya, lena], [sam], rng)
            base = inbox / f"hopin-people-export-{slugify(event.name)}"
            if layout.endswith("xlsx"):
                names.append(_write(base.with_suffix(".xlsx"), writers.to_xlsx(rows, "People", stamp)))
            else:
                names.append(_write(base.with_suffix(".csv"), writers.to_csv(rows, newline="\n")))
    return files


def _truth(pop: Population, seed: int, files: dict[str, list[str]]) -> DemoTruth:
    """The expected answers, computed from the population (the tests recompute them from the files)."""
    attended = [a for a in pop.attendances if a.status == "attended"]
    people = pop.people
    customers = {people[a.email].customer_id for a in attended} - {None}
    counts: dict[str, object] = {
        "records": len({(a.event_key, a.email) for a in attended}),
        "people": len({a.email for a in attended}),
        "customers": len(customers),
        "events": len(pop.events),
        "by_type": dict(sorted(Counter(e.type for e in pop.events).items())),
    }
    wrong = {k: (counts[k], v) for k, v in TARGET.items() if counts[k] != v}
    if wrong:
        raise RuntimeError(f"demo population drifted from its sizing (got, want): {wrong}")

    def segment(name: str) -> tuple[str, ...]:
        return tuple(sorted(c.customer_id for c in pop.customers if c.segment == name))

    recent = pop.anchor - timedelta(days=90)
    questions: Counter[str] = Counter()
    for a in attended:
        questions[a.email] += a.questions
    attending = {a.email for a in attended}
    hybrid = next(e for e in pop.events if e.layout == "eventbrite_hybrid")
    return DemoTruth(
        anchor=pop.anchor,
        seed=seed,
        counts=counts,
        events=tuple({"name": e.name, "type": e.type, "date": e.day.isoformat(), "files": ";".join(files[e.key])}
                     for e in pop.events),
        declining=segment("declining"),
        rising=segment("rising"),
        stable=segment("stable"),
        new=tuple(sorted(c.customer_id for c in pop.customers if c.customer_since >= recent)),
        advocacy=segment("advocacy"),
        personal_address_people={p.email: str(p.customer_id) for p in people.values()
                                 if p.kind == "personal" and p.email in attending},
        domain_only_people={p.email: str(p.customer_id) for p in people.values()
                            if p.kind in ("corporate", "second_domain") and not p.is_contact and p.email in attending},
        speakers=tuple(sorted({a.email for a in attended if a.role == "speaker"})),
        top_question_askers=tuple(e for e, _ in sorted(questions.items(), key=lambda kv: (-kv[1], kv[0]))[:5]),
        merged_event={"name": hybrid.name, "date": hybrid.day.isoformat()},
        prospect_people=tuple(sorted(e for e in attending if people[e].kind == "prospect")),
        no_show=sum(a.status == "no_show" for a in pop.attendances),
    )


def generate_demo(out_dir: Path, anchor: date | None = None, seed: int = 7) -> DemoTruth:
    """Write the demo data folder under `out_dir` and return what the pipeline should find in it."""
    out_dir = Path(out_dir)
    pop = build_population(anchor or date.today(), seed)
    _crm(pop, out_dir)
    files = _inbox(pop, out_dir / "inbox", seed)
    truth = _truth(pop, seed, files)
    _write(out_dir / "demo_truth.json", truth.to_json().encode("utf-8"))
    # The demo organiser's staff are configured, not guessed: the same as a CSM writing their own domain here.
    domains = f"# organiser domains (internal staff)\n{DEMO_ORGANISER_DOMAIN}\n"
    _write(out_dir / "crm" / INTERNAL_DOMAINS_FILE, domains.encode("utf-8"))
    return truth


__all__ = ["DemoTruth", "generate_demo"]
