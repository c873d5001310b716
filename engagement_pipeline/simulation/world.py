"""A seeded world with a *known* latent engagement per customer and day, to judge the methods against.

Unlike the demo (planned segments so the tests see unmistakable signals), everything here is drawn: levels,
churn dates, decline lengths, people, who attends which event. Latent engagement `L(c, t)` in [0, 1] drives every
person of the customer independently: person u attends an event of type k on day t with probability
L(c, t) · affinity(c, k) · w(u), w(u) in [0.5, 1] (some people are keener). "The score follows the customer"
then has a concrete meaning: rank customers by score as by L.

Trajectories (share of customers in `SEGMENTS`):
- stable: a level; quiet: a low level (0.03-0.15); rising: low -> high over months;
- churn: a level, then a fade over 60-180 days to 0-10% of it, quiet for 30-120 days, then churn (no
  attendance) on a known date;
- decline: the same kind of decline to 25-45% of the level, no churn (still a customer);
- seasonal: a level with a summer dip to 45% (mid-July to the end of August): a drop that is *not* a decline;
- onboarding: becomes a customer mid-period (customer_since) and ramps up over 90 days.
Prospects and look-alikes (for matching): one-letter-off company names on their own corporate domains, a
namesake on another domain, a bare "Acme" on gmail while "Acme Corp" and "Acme Analytics" are both customers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from engagement_pipeline.demo.population import FIRST, LAST, Attendance, Event, Person


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


END = date(2026, 10, 31)
MONTHS = 15
SEGMENTS: tuple[tuple[str, int], ...] = (("stable", 16), ("quiet", 4), ("rising", 6), ("churn", 12),
                                          ("decline", 6), ("seasonal", 8), ("onboarding", 8))
BRANDS = _words("Vertex Cobalt Lumen Granite Harbor Pioneer Quartz Redwood Sierra Tundra Beacon Cascade Ember Falcon "
          "Glacier Kestrel Lattice Meridian Nimbus Onyx Prism Radiant Sable Tango Umbra Vantage Willow Zenith Aurora "
          "Basalt Cedar Dune Evergreen Fjord Halcyon Indigo Jasper Keystone Larch Mosaic Nova Opal Polar Solstice "
          "Trident Verdant Alder Bramble Driftwood Foxglove Goldcrest Hawthorn Ironbark Kingfisher Marigold "
          "Northgate Oakridge Pinecrest Rosewater Thistle Whitecap Zephyr Bluewater Greystone Lakeshore")
NOUNS = ("Analytics", "Logistics", "Health", "Retail", "Energy", "Foods", "Robotics", "Systems", "Media", "Finance")
LEGAL = (("Inc.", "com"), ("GmbH", "de"), ("Ltd", "co.uk"), ("LLC", "com"), ("B.V.", "nl"), ("AG", "ch"))
ORGANISER = "northwind-analytics.com"
TYPE_PLAN = ("webinar", "training", "webinar", "user_group", "webinar", "training")
TYPE_NAMES = {"webinar": "{topic} Webinar", "training": "{topic} Training", "user_group": "{topic} User Group",
              "conference": "Northwind Summit {year} {topic}"}
TOPICS = ("Dashboards", "Data Quality", "Automation", "Security", "Integrations", "Forecasting", "Governance",
          "Self-Service", "Pipelines", "Alerting", "Modelling", "Sharing")
MINUTES = {"webinar": 60, "user_group": 150, "training": 90, "conference": 420}
SUMMER_DIP = ((7, 10), (8, 31))  # (month, day) from .. to: seasonal customers' summer lull
SEASONAL_FACTOR = 0.45


@dataclass(frozen=True)
class SimCustomer:
    """A CRM customer with its true trajectory; `latent(day)` is the ground truth the score should follow."""

    customer_id: str
    name: str
    domains: tuple[str, ...]
    segment: str
    since: date
    level: float
    low: float = 0.0  # rising: the starting level; decline: the floor as a share of level
    change_start: date | None = None  # rising/decline/churn: when the change begins
    change_days: int = 0
    churn: date | None = None
    type_affinity: dict[str, float] = field(default_factory=dict)

    def latent(self, day: date) -> float:
        if day < self.since or (self.churn is not None and day >= self.churn):
            return 0.0
        if self.segment == "seasonal":
            start, end = (date(day.year, *SUMMER_DIP[0]), date(day.year, *SUMMER_DIP[1]))
            return self.level * (SEASONAL_FACTOR if start <= day <= end else 1.0)
        if self.segment == "onboarding":
            return self.level * min(1.0, 0.2 + 0.8 * (day - self.since).days / 90)
        if self.change_start is None or day < self.change_start:
            return self.low if self.segment == "rising" else self.level
        progress = min(1.0, (day - self.change_start).days / self.change_days)
        if self.segment == "rising":
            return self.low + (self.level - self.low) * progress
        floor = self.level * self.low
        return self.level - (self.level - floor) * progress

    def engagement(self, day: date, weights: tuple[float, ...]) -> float:
        """The customer-level truth the score claims to measure: the chance that at least one of its people
        comes to a typical event now, 1 − Π(1 − L·ā·w(u)) (ā = mean type affinity)."""
        mean_affinity = sum(self.type_affinity.values()) / max(1, len(self.type_affinity))
        miss = 1.0
        for w in weights:
            miss *= 1 - self.latent(day) * mean_affinity * w
        return 1 - miss

    def truly_declining(self, day: date) -> bool:
        """Declining in truth on `day`: a churner or decliner whose decline has begun."""
        return self.segment in ("churn", "decline") and self.change_start is not None and day >= self.change_start


@dataclass
class SimWorld:
    seed: int
    start: date
    end: date
    customers: list[SimCustomer]
    people: dict[str, Person]
    truth_customer: dict[str, str | None]  # email -> customer_id the person really belongs to (None: prospect)
    weights: dict[str, tuple[float, ...]]  # customer_id -> its people's keenness w(u)
    staff: list[Person]
    events: list[Event]
    attendances: list[Attendance]


def _customers(rng: random.Random, start: date, end: date) -> list[SimCustomer]:
    span = (end - start).days
    stems = [f"{b} {n}" for b in BRANDS for n in NOUNS]
    rng.shuffle(stems)
    used: set[str] = set()
    out: list[SimCustomer] = []
    n = 0
    for segment, count in SEGMENTS:
        for _ in range(count):
            n += 1
            stem = next(s for s in stems if s.split()[0] not in used)
            used.add(stem.split()[0])
            legal, tld = LEGAL[n % len(LEGAL)]
            name, domain = f"{stem} {legal}", f"{stem.replace(' ', '').lower()}.{tld}"
            since = start - timedelta(days=rng.randint(200, 2000))
            level = rng.uniform(0.25, 0.9)
            low, change, days, churn = 0.0, None, 0, None
            if segment == "quiet":
                level = rng.uniform(0.03, 0.15)
            elif segment == "rising":
                low, level = rng.uniform(0.05, 0.3), rng.uniform(0.55, 0.9)
                change, days = start + timedelta(days=rng.randint(90, span - 200)), rng.randint(90, 200)
            elif segment == "churn":
                # Fades over 60-180 days to 0-10% of its level, then stays quiet 30-120 days until it leaves
                # (a contract runs out after the people stopped coming).
                churn = start + timedelta(days=rng.randint(240, span - 7))
                days, quiet = rng.randint(60, 180), rng.randint(30, 120)
                change, low = churn - timedelta(days=days + quiet), rng.uniform(0.0, 0.1)
            elif segment == "decline":
                level = rng.uniform(0.45, 0.9)
                change, days = start + timedelta(days=rng.randint(150, span - 120)), rng.randint(90, 200)
                low = rng.uniform(0.25, 0.45)
            elif segment == "onboarding":
                since = start + timedelta(days=rng.randint(100, span - 120))
            affinity = {t: rng.uniform(0.6, 1.0) for t in ("webinar", "training", "user_group", "conference")}
            out.append(SimCustomer(f"S{n:03d}", name, (domain,), segment, since, level, low, change, days, churn,
                                   affinity))
    # Look-alikes inside the CRM: two Acme customers, so a bare "Acme" is ambiguous.
    out.append(SimCustomer("S901", "Acme Corp", ("acmecorp.com",), "stable", start - timedelta(days=900),
                           rng.uniform(0.4, 0.8), type_affinity={t: 0.8 for t in TYPE_NAMES}))
    out.append(SimCustomer("S902", "Acme Analytics Inc.", ("acme-analytics.com",), "stable",
                           start - timedelta(days=700), rng.uniform(0.4, 0.8),
                           type_affinity={t: 0.8 for t in TYPE_NAMES}))
    return out


def one_letter_off(name: str, rng: random.Random) -> str:
    """'Vertex Health' -> 'Vertx Health' / 'Vertex Healht': a different company that a fuzzy scorer loves."""
    word = name.split()[0]
    i = rng.randint(1, len(word) - 2)
    changed = word[:i] + word[i + 1:] if rng.random() < 0.5 else word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return name.replace(word, changed, 1)


def _person(rng: random.Random, taken: set[str], domain: str, customer_id: str | None, company: str,
            kind: str, is_contact: bool = False) -> Person:
    while True:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}".lower() if kind != "personal" else f"{first}{last}{rng.randint(1, 99)}".lower()
        email = f"{local}@{domain}"
        if email not in taken:
            taken.add(email)
            return Person(email, first, last, rng.choice(("Analyst", "Data Lead", "Engineer", "Admin")),
                          customer_id, company, kind=kind, is_contact=is_contact, is_champion=is_contact and
                          rng.random() < 0.3)


def _people(rng: random.Random, customers: list[SimCustomer]) -> tuple[dict[str, list[Person]], list[Person]]:
    """Users per customer (1-5) and prospects; who is a CRM contact, who types what company."""
    taken: set[str] = set()
    users: dict[str, list[Person]] = {}
    for c in customers:
        plain = c.name.rsplit(" ", 1)[0] if c.name.split()[-1] in {lg for lg, _ in LEGAL} else c.name
        group = []
        for _ in range(rng.choice((1, 2, 2, 3, 3, 3, 4, 5))):
            roll = rng.random()
            if roll < 0.45:
                group.append(_person(rng, taken, c.domains[0], c.customer_id, c.name, "corporate", is_contact=True))
            elif roll < 0.85:
                group.append(_person(rng, taken, c.domains[0], c.customer_id, plain, "corporate"))
            elif roll < 0.93:  # personal address, company typed as the CRM says it
                group.append(_person(rng, taken, rng.choice(("gmail.com", "outlook.com")), c.customer_id, plain,
                                     "personal"))
            else:  # personal address, a typo in the company name (a long enough name: fuzzy alone may match)
                group.append(_person(rng, taken, "yahoo.com", c.customer_id, one_letter_off(plain, rng)
                                     if len(plain) > 12 else plain, "personal"))
        users[c.customer_id] = group
    prospects: list[Person] = []
    regular = [c for c in customers if c.customer_id.startswith("S0")]
    for c in rng.sample(regular, 6):  # one letter off, on their own corporate domain
        plain = c.name.rsplit(" ", 1)[0]
        other = one_letter_off(plain, rng)
        prospects.append(_person(rng, taken, f"{other.replace(' ', '').lower()}.io", None, other, "prospect"))
    for c in rng.sample(regular, 2):  # a namesake: the very same name typed, another company's domain
        plain = c.name.rsplit(" ", 1)[0]
        prospects.append(_person(rng, taken, f"{plain.replace(' ', '').lower()}-group.net", None, plain, "prospect"))
    prospects.append(_person(rng, taken, "gmail.com", None, "Acme", "prospect"))  # ambiguous: two Acme customers
    prospects.append(_person(rng, taken, "acmelogistics.com", None, "Acme Logistics", "prospect"))
    prospects.append(_person(rng, taken, "hotmail.com", None, "Paragon Freightworks", "prospect"))
    return users, prospects


def _events(rng: random.Random, start: date, end: date) -> list[Event]:
    """An event every 8-12 days (none over the year-end holidays), types cycling, two conferences."""
    events: list[Event] = []
    day, n = start + timedelta(days=3), 0
    conferences = {start + timedelta(days=120), start + timedelta(days=330)}
    while day <= end - timedelta(days=2):
        if not (day.month == 12 and day.day >= 20) and not (day.month == 1 and day.day <= 5):
            kind = TYPE_PLAN[n % len(TYPE_PLAN)]
            if any(abs((day - c).days) <= 5 for c in conferences):
                kind = "conference"
            topic = TOPICS[(n * 5) % len(TOPICS)]
            name = TYPE_NAMES[kind].format(topic=topic, year=day.year) + f" #{n + 1}"
            weekday = day + timedelta(days={0: 1, 4: -1, 5: -2, 6: 2}.get(day.weekday(), 0))
            start_at = datetime.combine(weekday, time(15 if kind != "conference" else 9, 0))
            layout = {"webinar": "zoom_webinar", "training": "zoom_meeting", "user_group": "eventbrite",
                      "conference": "hopin"}[kind]
            events.append(Event(f"E{n + 1:03d}", name, kind, weekday, start_at, MINUTES[kind], topic, layout))
            n += 1
        day += timedelta(days=rng.randint(8, 12))
    return events


def build_world(seed: int, end: date = END, months: int = MONTHS) -> SimWorld:
    rng = random.Random(f"engagement-simulation-{seed}")
    start = end - timedelta(days=round(months * 30.44))
    customers = _customers(rng, start, end)
    users, prospects = _people(rng, customers)
    staff = [Person(f"{f.lower()}.{lst.lower()}@{ORGANISER}", f, lst, "Community", None, "Northwind Analytics",
                    kind="staff") for f, lst in (("Maya", "Chen"), ("Tom", "Okafor"), ("Sam", "Ortiz"))]
    events = _events(rng, start, end)
    attendances: list[Attendance] = []
    weight = {p.email: rng.uniform(0.5, 1.0) for group in users.values() for p in group}
    for event in events:
        for c in customers:
            level = c.latent(event.day) * c.type_affinity.get(event.type, 0.8)
            group = users[c.customer_id]
            # Each of its people comes on their own, with a chance that follows the customer's latent level.
            came = [p for p in group if rng.random() < level * weight[p.email]]
            for p in group:
                if p in came:
                    attendances.append(_attended(event, p, level, rng))
                elif c.latent(event.day) > 0 and rng.random() < 0.1 * level:
                    attendances.append(Attendance(event.key, p.email, status="no_show"))
        for p in prospects:
            if rng.random() < 0.2:
                attendances.append(_attended(event, p, 0.4, rng))
    people = {p.email: p for group in users.values() for p in group} | {p.email: p for p in prospects}
    people |= {p.email: p for p in staff}
    truth = {p.email: p.customer_id for p in people.values() if p.kind != "staff"}
    keen = {cid: tuple(weight[p.email] for p in group) for cid, group in users.items()}
    return SimWorld(seed, start, end, customers, people, truth, keen, staff, events, attendances)


def _attended(event: Event, person: Person, level: float, rng: random.Random) -> Attendance:
    """Depth follows the latent level too: engaged customers ask, vote and give feedback more often."""
    speaker = event.type == "conference" and rng.random() < 0.05 * level
    return Attendance(event.key, person.email, role="speaker" if speaker else "attendee",
                      questions=int(rng.random() < 0.6 * level) + int(rng.random() < 0.3 * level),
                      polls=int(rng.random() < 0.4 + 0.5 * level), chats=rng.randint(0, 3),
                      feedback=rng.random() < 0.2 + 0.5 * level)
