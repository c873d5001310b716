"""The simulated world written as the files a CSM would have: real export layouts and a CRM extract.

The layouts come from the demo's writers (Zoom webinar attendee report, Zoom meeting participants,
Eventbrite attendee report, Hopin people export), so the evaluation goes through the same parsers as
production data. Churned customers stay in the CRM (the extract is from before they left).
"""

from __future__ import annotations

import csv
import io
import random
from datetime import datetime, timedelta
from pathlib import Path

from engagement_pipeline.demo import writers
from engagement_pipeline.simulation.world import SimWorld


def _csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8")


def write_crm(world: SimWorld, crm_dir: Path) -> None:
    crm_dir.mkdir(parents=True, exist_ok=True)
    rows = [["customer_id", "name", "domains", "arr", "usage_health", "csm_owner", "customer_since"]]
    rows += [[c.customer_id, c.name, ";".join(c.domains), str(10_000 + 1_000 * (i % 40)), "70", "Hannah Price",
              c.since.isoformat()] for i, c in enumerate(world.customers)]
    (crm_dir / "customers.csv").write_bytes(_csv(rows))
    rows = [["customer_id", "name", "email", "role", "is_champion"]]
    rows += [[str(p.customer_id), p.name, p.email, p.title, "true" if p.is_champion else "false"]
             for p in sorted(world.people.values(), key=lambda p: p.email) if p.is_contact]
    (crm_dir / "contacts.csv").write_bytes(_csv(rows))


def write_exports(world: SimWorld, inbox: Path) -> list[Path]:
    """One export per event in its platform's layout; every third webinar as .xlsx, some 2020 layouts."""
    inbox.mkdir(parents=True, exist_ok=True)
    rng = random.Random(f"engagement-simulation-files-{world.seed}")
    host, speaker, other = world.staff
    paths: list[Path] = []
    for n, event in enumerate(world.events):
        regs = [a for a in world.attendances if a.event_key == event.key]
        stamp = datetime.combine(event.day + timedelta(days=1), datetime.min.time())
        if event.layout == "zoom_webinar":
            legacy = n % 7 == 3
            digits = str(rng.randint(81 * 10**9, 99 * 10**9 - 1))
            rows = writers.zoom_webinar(event, regs, world.people, host, [speaker], digits, rng, legacy)
            if n % 3 == 0 and not legacy:
                path, data = inbox / f"{digits} - Attendee Report.xlsx", writers.to_xlsx(rows, digits, stamp)
            else:
                path, data = inbox / f"{digits} - Attendee Report.csv", writers.to_csv(rows, bom=not legacy,
                                                                                         pad=not legacy)
        elif event.layout == "zoom_meeting":
            came = [a for a in regs if a.status == "attended"]
            meeting = str(rng.randint(81 * 10**9, 99 * 10**9 - 1))
            rows = writers.zoom_meeting(event, came, world.people, host, meeting, rng, legacy=n % 5 == 1)
            path, data = inbox / f"participants_{meeting}.csv", writers.to_csv(rows)
        elif event.layout == "eventbrite":
            rows = writers.eventbrite(event, regs, world.people, other, rng)
            path, data = inbox / f"Attendees-{event.key}.csv", writers.to_csv(rows)
        else:
            rows = writers.hopin(event, regs, world.people, [speaker], [other], rng)
            path, data = inbox / f"hopin-people-export-{event.key}.csv", writers.to_csv(rows, newline="\n")
        path.write_bytes(data)
        paths.append(path)
    return paths
