"""Who to invite to each upcoming event, which of their people, and a reason grounded in their history.

Content-based and cold-start friendly (SCORING_ANCHORS §5.1): an upcoming event has no attendance yet, so it
is described by its type and topics and matched against what each customer attended. Signals and weights
(relevance is their sum; ties go to the higher engagement score):
- topic interest, every event type: +1 per attended past event "on topic" (a topic, hyphen/space-insensitive,
  or all its words, found in the past event's name) -> "attended 3 events on analytics, dashboards";
- training: new customer (customer_since within 90 days of as_of) +3 -> "new customer since 2026-10-02:
  onboarding training"; low participation depth (< 0.34) +1 -> "little participation so far (depth 0.12):
  hands-on training";
- user group: top engaged (score >= 80) +2 + score/100 -> "top engaged customer (score 91), fits an advisory
  user group";
- declining trend, every event type: +1.5 -> "declining engagement: re-engage";
- an event nobody has a signal for falls back to the most engaged customers (score/100) -> "among the most
  engaged customers (score 72)", so every upcoming event gets a list.
The contact is the customer's attendee with the most on-topic (then overall) attendance, else the CRM
champion, else any CRM contact; organiser staff, hosts and unmatched people are never invited, and one
contact is never listed twice for the same event.

Across events (taken in date order) the list respects the sending cap: a contact already recommended
`max_per_contact` times within `cap_days` of an event is not recommended for it (the next person of the same
customer is, if any). And it spreads: a customer already recommended for n earlier events has its relevance
multiplied by `spread`**n (0.5: halved per event), so the same three top customers do not lead every list.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

from engagement_pipeline.insights.advocacy import INTERNAL_DOMAINS, customer_rows

RECOMMENDATION_COLUMNS: tuple[str, ...] = (
    "event_name", "event_date", "event_type", "customer_id", "customer_name", "contact_name", "contact_email",
    "reason", "relevance", "rank", "registration_url",
)


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", str(text).lower()).split())


def is_on_topic(event_name: str, topic: str) -> bool:
    """'Data-Quality Clinic' is on 'data quality'; 'Dashboards and Analytics' is on 'analytics dashboards'."""
    name, wanted = _norm(event_name), _norm(topic)
    if not wanted:
        return False
    if re.search(rf"\b{re.escape(wanted)}\b", name) or (" " in wanted and wanted.replace(" ", "") in
                                                           name.replace(" ", "")):
        return True
    return set(wanted.split()) <= set(name.split())


def _is_internal(email: object, internal_domains: frozenset[str]) -> bool:
    return not isinstance(email, str) or "@" not in email or email.split("@")[-1].lower() in internal_domains


def _signals(c: dict, event_type: str, topic_events: int, topics: list[str],
             as_of: pd.Timestamp, since: pd.Timestamp | None = None) -> list[tuple[float, str]]:
    """The reasons to invite customer `c` to an event of `event_type`, each with its weight. `since`: its
    `customer_since` as a timestamp (parsed here when not given: the caller parses each customer's once)."""
    return _topic_signal(topic_events, topics) + _standing_signals(c, event_type, as_of, since)


def _topic_signal(topic_events: int, topics: list[str]) -> list[tuple[float, str]]:
    """The on-topic reason (first of `_signals`), when the customer attended events on the topics."""
    if not topic_events:
        return []
    return [(float(topic_events), f"attended {topic_events} event{'s' * (topic_events != 1)} on {', '.join(topics)}")]


def _standing_signals(c: dict, event_type: str, as_of: pd.Timestamp, since: pd.Timestamp | None = None,
                      ) -> list[tuple[float, str]]:
    """The reasons of `_signals` after the on-topic one: they depend on the customer and the event's type only,
    so `invitation_recommendations` finds them once per customer and event type, not once per event."""
    found: list[tuple[float, str]] = []
    if event_type == "training":
        if since is None:
            since = _since(c)
        if since is not None and since >= as_of - ONBOARDING:
            found.append((3.0, f"new customer since {since:%Y-%m-%d}: onboarding training"))
        if pd.notna(c["depth"]) and c["depth"] < 0.34:
            found.append((1.0, f"little participation so far (depth {c['depth']:.2f}): hands-on training"))
    if event_type == "user_group" and pd.notna(c["score"]) and c["score"] >= 80:
        found.append((2.0 + c["score"] / 100, f"top engaged customer (score {c['score']:.0f}), "
                      "fits an advisory user group"))
    if c["trend"] == "declining":
        found.append((1.5, "declining engagement: re-engage"))
    return found


ONBOARDING = pd.Timedelta(days=90)  # a customer this new gets onboarding training
SIGNAL_TYPES = frozenset({"training", "user_group"})  # the event types `_signals` has signals of its own for


def _since(c: dict) -> pd.Timestamp | None:
    return pd.to_datetime(c["customer_since"]) if pd.notna(c.get("customer_since")) else None


class _Reach:
    """Who can be invited for a customer, in the order `_contact` tries them: its attendees (most on-topic,
    then most events, then most recent, then email), then its CRM contacts (champion first, then by name).

    Built once per call: the attendee table is grouped once, and per upcoming event only the on-topic
    counts change (one bincount), so no event scans the attendance rows or the contacts again."""

    def __init__(self, rows: pd.DataFrame, contacts: pd.DataFrame, internal: frozenset[str]) -> None:
        # Each row's event as a code into the distinct events: an upcoming event's on-topic rows are then one
        # lookup per distinct event, not a hash of every row's event id text (`for_event`).
        self.row_event, self.events = pd.factorize(rows["event_id"], use_na_sentinel=False)
        by_person = rows.groupby(["customer_id", "attendee_email"], as_index=False, sort=True)
        people = by_person.agg(attendee_name=("attendee_name", "first"), events=("event_id", "nunique"),
                               last=("event_date", "max"))
        self.people = people
        # Each row's person: its group's number, which (sorted groups, no missing keys: `customer_rows` and
        # the caller drop them) is the person's position in `people`; no second hashing of the key pairs.
        self.row_person = by_person.ngroup().to_numpy()
        self.crm_contacts: dict[object, list[tuple[object, str]]] = {}
        mine = contacts.assign(_champ=contacts["is_champion"].fillna(False).astype(bool))
        for p in mine.sort_values(["_champ", "name"], ascending=[False, True], kind="stable").itertuples():
            email = str(p.email).strip().lower() if pd.notna(p.email) else None
            if email and not _is_internal(email, internal):
                self.crm_contacts.setdefault(p.customer_id, []).append((p.name, email))
        self.positions = people.groupby("customer_id", sort=False).indices  # customer -> its people, in order
        self.names, self.emails = people["attendee_name"].to_numpy(), people["attendee_email"].to_numpy()
        self.rank = np.arange(len(people))
        # The event-independent part of the order (most events, most recent, email), as one rank per person:
        # `for_event` then sorts by (on-topic count, this rank), which is the four-key sort, ties included.
        base = people.sort_values(["events", "last", "attendee_email"], ascending=[False, False, True])
        self.base_rank = np.empty(len(people), dtype=np.int64)
        self.base_rank[base.index.to_numpy()] = np.arange(len(base))

    def for_event(self, on_topic_events: set[str]) -> None:
        """Orders the attendees for one upcoming event (its on-topic past events): one bincount and one sort,
        kept as each person's rank; a customer's people are put in that order only when it is asked for."""
        on_rows = pd.Series(self.events).isin(on_topic_events).to_numpy()[self.row_event]
        on = np.bincount(self.row_person[on_rows], minlength=len(self.people))
        ordered = np.lexsort((self.base_rank, -on))
        self.rank = np.empty(len(self.people), dtype=np.int64)
        self.rank[ordered] = np.arange(len(ordered))

    def contact(self, customer_id: object, taken: set[str]) -> tuple[object, str | None]:
        """Most on-topic attendee, else CRM champion, else any CRM contact; skipping anyone already listed.
        (A CRM contact's stored email is compared lower-cased, an attendee's as stored.)"""
        mine = self.positions.get(customer_id)
        if mine is not None:
            for position in mine[np.argsort(self.rank[mine], kind="stable")]:
                if self.emails[position] not in taken:
                    return self.names[position], self.emails[position]
        for name, email in self.crm_contacts.get(customer_id, ()):
            if email not in taken:
                return name, email
        return None, None


def _tie_break(c: dict) -> tuple[float, str]:
    """Higher score first (unscored last), then name: the part of `_pick`'s order that is the customer's own,
    computed once per customer (kept in its profile under `_tie_break`) rather than once per comparison."""
    key = c.get("_tie_break")
    if key is None:
        key = c["_tie_break"] = (-(c["score"] if pd.notna(c["score"]) else -1), str(c["name"]))
    return key


def _pick(candidates: list[tuple[float, str, dict]], reach: _Reach, per_event: int,
          capped: frozenset[str] = frozenset()) -> list[tuple[float, str, dict, object, str]]:
    """Best `per_event` reachable candidates (relevance, then score, then name), one contact each; contacts in
    `capped` (at their cross-event cap) are skipped."""
    ordered = sorted(candidates, key=lambda x: (-x[0], _tie_break(x[2])))
    taken: set[str] = set(capped)
    picked = []
    for relevance, reason, c in ordered:
        if len(picked) >= per_event:
            break
        name, email = reach.contact(c["customer_id"], taken)
        if email is not None:
            taken.add(email)
            picked.append((relevance, reason, c, name, email))
    return picked


@lru_cache(maxsize=100_000)
def _on_topic(event_name: str, topic: str) -> bool:
    return is_on_topic(event_name, topic)


def invitation_recommendations(upcoming: pd.DataFrame, attendance: pd.DataFrame, scores: pd.DataFrame,
                               trends: pd.DataFrame, customers: pd.DataFrame, contacts: pd.DataFrame,
                               as_of: date, per_event: int = 5,
                               internal_domains: frozenset[str] = INTERNAL_DOMAINS, max_per_contact: int = 2,
                               cap_days: int = 30, spread: float = 0.5) -> pd.DataFrame:
    """Up to `per_event` (customer, contact, reason) rows for every event dated after `as_of`, within the
    per-contact cap across events and spread across customers (module docstring).

    The attendance rows are grouped once (people per customer, distinct events per customer); each
    upcoming event then only counts its on-topic events, so the cost grows with events x customers, not
    events x attendance rows."""
    as_of_ts = pd.Timestamp(as_of)
    future = upcoming.loc[pd.to_datetime(upcoming["event_date"]) > as_of_ts]
    future = future.assign(day_ts=pd.to_datetime(future["event_date"])).sort_values("day_ts", kind="stable")
    listed: dict[str, list[pd.Timestamp]] = {}  # contact email -> dates of the events it is recommended for
    per_customer: dict[str, int] = {}  # customer id -> events it is recommended for so far
    rows = customer_rows(attendance, internal_domains, as_of)
    rows = rows.loc[rows["attendee_email"].notna()]
    profile = (customers[["customer_id", "name", "customer_since"]]
               .merge(scores[["customer_id", "score", "depth"]], on="customer_id", how="left")
               .merge(trends[["customer_id", "trend"]], on="customer_id", how="left"))
    profiles = profile.to_dict(orient="records")
    scored = [c for c in profiles if pd.notna(c["score"])]
    past = rows.drop_duplicates("event_id").set_index("event_id")["event_name"]
    customer_events = rows[["customer_id", "event_id"]].drop_duplicates()  # in row order, as `unique` gives
    reach = _Reach(rows, contacts, internal_domains)
    since = [_since(c) for c in profiles]  # aligned with `profiles`
    standing_by_type: dict[str, list[list[tuple[float, str]] | None]] = {}  # `_standing_signals`, found once
    records: list[dict] = []
    for ev in future.itertuples():
        wanted = list(ev.topics) if isinstance(ev.topics, (tuple, list)) else []
        hits = {eid: [t for t in wanted if _on_topic(str(name), t)] for eid, name in past.items()}
        hits = {eid: ts for eid, ts in hits.items() if ts}
        reach.for_event(set(hits))
        topic_events: dict[object, list[str]] = {}
        on_topic = customer_events.loc[customer_events["event_id"].isin(hits)]
        for cid, eid in zip(on_topic["customer_id"].tolist(), on_topic["event_id"].tolist(), strict=True):
            topic_events.setdefault(cid, []).append(eid)
        candidates = []
        standing = standing_by_type.setdefault(ev.event_type, [None] * len(profiles))
        for position, (c, c_since) in enumerate(zip(profiles, since, strict=True)):
            mine = topic_events.get(c["customer_id"], [])
            if not mine and ev.event_type not in SIGNAL_TYPES and c["trend"] != "declining":
                continue  # `_signals` finds nothing: no on-topic event, no signal of this event type
            topics = [t for t in wanted if any(t in hits[e] for e in mine)]
            if standing[position] is None:
                standing[position] = _standing_signals(c, ev.event_type, as_of_ts, c_since)
            found = _topic_signal(len(mine), topics) + standing[position]  # `_signals`, its second part kept
            if found:
                weight = spread ** per_customer.get(c["customer_id"], 0)
                candidates.append((sum(w for w, _ in found) * weight, "; ".join(t for _, t in found), c))
        day = ev.day_ts
        capped = frozenset(email for email, days in listed.items()
                           if sum(abs((day - d).days) < cap_days for d in days) >= max_per_contact)
        picked = _pick(candidates, reach, per_event, capped)
        if not picked:  # nobody with a signal can be reached: fall back to the most engaged customers
            fallback = [(c["score"] / 100 * spread ** per_customer.get(c["customer_id"], 0),
                         f"among the most engaged customers (score {c['score']:.0f})", c)
                        for c in scored]
            picked = _pick(fallback, reach, per_event, capped)
        for _, _, c, _, email in picked:
            listed.setdefault(email, []).append(day)
            per_customer[c["customer_id"]] = per_customer.get(c["customer_id"], 0) + 1
        for rank, (relevance, reason, c, name, email) in enumerate(picked, start=1):
            records.append({
                "event_name": ev.event_name, "event_date": ev.event_date, "event_type": ev.event_type,
                "customer_id": c["customer_id"], "customer_name": c["name"], "contact_name": name,
                "contact_email": email, "reason": reason, "relevance": round(float(relevance), 3),
                "rank": rank, "registration_url": getattr(ev, "registration_url", None),
            })
    return pd.DataFrame.from_records(records, columns=list(RECOMMENDATION_COLUMNS))
