"""The five engagement components, one plain function each, on per-customer aggregates.

Every function takes pandas Series aligned on customer_id (built by `composite.py`) and returns values in
[0, 1]. They never decide *applicability*: `composite.component_status` says whether a component is
'scored', 'zero' (offered, not taken) or 'not_applicable' (nothing to measure), so each formula here is
readable on its own and testable with hand-computed numbers. Formulas follow SCORING_ANCHORS.md §3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SPEAKING_ROLES: tuple[str, ...] = ("speaker", "panelist")


def beta_shrunk_rate(successes: pd.Series, trials: pd.Series, prior_strength: float | pd.Series,
                     population_rate: float) -> pd.Series:
    """`(k + α0)/(n + α0 + β0)` with α0 = μ·s, β0 = (1−μ)·s: one lucky success out of one try is not 1.0."""
    alpha0 = population_rate * prior_strength
    return (successes + alpha0) / (trials + prior_strength)


def frequency(attended: pd.Series, held: pd.Series, prior_strength: float | pd.Series,
              population_rate: float | None = None) -> pd.Series:
    """Share of the events held for the customer that at least one of its people attended, shrunk.

    `attended` is that share times `held` (events "of which one of its people came"); `score_customers` passes
    `any_person_rate` × held, the same share estimated from each person's own attendance.

    μ defaults to the pooled share Σk/Σn over the customers given (the whole CRM in `score_customers`).
    Breadth is deliberately *not* in this number: the event counts once however many people came, so a
    five-person customer whose one champion attends everything scores like a 5,000-seat one; head-count
    (`users`, `breadth` = users / contacts) is reported beside the score instead of inflating it.
    NaN where nothing was held; exactly 0 where nothing was attended (offered, not taken earns no prior).
    """
    held = held.astype(float)
    mu = population_rate if population_rate is not None else _pooled(attended, held)
    value = beta_shrunk_rate(attended.astype(float), held, prior_strength, mu)
    value = value.where(attended > 0, 0.0)
    return value.where(held > 0).clip(0.0, 1.0)


def any_person_rate(person_attended: pd.Series, held: pd.Series) -> pd.Series:
    """The chance that at least one of a customer's people comes to an event, `1 − Π_u (1 − r_u)`, from each
    person's own share r_u of the events held (both may be recency-weighted).

    `person_attended` is indexed by (customer_id, person); `held` by customer_id. It estimates the same
    quantity as "share of events one of its people attended", with less noise: three people who each come to
    half the events say more about the next event than the one bit "someone came" per event (under
    independence its variance is less than half). A team that always comes together (r_u equal and perfectly
    correlated) reads higher than its event share; the event counts beside the score stay the plain ones.
    Customers without attendance get 0.
    """
    if person_attended.empty:
        return pd.Series(0.0, index=held.index)
    owner = person_attended.index.get_level_values(0)
    rate = (person_attended.to_numpy(dtype=float) / held.reindex(owner).to_numpy(dtype=float)).clip(0.0, 0.999)
    log_miss = pd.Series(np.log1p(-rate), index=owner).groupby(level=0).sum()
    return (-np.expm1(log_miss)).reindex(held.index).fillna(0.0)


def recency(days_since_last: pd.Series, half_life_days: float) -> pd.Series:
    """`2^(−Δ/h)`: halves every h days since the last attended event; 0 when never attended (Δ NaN)."""
    days = days_since_last.astype(float).clip(lower=0.0)
    return np.exp2(-days / half_life_days).fillna(0.0)


def diversity(type_counts: pd.DataFrame, types_offered: pd.Series, shrink_events: float | pd.Series) -> pd.Series:
    """Shannon entropy of attended events' type shares, over the K types *offered*, times n/(n + k0).

    `type_counts` has one row per customer and one column per event type (attended events of that type).
    Normalising by ln K (not by the types attended, which gives 1.0 to a one-type customer) rewards
    trying what was on offer; the n/(n + k0) factor keeps two events from looking perfectly varied.
    NaN when K < 2 (entropy over one type is undefined: nothing to vary).
    """
    counts = type_counts.reindex(types_offered.index).fillna(0.0).astype(float)
    n = counts.sum(axis=1)
    shares = counts.div(n.where(n > 0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy = -(shares * np.log(shares.where(shares > 0))).sum(axis=1, min_count=1).fillna(0.0)
        k = types_offered.astype(float)
        normalised = entropy / np.log(k.where(k >= 2))
    return (normalised * n / (n + shrink_events)).where(n > 0, 0.0).where(k >= 2).clip(0.0, 1.0) + 0.0


def record_depth(records: pd.DataFrame, time_weight: float, question_weight: float, poll_weight: float,
                 feedback_weight: float) -> pd.Series:
    """Depth of one attended person×event record in [0, 1].

    Parts: time share `min(1, minutes/event_length)`; asked >=1 question (binary: volume is capped, as
    Marketo/Hubilo cap repeated actions); answered >=1 poll; submitted feedback. A part that could not be
    measured at that event drops out and the remaining sub-weights are re-normalised: no length known; no
    poll answered by anyone (no poll run); no question or no feedback recorded for anyone (the export does
    not carry it: a Zoom attendee report has no Q&A column). So an Eventbrite check-in is not punished for
    missing minutes, nor a webinar attendee for a platform that never records questions.
    Speakers and panelists score 1.0 outright: presenting is the deepest participation there is.
    Expects columns minutes_attended, event_length, questions_asked, polls_answered, event_polls,
    event_questions, event_feedback, feedback_submitted, role.
    """
    length = records["event_length"].astype(float)
    time_known = length > 0
    time_share = (records["minutes_attended"].astype(float) / length.where(time_known)).clip(0.0, 1.0)
    polls_run = records["event_polls"].astype(float) > 0
    questions_recorded = records["event_questions"].astype(float) > 0
    feedback_recorded = records["event_feedback"].astype(float) > 0
    asked = (records["questions_asked"].astype(float) > 0).astype(float)
    polled = (records["polls_answered"].astype(float) > 0).astype(float)
    feedback = records["feedback_submitted"].astype(bool).astype(float)
    points = (time_weight * time_share.fillna(0.0) + question_weight * asked.where(questions_recorded, 0.0)
              + poll_weight * polled.where(polls_run, 0.0) + feedback_weight * feedback.where(feedback_recorded, 0.0))
    available = (time_weight * time_known + question_weight * questions_recorded + poll_weight * polls_run
                 + feedback_weight * feedback_recorded)
    depth = (points / available.where(available > 0)).fillna(0.0).clip(0.0, 1.0)
    return depth.where(~records["role"].isin(SPEAKING_ROLES), 1.0)


def depth(depth_sum: pd.Series, records: pd.Series, prior_strength: float,
          population_mean: float | None = None) -> pd.Series:
    """Mean record depth per customer shrunk toward the population: `(Σd + m·d̄)/(n + m)`, m = prior_strength.

    d̄ defaults to the pooled mean over the records given. NaN when the customer has no attended record:
    depth measures *how* people took part, which is undefined without attendance (frequency already
    carries the zero).
    """
    n = records.astype(float)
    mean = population_mean if population_mean is not None else _pooled(depth_sum, n)
    return ((depth_sum + prior_strength * mean) / (n + prior_strength)).where(n > 0).clip(0.0, 1.0)


def consistency(months_attended: pd.Series, months_held: pd.Series) -> pd.Series:
    """Share of *active* months attended: of the months (in the window, since customer_since) in which at
    least one event was held for the customer, the share in which one of its people attended.

    Burstiness of inter-attendance gaps (B = (σ−μ)/(σ+μ), score (1−B)/2) is deliberately not blended in:
    attendance is a discrete-opportunity process, so gaps mostly mirror the organiser's calendar (a customer
    at every event of a conference-heavy season looks "bursty"); months without events are already out of
    this denominator, the number reads aloud as "came in 7 of the 9 months that had events", and it needs
    no small-n correction. NaN where no month had an event.
    """
    held = months_held.astype(float)
    return (months_attended.astype(float) / held.where(held > 0)).clip(0.0, 1.0)


def _pooled(numerator: pd.Series, denominator: pd.Series) -> float:
    """Σnumerator/Σdenominator, 0 when there is nothing to pool."""
    total = float(denominator.sum())
    return float(numerator.sum()) / total if total > 0 else 0.0
