"""Close company names (typos), accepted only when the evidence is strong enough to credit a customer.

Scorer: the higher of rapidfuzz `ratio` and `token_sort_ratio` on normalised names. Both compare whole
strings (word order aside), so a name that is merely a *substring* of a customer's name scores low:
"america" vs "american futures and options exchange" is 32 here, where `WRatio`/`partial_ratio` give 90.
For the same reason "acme" does not match "acme analytics" (44): a bare "Acme" could be any Acme, so it
only matches when a customer's normalised name is exactly "acme" (the exact-name step).

Acceptance (LeanData's "close name plus a supporting field", with a stricter name-only path):
- alone: score >= 90, the best customer beats the runner-up by >= 5 points, and the name has >= 4 characters;
- supported: score >= 80 and the attendee's name is a known contact of that customer, or the attendee's
  corporate (non-free) email domain looks like one of the customer's domains (label similarity >= 85).
Confidence maps the score linearly from 80 -> 0.6 to 100 -> 0.8, always below the exact-name 0.85.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from rapidfuzz import fuzz, process

from .index import CrmIndex

ALONE_MIN_SCORE = 90.0
SUPPORTED_MIN_SCORE = 80.0
MIN_MARGIN = 5.0
MIN_NAME_LENGTH = 4
DOMAIN_LABEL_MIN_SCORE = 85.0
MAX_CANDIDATES = 5  # customers a supporting field is checked against, per name
_CHUNK = 2_000  # query rows per score matrix, to bound memory with large customer lists


def fuzzy_confidence(score: float) -> float:
    return round(min(0.8, max(0.6, 0.6 + 0.2 * (score - SUPPORTED_MIN_SCORE) / 20.0)), 3)


def score_matrix(queries: list[str], choices: list[str]) -> np.ndarray:
    """Similarity 0-100 of every query with every choice (rows = queries)."""
    if not queries or not choices:
        return np.zeros((len(queries), len(choices)), dtype=np.float32)
    blocks = []
    for start in range(0, len(queries), _CHUNK):
        part = queries[start : start + _CHUNK]
        ratio = process.cdist(part, choices, scorer=fuzz.ratio, dtype=np.float32, workers=-1)
        ordered = process.cdist(part, choices, scorer=fuzz.token_sort_ratio, dtype=np.float32, workers=-1)
        blocks.append(np.maximum(ratio, ordered))
    return np.vstack(blocks)


def match_alone(names: list[str], index: CrmIndex) -> dict[str, tuple[str, float]]:
    """Distinct normalised names -> (customer_id, score) for those a close name alone is enough for.
    Each name is scored once per index (`CrmIndex.memo`): the answer depends on nothing else."""
    known = index.remembered("alone")
    new = [n for n in dict.fromkeys(names) if n not in known and len(n) >= MIN_NAME_LENGTH]
    scores = score_matrix(new, index.names)
    if scores.shape[1]:
        best = scores.argmax(axis=1)
        top_two = np.partition(scores, -2, axis=1)[:, -2:] if scores.shape[1] > 1 else np.hstack(
            [np.zeros_like(scores), scores])
        for name, best_index, (runner_up, top) in zip(new, best, top_two, strict=True):
            accepted = top >= ALONE_MIN_SCORE and top - runner_up >= MIN_MARGIN
            known[name] = (index.customer_ids[int(best_index)], float(top)) if accepted else None
    else:
        known.update(dict.fromkeys(new))
    return {n: known[n] for n in names if known.get(n) is not None}


def candidates(
    names: list[str], index: CrmIndex, min_score: float, limit: int = MAX_CANDIDATES
) -> dict[str, list[tuple[str, float]]]:
    """Distinct normalised names -> the `limit` best customers scoring >= min_score, best first (each name
    scored once per index and threshold, see `match_alone`)."""
    known = index.remembered(f"candidates {min_score} {limit}")
    new = [n for n in dict.fromkeys(names) if n not in known]
    scores = score_matrix(new, index.names)
    for name, row in zip(new, scores, strict=True):
        hits = np.flatnonzero(row >= min_score)
        if len(hits) > limit:
            hits = hits[np.argpartition(-row[hits], limit - 1)[:limit]]
        known[name] = sorted(((index.customer_ids[int(i)], float(row[i])) for i in hits), key=lambda h: -h[1])
    return {n: known[n] for n in names}


def domain_looks_like(label: str, customer_labels: Iterable[str]) -> float:
    """Best similarity of an email-domain label with a customer's domain labels ('orbitdata' ~ 'orbit-data')."""
    if not label:
        return 0.0
    return max((fuzz.ratio(label, c) for c in customer_labels if c), default=0.0)


def supported_match(
    options: list[tuple[str, float]], person: str | None, label: str, index: CrmIndex
) -> tuple[str, float] | None:
    """The best-scoring candidate that a second field corroborates; None when none is, or two tie."""
    supported = [
        (cid, score)
        for cid, score in options
        if (person and person in index.contact_names.get(cid, frozenset()))
        or domain_looks_like(label, index.domain_labels.get(cid, ())) >= DOMAIN_LABEL_MIN_SCORE
    ]
    if not supported or (len(supported) > 1 and supported[0][1] == supported[1][1]):
        return None
    return supported[0]
