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


def _signals(c: pd.Series, event_type: str, topic_events: int, topics: list[str],
             as_of: pd.Timestamp) -> list[tuple[float, str]]:
    found: list[tuple[float, str]] = []
    if topic_events:
        found.append((float(topic_events), f"attended {topic_events} event{'s' * (topic_events != 1)} on "
                      f"{', '.join(topics)}"))
    if event_type == "training":
        since = pd.to_datetime(c["customer_since"]) if pd.notna(c.get("customer_since")) else None
        if since is not None and since >= as_of - pd.Timedelta(days=90):
            found.append((3.0, f"new customer since {since:%Y-%m-%d}: onboarding training"))
        if pd.notna(c["depth"]) and c["depth"] < 0.34:
            found.append((1.0, f"little participation so far (depth {c['depth']:.2f}): hands-on training"))
    if event_type == "user_group" and pd.notna(c["score"]) and c["score"] >= 80:
        found.append((2.0 + c["score"] / 100, f"top engaged customer (score {c['score']:.0f}), "
                      "fits an advisory user group"))
    if c["trend"] == "declining":
        found.append((1.5, "declining engagement: re-engage"))
    return found


def _contact(customer_id: str, people: pd.DataFrame, contacts: pd.DataFrame,
             taken: set[str] | frozenset[str], internal: frozenset[str]) -> tuple[str | None, str | None]:
    """Most on-topic attendee, else CRM champion, else any CRM contact; skipping anyone already listed."""
    for _, p in people.loc[people["customer_id"] == customer_id].iterrows():
        if p["attendee_email"] not in taken:
            return p["attendee_name"], p["attendee_email"]
    mine = contacts.loc[contacts["customer_id"] == customer_id].copy()
    mine["_champ"] = mine["is_champion"].fillna(False).astype(bool)
    for _, p in mine.sort_values(["_champ", "name"], ascending=[False, True]).iterrows():
        email = str(p["email"]).strip().lower() if pd.notna(p["email"]) else None
        if email and not _is_internal(email, internal) and email not in taken:
            return p["name"], email
    return None, None


def _pick(candidates: list[tuple[float, str, pd.Series]], people: pd.DataFrame, contacts: pd.DataFrame,
          per_event: int, internal: frozenset[str], capped: frozenset[str] = frozenset()
          ) -> list[tuple[float, str, pd.Series, str, str]]:
    """Best `per_event` reachable candidates (relevance, then score, then name), one contact each; contacts in
    `capped` (at their cross-event cap) are skipped."""
    ordered = sorted(candidates, key=lambda x: (-x[0], -(x[2]["score"] if pd.notna(x[2]["score"]) else -1),
                                                str(x[2]["name"])))
    taken: set[str] = set(capped)
    picked = []
    for relevance, reason, c in ordered:
        if len(picked) >= per_event:
            break
        name, email = _contact(c["customer_id"], people, contacts, taken, internal)
        if email is not None:
            taken.add(email)
            picked.append((relevance, reason, c, name, email))
    return picked


def invitation_recommendations(upcoming: pd.DataFrame, attendance: pd.DataFrame, scores: pd.DataFrame,
                               trends: pd.DataFrame, customers: pd.DataFrame, contacts: pd.DataFrame,
                               as_of: date, per_event: int = 5,
                               internal_domains: frozenset[str] = INTERNAL_DOMAINS, max_per_contact: int = 2,
                               cap_days: int = 30, spread: float = 0.5) -> pd.DataFrame:
    """Up to `per_event` (customer, contact, reason) rows for every event dated after `as_of`, within the
    per-contact cap across events and spread across customers (module docstring)."""
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
    past = rows.drop_duplicates("event_id").set_index("event_id")["event_name"]
    records: list[dict] = []
    for ev in future.itertuples():
        wanted = list(ev.topics) if isinstance(ev.topics, (tuple, list)) else []
        hits = {eid: [t for t in wanted if is_on_topic(name, t)] for eid, name in past.items()}
        hits = {eid: ts for eid, ts in hits.items() if ts}
        on_topic = rows.assign(_on=rows["event_id"].isin(hits))
        people = (on_topic.groupby(["customer_id", "attendee_email"], as_index=False)
                  .agg(attendee_name=("attendee_name", "first"), on=("_on", "sum"),
                       events=("event_id", "nunique"), last=("event_date", "max"))
                  .sort_values(["on", "events", "last", "attendee_email"],
                               ascending=[False, False, False, True]))
        topic_events = on_topic.loc[on_topic["_on"]].groupby("customer_id")["event_id"].unique()
        candidates = []
        for _, c in profile.iterrows():
            mine = topic_events.get(c["customer_id"], [])
            topics = [t for t in wanted if any(t in hits[e] for e in mine)]
            found = _signals(c, ev.event_type, len(mine), topics, as_of_ts)
            if found:
                weight = spread ** per_customer.get(c["customer_id"], 0)
                candidates.append((sum(w for w, _ in found) * weight, "; ".join(t for _, t in found), c))
        day = ev.day_ts
        capped = frozenset(email for email, days in listed.items()
                           if sum(abs((day - d).days) < cap_days for d in days) >= max_per_contact)
        picked = _pick(candidates, people, contacts, per_event, internal_domains, capped)
        if not picked:  # nobody with a signal can be reached: fall back to the most engaged customers
            top = profile.loc[profile["score"].notna()]
            fallback = [(c["score"] / 100 * spread ** per_customer.get(c["customer_id"], 0),
                         f"among the most engaged customers (score {c['score']:.0f})", c)
                        for _, c in top.iterrows()]
            picked = _pick(fallback, people, contacts, per_event, internal_domains, capped)
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
