"""The demo's known truth: the customers, their people, the year's events and who attended what.

Every export and every expected answer derives from `build_population`, so the files and the truth cannot
drift apart. Segments (advocacy, declining, rising, ...) are *planned*, not sampled, so the signals the
tests and the end-to-end run look for are unmistakable at any anchor and seed; the seed only varies names,
money and the small detail (join times, registration dates).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from engagement_pipeline.config import DEMO_ORGANISER_DOMAIN


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words("Ana Ben Carla Dev Elif Farid Grace Hugo Ines Jonas Kira Luis Mona Nils Omar Paula Quinn Rosa Sven Tara "
               "Umar Vera Wen Ximena Yusuf Zoe Aiko Bruno Chloe Dmitri Emma Felix Gita Hamid Ivy Jamal Kofi Lara "
               "Marco Nadia Oscar Pia Rafael Sara Theo Uma Victor Wanda Yara Zane")
LAST = _words("Silva Novak Okoye Larsen Haddad Moreau Keller Tanaka Rossi Nguyen Patel Schmidt Costa Walsh Ibrahim "
              "Jensen Kowalski Lindqvist Mendes Brennan Duarte Falk Garcia Horvat Iyer Jovanovic Kim Lopez Murphy "
              "Nakamura Ortega Park Quinlan Reyes Sato Torres Ueda Varga Weber Yilmaz Zhou Abbott Becker Cruz Dubois")
# One customer per brand word, so no two customers look alike to a fuzzy company-name matcher.
BRANDS = _words("Cobalt Vertex Lumen Granite Harbor Pioneer Quartz Redwood Sierra Tundra Beacon Cascade Delta Ember "
                "Falcon Glacier Ionic Kestrel Lattice Meridian Nimbus Onyx Prism Radiant Sable Tango Umbra Vantage "
                "Willow Zenith Aurora Basalt Cedar Dune Evergreen Fjord Halcyon Indigo Jasper Keystone Larch Mosaic "
                "Nova Opal Polar Riverstone Solstice Trident Verdant Alder Bramble Copperleaf Driftwood Elmstead "
                "Foxglove Goldcrest Hawthorn Ironbark Kingfisher Lighthouse Marigold Northgate Oakridge Pinecrest "
                "Quillon Rosewater Saltmarsh Thistle Upland Violet Whitecap Yellowpine Zephyr Amberly Bluewater "
                "Cliffside Deepwell Eastmoor Fernhill Greystone Highmoor Ivoryline Kelpie Lakeshore Moonrise Nettle")
NOUNS = _words("Analytics Logistics Health Retail Energy Foods Robotics Labs Systems Media Finance Insurance")
SUFFIXES = (("Inc.", "com"), ("GmbH", "de"), ("Ltd", "co.uk"), ("LLC", "com"), ("plc", "co.uk"), ("S.A.", "es"),
            ("B.V.", "nl"), ("AG", "ch"), ("Corp.", "com"), ("Pty Ltd", "com.au"))
LEGAL = sorted({sfx for sfx, _ in SUFFIXES}, key=len, reverse=True)
FIXED_CUSTOMERS = (("Acme Analytics Inc.", "acme-analytics.com"), ("Brightline GmbH", "brightline.de"),
                   ("Orbit Data Ltd", "orbitdata.co.uk"))
# Personal-address people of the first background customers: (mail domain, company typed, listed in contacts).
PERSONAL = (("gmail.com", "Acme Analytics", False), ("outlook.com", "Brightline", False),
            ("yahoo.com", "Orbit Dta Ltd", False), ("hotmail.com", "{stem}", True), ("icloud.com", "", True),
            ("gmail.com", "{name}", True))
PROSPECTS = (("Paragon Freightworks", "paragonfreight.com"), ("Tidewater Clinics", "tidewaterclinics.org"),
             ("Juniper Schools", "juniperschools.edu"))
SECOND_DOMAINS = ("quantrix.io", "shopmetric.co")
ROLES = ("VP Data", "Analytics Lead", "Admin", "Data Engineer", "BI Developer", "Head of Analytics", "Data Analyst")
CSMS = ("Hannah Price", "Diego Alvarez", "Mei Tanaka", "Olivia Grant", "Kwame Mensah")
STAFF = (("Maya", "Chen", "Head of Community"), ("Tom", "Okafor", "Customer Education Lead"),
         ("Priya", "Raman", "Community Manager"), ("Lena", "Fischer", "Product Manager"),
         ("Sam", "Ortiz", "Events Lead"))

# key, name, type, days before the anchor, export layout, topics. Keys W*/U*/T*/C* by type; 1-9 first half.
PAST_EVENTS = (
    ("W1", "Analytics Deep Dive Webinar", "webinar", 355, "zoom_webinar", "analytics"),
    ("U1", "Boston Analytics User Group", "user_group", 338, "eventbrite", "analytics"),
    ("T1", "Dashboards Design Workshop", "training", 320, "zoom_meeting", "dashboards"),
    ("W2", "Data Quality Automation Webinar", "webinar", 300, "zoom_webinar_2020", "data-quality;automation"),
    ("C1", "Northwind Analytics Summit {year}", "conference", 282, "hopin", "analytics;dashboards"),
    ("W3", "Dashboards in Practice Webinar", "webinar", 262, "zoom_webinar", "dashboards"),
    ("T2", "Security Essentials Training", "training", 245, "zoom_meeting_2020", "security"),
    ("U2", "London Data Quality User Group", "user_group", 226, "eventbrite", "data-quality"),
    ("W4", "Security Best Practices Webinar", "webinar", 205, "zoom_webinar", "security"),
    ("W5", "Integrations Roadmap Webinar", "webinar", 160, "zoom_webinar", "integrations"),
    ("T3", "Integrations Hands-On Workshop", "training", 142, "zoom_meeting", "integrations"),
    ("U3", "Chicago Automation User Group", "user_group", 124, "eventbrite_hybrid", "automation"),
    ("W6", "Automation Recipes Webinar", "webinar", 106, "zoom_webinar_xlsx", "automation"),
    ("C2", "Automation & Integrations Summit {year}", "conference", 88, "hopin_xlsx", "automation;integrations"),
    ("W7", "Self-Service Analytics Webinar", "webinar", 70, "zoom_webinar", "analytics;dashboards"),
    ("T4", "Data Quality Fundamentals Training", "training", 52, "zoom_meeting", "data-quality"),
    ("U4", "Berlin Integrations User Group", "user_group", 34, "eventbrite", "integrations"),
    ("W8", "Data Quality Monitoring Webinar", "webinar", 16, "zoom_webinar", "data-quality"),
)
UPCOMING = (("Dashboards and Automation Webinar", "webinar", 9, "dashboards;automation"),
            ("Customer Advisory User Group", "user_group", 20, "analytics;integrations"),
            ("New Customer Onboarding Training", "training", 27, "analytics;dashboards"),
            ("Data Quality at Scale Webinar", "webinar", 38, "data-quality;security"),
            ("Northwind Data Summit {year}", "conference", 45, "analytics;security;automation"),
            ("Security and Integrations Workshop", "training", 50, "security;integrations"))
FIRST_HALF = tuple(e[0] for e in PAST_EVENTS[:9])
SECOND_HALF = tuple(e[0] for e in PAST_EVENTS[9:])
# Segment sizes (customers, people each). Background: 40 customers with 3 people and 12 with 2.
SEGMENTS = (("advocacy", 3, 6), ("declining", 5, 3), ("rising", 5, 3), ("stable", 10, 3), ("new", 3, 2),
            ("background", 52, 3), ("dormant", 4, 0))
MINUTES = {"webinar": 60, "user_group": 150, "training": 90, "conference": 420}
START_HOUR = {"webinar": 11, "user_group": 17, "training": 14, "conference": 9}


@dataclass(frozen=True)
class Customer:
    customer_id: str
    name: str
    domains: tuple[str, ...]
    arr: int
    usage_health: int
    csm_owner: str
    customer_since: date
    segment: str


@dataclass(frozen=True)
class Person:
    email: str
    first: str
    last: str
    title: str
    customer_id: str | None  # None for organiser staff and prospects
    company: str  # what the person types into a company field ('' when left blank)
    kind: str = "corporate"  # corporate, second_domain, personal, prospect, staff, admin
    is_contact: bool = False
    is_champion: bool = False

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Event:
    key: str
    name: str
    type: str
    day: date
    start: datetime
    minutes: int
    topics: str
    layout: str


@dataclass(frozen=True)
class Attendance:
    event_key: str
    email: str
    status: str = "attended"  # attended, no_show, cancelled
    role: str = "attendee"  # attendee, speaker
    channel: str = "in_person"  # the hybrid user group only: in_person, online, both
    questions: int = 0  # conferences (Hopin) only, like polls, chats and feedback
    polls: int = 0
    chats: int = 0
    feedback: bool = False


@dataclass
class Population:
    anchor: date
    customers: list[Customer]
    people: dict[str, Person]
    staff: list[Person]
    events: list[Event]
    upcoming: list[tuple[str, str, date, str]]
    attendances: list[Attendance]


def weekday_near(day: date) -> date:
    """Events run Tuesday to Thursday: Mon -> Tue, Fri -> Thu, Sat -> Thu, Sun -> Tue (never more than 2 days)."""
    return day + timedelta(days={0: 1, 4: -1, 5: -2, 6: 2}.get(day.weekday(), 0))


def build_events(anchor: date) -> tuple[list[Event], list[tuple[str, str, date, str]]]:
    """The 18 past events over the year before the anchor and the catalogue of the 8 weeks after it."""
    events = []
    for key, name, kind, days, layout, topics in PAST_EVENTS:
        day = weekday_near(anchor - timedelta(days=days))
        start = datetime.combine(day, time(START_HOUR[kind], 0)) + timedelta(minutes=days % 7)
        events.append(Event(key, name.format(year=day.year), kind, day, start, MINUTES[kind], topics, layout))
    upcoming = []
    for name, kind, days, topics in UPCOMING:
        day = weekday_near(anchor + timedelta(days=days))
        upcoming.append((name.format(year=day.year), kind, day, topics))
    return events, upcoming


def _customers(rng: random.Random, anchor: date) -> dict[tuple[str, int], Customer]:
    """82 CRM customers keyed by (segment, index); ids are shuffled so they do not give the segment away."""
    slots = [(seg, i) for seg, n, _ in SEGMENTS for i in range(n)]
    names = [f"{b} {n}" for b in BRANDS for n in NOUNS]
    rng.shuffle(names)
    order = slots[:]
    rng.shuffle(order)
    ids = {slot: f"C{n + 1:03d}" for n, slot in enumerate(order)}
    out: dict[tuple[str, int], Customer] = {}
    used: set[str] = set()
    for n, (seg, i) in enumerate(slots):
        if seg == "background" and i < len(FIXED_CUSTOMERS):
            name, domain = FIXED_CUSTOMERS[i]
        else:
            stem = next(s for s in names if s.split()[0] not in used)
            names.remove(stem)
            suffix, tld = SUFFIXES[n % len(SUFFIXES)]
            name, domain = f"{stem} {suffix}", f"{stem.replace(' ', '').lower()}.{tld}"
        used.add(name.split()[0])
        domains = (domain,)
        if (seg, i) in (("stable", 0), ("background", 6)):
            domains = (domain, SECOND_DOMAINS[0 if seg == "stable" else 1])
        since = anchor - timedelta(days=rng.randint(420, 2400))
        if seg == "new":
            since = anchor - timedelta(days=75 + 5 * i)
        elif seg == "dormant" and i < 2:
            since = anchor - timedelta(days=(10, 21)[i])
        arr = {"advocacy": 240_000, "declining": 150_000}.get(seg, 40_000) + 1000 * rng.randint(0, 160)
        health = {"advocacy": 85, "declining": 40, "rising": 70, "new": 65}.get(seg, 55) + rng.randint(-8, 10)
        out[(seg, i)] = Customer(ids[(seg, i)], name, domains, arr, health, CSMS[n % len(CSMS)], since, seg)
    return out


def _stem(name: str) -> str:
    """'Acme Analytics Inc.' -> 'Acme Analytics': what people type when they leave the legal form out."""
    return next((name.removesuffix(f" {sfx}") for sfx in LEGAL if name.endswith(f" {sfx}")), name)


def _people(rng: random.Random, customers: dict[tuple[str, int], Customer]) -> dict[tuple[str, int], list[Person]]:
    """Attending people per customer (first = champion) plus one Admin contact who only ever registers."""
    taken: set[str] = set()

    def email(first: str, last: str, domain: str, personal: bool = False) -> str:
        local = f"{first}{last}{rng.randint(10, 99)}" if personal else f"{first}.{last}"
        out, n = f"{local.lower()}@{domain}", 2
        while out in taken:
            out, n = f"{local.lower()}{n}@{domain}", n + 1
        taken.add(out)
        return out

    out: dict[tuple[str, int], list[Person]] = {}
    for (seg, i), cust in customers.items():
        size = (3 if i < 40 else 2) if seg == "background" else dict((s, k) for s, _, k in SEGMENTS)[seg]
        people = []
        for j in range(size):
            first, last, cid = rng.choice(FIRST), rng.choice(LAST), cust.customer_id
            company = (cust.name, _stem(cust.name), "")[(i + j) % 3]
            if seg == "background" and i < len(PERSONAL) and j == size - 1:
                domain, typed, contact = PERSONAL[i]
                people.append(Person(email(first, last, domain, True), first, last, rng.choice(ROLES), cid,
                                     typed.format(stem=_stem(cust.name), name=cust.name), "personal", contact))
            elif len(cust.domains) > 1 and j >= size - (2 if seg == "background" else 1):
                people.append(Person(email(first, last, cust.domains[1]), first, last, rng.choice(ROLES), cid,
                                     company, "second_domain"))
            else:
                champion = j == 0 and not (seg == "background" and i % 9 == 8)
                title = "VP Data" if champion else rng.choice(ROLES[1:])
                people.append(Person(email(first, last, cust.domains[0]), first, last, title, cid, company,
                                     "corporate", j % 2 == 0, champion))
        first, last, dormant = rng.choice(FIRST), rng.choice(LAST), seg == "dormant"
        people.append(Person(email(first, last, cust.domains[0]), first, last, "VP Data" if dormant else "Admin",
                             cust.customer_id, cust.name, "admin", True, dormant))
        out[(seg, i)] = people
    return out


def _plan(seg: str, i: int, people: list[Person], rng: random.Random) -> list[tuple[str, Person]]:
    """(event key, person) pairs for one customer: the shape of its year is what the truth lists assert."""
    pairs: list[tuple[str, Person]] = []
    turn = 0

    def go(keys: list[str] | tuple[str, ...], per_event: int | dict[str, int]) -> None:
        nonlocal turn
        for key in keys:
            n = per_event[key[0]] if isinstance(per_event, dict) else per_event
            pairs.extend((key, people[(turn + k) % len(people)]) for k in range(n))
            turn += n

    if seg == "advocacy":
        go(FIRST_HALF + SECOND_HALF, {"C": 3, "U": 2, "W": 2, "T": 1})
    elif seg == "declining":
        go([k for n, k in enumerate(FIRST_HALF) if n != i], 2)
        go(SECOND_HALF[i % 3:i % 3 + 2], 1)
    elif seg == "rising":
        go([FIRST_HALF[i], FIRST_HALF[i + 4]], 1)
        go([k for n, k in enumerate(SECOND_HALF) if n not in (i, i + 4)], 2)
    elif seg == "stable":
        for half in (FIRST_HALF, SECOND_HALF):
            for n in range(4):
                go([half[(i + 2 * n) % 9]], 1 + n % 2)
    elif seg == "new":
        pairs.extend([("T4", people[0]), ("W8", people[0]), (("U4", "W7", "U4")[i], people[1])])
    return pairs


def _background(customers: list[tuple[int, list[Person]]], rng: random.Random) -> list[tuple[str, Person]]:
    """Light, balanced attendance (never a trend) that fills the remaining records: 144 people, 158 records."""
    company_events = [k for k, *_, layout, _ in PAST_EVENTS if not layout.startswith("zoom_meeting")]
    pairs: list[tuple[str, Person]] = []
    twice = 0
    for i, people in customers:
        k = i
        for person in people:
            visits = 2 if twice < 14 and (i + len(pairs)) % 3 == 0 else 1
            twice += visits - 1
            seen: set[str] = set()
            for _ in range(visits):
                half = FIRST_HALF if k % 2 == 0 else SECOND_HALF
                k += 1
                choices = [e for e in half if e not in seen and (person.kind != "personal" or person.is_contact
                                                                 or e in company_events)]
                key = rng.choice(choices)
                seen.add(key)
                pairs.append((key, person))
    return pairs


def build_population(anchor: date, seed: int) -> Population:
    """Everything the generator writes and asserts, from the anchor and the seed alone."""
    rng = random.Random(f"engagement-demo-{seed}")
    events, upcoming = build_events(anchor)
    customers = _customers(rng, anchor)
    people_by = _people(rng, customers)
    staff = [Person(f"{f}.{last}@{DEMO_ORGANISER_DOMAIN}".lower(), f, last, t, None, "Northwind Analytics", "staff")
             for f, last, t in STAFF]
    prospects = [Person(f"{f}.{last}@{d}".lower(), f, last, rng.choice(ROLES), None, name, "prospect")
                 for n, (name, d) in enumerate(PROSPECTS) for f, last in ((FIRST[n * 7], LAST[n * 5]),
                                                                          (FIRST[n * 7 + 3], LAST[n * 5 + 2]))]
    pairs: list[tuple[str, Person]] = []
    for (seg, i), people in people_by.items():
        pairs.extend(_plan(seg, i, [p for p in people if p.kind != "admin"], rng))
    pairs.extend(_background([(i, [p for p in ps if p.kind != "admin"]) for (seg, i), ps in people_by.items()
                              if seg == "background"], rng))
    pairs.extend(zip(("W1", "C1", "W5", "U2", "C2", "W8", "W3", "U4"), prospects + prospects[:2], strict=True))
    people = {p.email: p for ps in people_by.values() for p in ps} | {p.email: p for p in prospects}
    advocates = {people_by[("advocacy", i)][0].customer_id for i in range(3)}
    attendances = _enrich(pairs, advocates, rng)
    attendances += _registrations_only(events, attendances, people, rng)
    return Population(anchor, list(customers.values()), people, staff, events, upcoming, attendances)


SPEAKING_WEBINARS = ("W1", "W3", "W5", "W7")


def _enrich(pairs: list[tuple[str, Person]], advocates: set[str], rng: random.Random) -> list[Attendance]:
    """Roles, hybrid channels and conference engagement: advocates speak, ask most questions, give feedback."""
    out: list[Attendance] = []
    spoke: set[tuple[str, str | None]] = set()
    ordered = sorted(advocates)
    webinar_speaker = {key: ordered[n % len(ordered)] for n, key in enumerate(SPEAKING_WEBINARS)}
    hybrid = 0
    for key, p in pairs:
        advocate = p.customer_id in advocates
        role = "attendee"
        speaks = key[0] == "C" or webinar_speaker.get(key) == p.customer_id
        if advocate and speaks and (key, p.customer_id) not in spoke:
            role = "speaker"
            spoke.add((key, p.customer_id))
        channel = "in_person"
        if key == "U3":
            hybrid += 1
            if not (p.kind == "personal" and not p.is_contact):
                channel = {1: "online", 3: "both"}.get(hybrid % 4, "in_person")
        extra: dict[str, object] = {}
        if key[0] == "C":
            extra = {"questions": rng.randint(2, 8) if advocate else int(rng.random() < 0.3),
                     "polls": rng.randint(0, 4), "chats": rng.randint(0, 12),
                     "feedback": advocate or rng.random() < 0.35}
        out.append(Attendance(key, p.email, role=role, channel=channel, **extra))  # type: ignore[arg-type]
    return out


def _registrations_only(events: list[Event], attended: list[Attendance], people: dict[str, Person],
                        rng: random.Random) -> list[Attendance]:
    """Registrants who never came (no-shows) and one cancelled ticket per user group; trainings have none."""
    at = {(a.event_key, a.email) for a in attended}
    pool = sorted(e for e, p in people.items() if p.kind != "prospect")
    out = []
    for event in events:
        n = {"webinar": 8, "user_group": 5, "conference": 10}.get(event.type, 0)
        free = [e for e in pool if (event.key, e) not in at]
        chosen = rng.sample(free, n + (event.type == "user_group"))
        out += [Attendance(event.key, e, status="no_show") for e in chosen[:n]]
        out += [Attendance(event.key, e, status="cancelled") for e in chosen[n:]]
    return out
