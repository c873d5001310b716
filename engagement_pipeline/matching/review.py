"""The review queue: people no customer could be credited with, and who they *might* be.

Suggestions are deliberately looser than matching (names from 60, shared words, look-alike domains, a
contact with the same name), because a person decides; nothing here ever sets a customer_id.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from engagement_pipeline.ingest.canonical import normalise_person_name

from . import fuzzy
from .domains import email_domain
from .index import CrmIndex
from .names import compact, normalise_company_name

if TYPE_CHECKING:
    from engagement_pipeline.matching.crm import Crm

SUGGEST_MIN_NAME_SCORE = 60.0
SUGGEST_MIN_DOMAIN_SCORE = 75.0
CONTACT_NAME_SCORE = 0.5  # a shared person name is weak evidence: names repeat across companies
QUEUE_COLUMNS: tuple[str, ...] = (
    "attendee_key", "attendee_email", "attendee_name", "company", "events", "events_attended",
    "first_seen", "last_seen", "suggestions", "suggestions_text",
)


Hit = tuple[str, float, str]  # customer_id, score 0-1, why


class Suggester:
    """Candidate customers per distinct company name, email domain and person name, scored in bulk."""

    def __init__(self, index: CrmIndex, names: list[str], labels: list[str], limit: int) -> None:
        self.index, self.limit = index, limit
        self.by_name = self._name_hits(names)
        self.by_label = self._label_hits(labels)
        self.by_person: dict[str, list[str]] = {}
        for cid, people in index.contact_names.items():
            for person in people:
                self.by_person.setdefault(person, []).append(cid)

    def _name_hits(self, names: list[str]) -> dict[str, list[Hit]]:
        similar = fuzzy.score_matrix(names, self.index.names)
        out: dict[str, list[Hit]] = {}
        for name, scores in zip(names, similar, strict=True):
            close = np.flatnonzero(scores >= SUGGEST_MIN_NAME_SCORE)
            contained = np.flatnonzero((scores < SUGGEST_MIN_NAME_SCORE) & self._word_set_related(name)) if len(
                name) >= fuzzy.MIN_NAME_LENGTH else np.empty(0, dtype=int)
            ids = self.index.customer_ids
            hits = [(ids[i], score / 100, "company name similar")
                    for i, score in zip(close.tolist(), scores[close].tolist(), strict=True)]
            hits += [(ids[i], score / 100, "company name shares words")
                     for i, score in zip(contained.tolist(), scores[contained].tolist(), strict=True)]
            out[name] = sorted(hits, key=lambda h: -h[1])[: self.limit * 3]
        return out

    def _word_set_related(self, name: str) -> np.ndarray:
        """Per customer name, whether one name's words are all among the other's: where rapidfuzz's
        `token_set_ratio` is 100 (for normalised names: words of [a-z0-9] split by single spaces).

        Found through the word -> customer names table instead of scoring every name against every customer
        (0.9 CPU s for 300 unmatched names x 3,000 customers at 100k records); `test_review_words.py` checks
        it against rapidfuzz."""
        related = np.zeros(len(self.index.names), dtype=bool)
        words = set(name.split())
        holders = self.index.word_holders()
        sharing = [holders.get(word, set()) for word in words]
        if not words or not all(sharing):
            superset: set[int] = set()
        else:
            superset = set.intersection(*sharing)  # customer names holding all of this name's words
        name_words = self.index.name_words()
        subset = {p for p in set().union(*sharing) if words >= name_words[p]}
        related[list(superset | subset)] = True
        return related

    def _label_hits(self, labels: list[str]) -> dict[str, list[Hit]]:
        owners = [(cid, lab) for cid, labs in self.index.domain_labels.items() for lab in labs if lab]
        scores = fuzzy.score_matrix(labels, [lab for _, lab in owners])
        out: dict[str, list[Hit]] = {}
        for label, row in zip(labels, scores, strict=True):
            close = np.flatnonzero(row >= SUGGEST_MIN_DOMAIN_SCORE)
            out[label] = [(owners[i][0], float(row[i]) / 100, "") for i in close]
        return out

    def suggest(self, company: object, email: object, person: object) -> list[dict[str, object]]:
        """Up to `limit` candidate customers, best first: {customer_id, name, score (0-1), why}."""
        hits: list[Hit] = list(self.by_name.get(normalise_company_name(company) or "", []))
        domain = email_domain(email)
        if domain is not None and not domain.is_personal:
            hits += [(cid, score, f"email domain {domain.registrable} looks like theirs")
                     for cid, score, _ in self.by_label.get(compact(domain.label), [])]
        who = normalise_person_name(person) if isinstance(person, str) else ""
        hits += [(cid, CONTACT_NAME_SCORE, "a contact has the same name") for cid in self.by_person.get(who, [])]
        found: dict[str, tuple[float, list[str]]] = {}
        for cid, score, why in hits:
            best, reasons = found.get(cid, (0.0, []))
            found[cid] = (max(best, score), reasons if why in reasons else [*reasons, why])
        names = self.index.display_names
        ranked = sorted(found.items(), key=lambda item: (-item[1][0], names[item[0]]))[: self.limit]
        return [{"customer_id": cid, "name": names[cid], "score": round(score, 2), "why": ", ".join(why)}
                for cid, (score, why) in ranked]


def unmatched_attendees(matched: pd.DataFrame, crm: Crm, max_suggestions: int = 3) -> pd.DataFrame:
    """One row per unmatched attendee_key, most events attended first, with suggestions for a reviewer."""
    if matched.empty or "customer_id" not in matched:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in QUEUE_COLUMNS})
    rows = matched.loc[matched["customer_id"].isna()]
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in QUEUE_COLUMNS})
    queue = rows.groupby("attendee_key", sort=True).agg(
        attendee_email=("attendee_email", "first"),  # first non-missing value, in input order
        attendee_name=("attendee_name", "first"),
        company=("company", "first"),
        events=("event_id", "nunique"),
        first_seen=("event_date", "min"),
        last_seen=("event_date", "max"),
    )
    attended = rows.loc[rows["attended"].astype(bool)].groupby("attendee_key")["event_id"].nunique()
    queue["events_attended"] = attended.reindex(queue.index, fill_value=0).astype(int)
    queue = queue.reset_index()

    index = CrmIndex.for_crm(crm)
    names = sorted({n for n in map(normalise_company_name, queue["company"]) if n})
    domains = [email_domain(e) for e in queue["attendee_email"]]
    labels = sorted({compact(d.label) for d in domains if d is not None and not d.is_personal and d.label})
    suggester = Suggester(index, names, labels, max_suggestions)
    queue["suggestions"] = [
        suggester.suggest(c, e, p)
        for c, e, p in zip(queue["company"], queue["attendee_email"], queue["attendee_name"], strict=True)
    ]
    queue["suggestions_text"] = [
        "; ".join(f"{s['name']} ({s['score']:.2f}: {s['why']})" for s in found) for found in queue["suggestions"]
    ]
    queue = queue.sort_values(["events_attended", "events", "attendee_key"], ascending=[False, False, True])
    return queue[list(QUEUE_COLUMNS)].reset_index(drop=True)
