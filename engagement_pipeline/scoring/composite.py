"""The 0–100 engagement score per CRM customer, as of a date, with its components and contributions.

`score = 100 · Σ wᵢsᵢ / Σ_applicable wᵢ`. Each component carries a status:
- 'not_applicable': nothing to measure; its weight is re-distributed. No event held for the customer in the
  window (window ∩ since customer_since) makes *every* component not applicable (score NaN, 'Not scored');
  depth is not applicable without attendance; diversity is not applicable when one type was offered (K=1).
- 'zero': events were offered and none attended; frequency, recency, consistency (and diversity if K>=2)
  are exactly 0 and keep their weight, so staying away costs points.
- 'scored': computed from the customer's attendance.
Only attendance and events on or before `as_of` count, so any past score can be rebuilt.

Activity is recency-weighted: every event in the window counts with weight `2^(−age/h)`, h =
`activity_half_life_days` (50 by default), in the numerator (attended) and the denominator (held) of
frequency and consistency, in the type shares of diversity and in the mean of depth. A customer that stopped
coming three months ago has half its weight on events it missed, so its score falls now, not a year later;
a flat 12-month share kept such customers at 76-82 while their engagement was a fraction of what it was
(issue 9). The counts shown beside the score (events attended / held) stay plain counts. Frequency's
"one of its people came" share is estimated from each person's own weighted share of the events
(`components.any_person_rate`), which ranks customers closer to their true engagement on the simulation.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from engagement_pipeline.codes import first_of_key, pair_key
from engagement_pipeline.config import COMPONENTS, ScoringConfig, band_for
from engagement_pipeline.scoring import components as comp

NA, ZERO, SCORED = "not_applicable", "zero", "scored"
DEFAULT_CONFIG = ScoringConfig()  # frozen: safe to share as the default argument
# The attendance columns `score_customers` reads from each attended row.
SCORED_COLUMNS = ("attendee_key", "minutes_attended", "questions_asked", "polls_answered", "feedback_submitted",
                  "role")
SCORE_COLUMNS: tuple[str, ...] = (
    "customer_id", "customer_name", "as_of", "score", "band", "rank", *COMPONENTS,
    *(f"{c}_status" for c in COMPONENTS), *(f"contrib_{c}" for c in COMPONENTS), "weakest_component",
    "events_attended", "events_held", "users", "attendances", "questions", "speaker_events",
    "feedback_count", "last_attended", "days_since_last", "contacts",
)
ONLY_SCORE = ("customer_id", "customer_name", "score")  # `score_on_dates(score_only=True)`
# The columns of `_scored_rows` that `_score` reads.
SCORE_ROW_COLUMNS = ("event_id", "event_type", "event_day", "_customer", "_event", "_person", "role",
                     "questions_asked", "feedback_submitted", "depth")


def to_day(values: pd.Series) -> pd.Series:
    """Timestamps as tz-naive midnights, so a date-only `as_of` includes that whole day."""
    days = pd.to_datetime(values)
    if getattr(days.dt, "tz", None) is not None:
        days = days.dt.tz_localize(None)
    return days.dt.normalize()


def as_of_day(as_of: date | pd.Timestamp | str) -> pd.Timestamp:
    return to_day(pd.Series([as_of])).iloc[0]


def customer_frame(customers: pd.DataFrame) -> pd.DataFrame:
    """customer_id-indexed name and `since` (NaT becomes the distant past: every event counts)."""
    since = to_day(customers["customer_since"]) if "customer_since" in customers else pd.NaT
    frame = pd.DataFrame({"customer_name": customers.get("name"), "since": since}).set_axis(
        customers["customer_id"].astype(str))
    frame["since"] = frame["since"].fillna(pd.Timestamp("1900-01-01"))
    return frame[~frame.index.duplicated()].rename_axis(None)


def event_table(events: pd.DataFrame, attendance: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """Every event held up to `as_of` (the events frame, plus any only seen in attendance), with its day."""
    cols = ["event_id", "event_type", "event_date"]
    known = events.reindex(columns=[*cols, "duration_minutes"])
    seen = attendance.reindex(columns=cols).drop_duplicates("event_id")
    table = pd.concat([known, seen[~seen["event_id"].isin(known["event_id"])]], ignore_index=True)
    table = table.drop_duplicates("event_id").assign(event_day=lambda t: to_day(t["event_date"]))
    table["duration_minutes"] = pd.to_numeric(table["duration_minutes"], errors="coerce")
    return table.loc[table["event_day"] <= as_of].reset_index(drop=True)


def held_since(event_days: pd.Series, since: pd.Series) -> pd.Series:
    """Per customer, the number of `event_days` on or after its `since` (one binary search each)."""
    days = np.sort(event_days.to_numpy(dtype="datetime64[ns]"))
    counts = len(days) - np.searchsorted(days, since.to_numpy(dtype="datetime64[ns]"), side="left")
    return pd.Series(counts, index=since.index, dtype="int64")


def decay(event_days: pd.Series, as_of: pd.Timestamp, half_life_days: float) -> pd.Series:
    """`2^(−age/h)`: the weight of an event `age` days before the scoring date (1 today, ½ at one half-life)."""
    age = (as_of - event_days).dt.days.astype(float).clip(lower=0.0)
    return np.exp2(-age / half_life_days)


def weight_since(event_days: pd.Series, weights: pd.Series, since: pd.Series) -> pd.Series:
    """Per customer, the summed `weights` of the events on or after its `since` (a reverse cumulative sum)."""
    order = np.argsort(event_days.to_numpy(dtype="datetime64[ns]"), kind="stable")
    days = event_days.to_numpy(dtype="datetime64[ns]")[order]
    tail = np.concatenate([np.cumsum(weights.to_numpy(dtype=float)[order][::-1])[::-1], [0.0]])
    first = np.searchsorted(days, since.to_numpy(dtype="datetime64[ns]"), side="left")
    return pd.Series(tail[first], index=since.index)


def keys_held_since(table: pd.DataFrame, key: str, since: pd.Series) -> pd.Series:
    """Per customer, distinct `key` values (type, month) with at least one event on or after `since`."""
    return held_since(table.groupby(key)["event_day"].max(), since)


def attended_rows(attendance: pd.DataFrame, events: pd.DataFrame, cust: pd.DataFrame,
                  columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Attended rows of CRM customers at the given events, on or after each customer's since.

    `columns`: the attendance columns the caller reads (all when None); the rows of a year of history are
    copied and merged a few times here, and a score needs 8 of the 20-odd canonical columns."""
    keep = attendance["attended"].eq(True) & attendance["customer_id"].notna()
    if columns is not None:
        wanted = dict.fromkeys(["customer_id", "event_id", *columns])
        rows = attendance.loc[keep, [c for c in wanted if c in attendance.columns]]
    else:
        rows = attendance.loc[keep]
    rows = rows.drop(columns=["event_type", "event_date"], errors="ignore").assign(
        customer_id=lambda r: r["customer_id"].astype(str))
    rows = rows.merge(events[["event_id", "event_type", "event_day"]], on="event_id", how="inner")
    rows = rows.loc[rows["customer_id"].isin(cust.index)]
    since = cust["since"].reindex(rows["customer_id"]).to_numpy()
    return rows.loc[rows["event_day"].to_numpy() >= since].reset_index(drop=True)


def component_status(held: pd.Series, attended: pd.Series, types_offered: pd.Series) -> pd.DataFrame:
    """'scored' | 'zero' | 'not_applicable' per component, by the rules in the module docstring."""
    base = pd.Series(np.where(held <= 0, NA, np.where(attended <= 0, ZERO, SCORED)), index=held.index)
    status = pd.DataFrame({c: base for c in COMPONENTS})
    status.loc[base == ZERO, "depth"] = NA
    status.loc[types_offered < 2, "diversity"] = NA
    return status


def combine(values: pd.DataFrame, status: pd.DataFrame, weights: dict[str, float]) -> pd.DataFrame:
    """Score, per-component points (0.1-point units that add up exactly to the rounded score), weakest."""
    score, applicable, share, s = _composite(values, status, weights)
    contrib = _largest_remainder(100 * s * share, score).where(applicable)
    cost = (share * (1 - s)).where(applicable)
    weakest = cost.fillna(-1.0).idxmax(axis=1).where(applicable.any(axis=1) & score.notna())
    out = pd.DataFrame({"score": score, "weakest_component": weakest})
    return out.join(contrib.add_prefix("contrib_"))


def _composite(values: pd.DataFrame, status: pd.DataFrame, weights: dict[str, float],
               ) -> tuple[pd.Series, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The rounded score, with what `combine` splits into points: applicable components, their share of the
    applicable weight and their values where applicable."""
    w = pd.Series(weights)[list(COMPONENTS)]
    applicable = status[list(COMPONENTS)] != NA
    denom = applicable.mul(w, axis=1).sum(axis=1)
    share = applicable.mul(w, axis=1).div(denom.where(denom > 0), axis=0)
    s = values[list(COMPONENTS)].where(applicable)
    score = (100 * (s * share).sum(axis=1, min_count=1)).where(denom > 0).round(1)
    return score, applicable, share, s


def _largest_remainder(parts: pd.DataFrame, total: pd.Series) -> pd.DataFrame:
    """Round each row's parts to 0.1 so that they sum to the row's (already rounded) total."""
    units = parts.fillna(0.0).to_numpy() * 10
    base = np.floor(units + 1e-9)
    short = np.rint(total.fillna(0.0).to_numpy() * 10 - base.sum(axis=1)).astype(int)
    order = np.argsort(-(units - base), axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(units.shape[1])[None, :].repeat(len(units), 0), axis=1)
    return pd.DataFrame((base + (ranks < short[:, None])) / 10, index=parts.index, columns=parts.columns)


def score_customers(attendance: pd.DataFrame, events: pd.DataFrame, customers: pd.DataFrame,
                    contacts: pd.DataFrame, as_of: date | pd.Timestamp | str,
                    config: ScoringConfig = DEFAULT_CONFIG) -> pd.DataFrame:
    """One row per CRM customer: score, band, rank, the five components with status and points, evidence."""
    day = as_of_day(as_of)
    cust = customer_frame(customers)
    window = _window(event_table(events, attendance, day), day, config)
    return _score(_scored_rows(attendance, window, cust, config), window, cust, contacts, day, config)


def score_on_dates(attendance: pd.DataFrame, events: pd.DataFrame, customers: pd.DataFrame,
                   contacts: pd.DataFrame, days: list[date], config: ScoringConfig = DEFAULT_CONFIG,
                   score_only: bool = False) -> list[pd.DataFrame]:
    """`score_customers` as of each of `days` on the attendance and events dated up to that day (the
    report's score history): the same frames, with the per-row work done once.

    Each date's attended rows are the rows of its window's events, so when every event has one date (in
    all its attendance rows and in `events`), they are the rows of all dates' events (found, measured
    and coded once) restricted to that window, in the same order; event facts are per event, and person
    codes keep their order in any subset. Only the windows' weights and the per-customer groupings are
    per date. Any event with two dates (or a missing or zoned date) is scored the plain way, date by date.

    `score_only`: each frame has only customer_id, customer_name and score (all the history reads), the same
    figures without the points, ranks and evidence that are most of a scoring's per-customer work."""
    att_day = pd.to_datetime(attendance["event_date"]) if len(attendance) else pd.Series(dtype="datetime64[ns]")
    ev_day = pd.to_datetime(events["event_date"]) if len(events) else pd.Series(dtype="datetime64[ns]")
    cutoffs = [pd.Timestamp(d) for d in days]
    if not days or not _one_date_per_event(attendance, att_day, events, ev_day):
        return [score_customers(attendance.loc[att_day <= c], events.loc[ev_day <= c], customers, contacts, d,
                                config)[list(ONLY_SCORE if score_only else SCORE_COLUMNS)]
                for d, c in zip(days, cutoffs, strict=True)]
    cust = customer_frame(customers)
    last = max(cutoffs)
    upto_last = (att_day <= last).to_numpy()
    known = attendance if upto_last.all() else attendance.loc[upto_last]  # no copy of every row when all count
    every = event_table(events.loc[ev_day <= last], known, as_of_day(last))
    # Only what `_score` reads of the rows: each date copies its window's rows, so no unread column is copied.
    rows = _scored_rows(known, every, cust, config)[list(SCORE_ROW_COLUMNS)]
    # Each event's first attendance row, once: a date cut keeps or drops all rows of an event, so the first row
    # of each event within any cut is its first row overall (what `event_table` keeps of the cut's rows).
    event_columns = attendance[[c for c in ("event_id", "event_type", "event_date") if c in attendance.columns]]
    first = ~event_columns["event_id"].duplicated().to_numpy()
    first_rows, first_days = event_columns.loc[first], att_day.to_numpy()[first]
    # The window's rows by the rows' event codes, not by comparing every row's event id text per date.
    row_event, row_events = pd.factorize(rows["event_id"])
    row_events = pd.Index(row_events)
    scores = []
    for d, cutoff in zip(days, cutoffs, strict=True):
        day = as_of_day(d)
        seen = first_rows.loc[first_days <= cutoff.to_datetime64()]
        window = _window(event_table(events.loc[ev_day <= cutoff], seen, day), day, config)
        in_window = np.zeros(len(row_events) + 1, dtype=bool)  # the extra last entry: a missing id (code -1)
        found = row_events.get_indexer(window["event_id"])
        in_window[found[found >= 0]] = True
        scores.append(_score(rows.loc[in_window[row_event]], window, cust, contacts, day, config, score_only))
    return scores


def _one_date_per_event(attendance: pd.DataFrame, att_day: pd.Series, events: pd.DataFrame,
                        ev_day: pd.Series) -> bool:
    """Every event has one tz-naive date, the same in all its attendance rows and in `events` (which has
    each event once): then a date cut keeps or drops an event's rows all together."""
    if "event_id" not in attendance.columns or "event_id" not in events.columns:
        return False
    for day in (att_day, ev_day):
        if not pd.api.types.is_datetime64_dtype(day) or getattr(day.dt, "tz", None) is not None or day.isna().any():
            return False
    if events["event_id"].duplicated().any():
        return False
    dates = pd.DataFrame({"event_id": attendance["event_id"].to_numpy(), "day": att_day.to_numpy()})
    if dates["event_id"].isna().any() or dates.drop_duplicates()["event_id"].duplicated().any():
        return False
    known = pd.Series(ev_day.to_numpy(), index=events["event_id"].to_numpy())
    firsts = dates.drop_duplicates("event_id").set_index("event_id")["day"]
    both = firsts.index.intersection(known.index)
    return bool((firsts.loc[both] == known.loc[both]).all())


def _window(all_events: pd.DataFrame, day: pd.Timestamp, config: ScoringConfig) -> pd.DataFrame:
    """The events of the scoring window, with their month and decay weight."""
    window = all_events.loc[all_events["event_day"] > day - pd.Timedelta(days=config.window_days)].copy()
    window["month"] = window["event_day"].dt.to_period("M")
    window["w"] = decay(window["event_day"], day, config.activity_half_life_days)
    return window


def _scored_rows(attendance: pd.DataFrame, events: pd.DataFrame, cust: pd.DataFrame,
                 config: ScoringConfig) -> pd.DataFrame:
    """The customers' attended rows at `events`, with their event's facts, integer codes and record depth:
    everything per row that does not depend on the scoring date.

    Events' facts by lookup (each event once in both tables), customers, events and people as integer codes:
    the groupings in `_score` then hash numbers, not strings, and see the same rows in the same order, so every
    sum is the one the string keys gave (`_codes`)."""
    rows = attended_rows(attendance, events, cust, SCORED_COLUMNS)
    capacity = _event_capacity(attendance, events).set_index("event_id")
    rows = rows.join(capacity.reindex(rows["event_id"]).set_axis(rows.index))
    rows = rows.assign(**_codes(rows, cust.index))
    for col in ("minutes_attended", "questions_asked", "polls_answered"):
        rows[col] = pd.to_numeric(rows[col], errors="coerce").fillna(0)
    rows["feedback_submitted"] = rows["feedback_submitted"].eq(True)
    rows["depth"] = comp.record_depth(rows, config.depth_time_weight, config.depth_question_weight,
                                      config.depth_poll_weight, config.depth_feedback_weight)
    return rows


def _score(rows: pd.DataFrame, window: pd.DataFrame, cust: pd.DataFrame, contacts: pd.DataFrame,
           day: pd.Timestamp, config: ScoringConfig, score_only: bool = False) -> pd.DataFrame:
    """`score_customers` from the window's events and their `_scored_rows` (its `ONLY_SCORE` columns when
    `score_only`)."""
    idx = cust.index
    held = held_since(window["event_day"], cust["since"])
    held_w = weight_since(window["event_day"], window["w"], cust["since"])
    types_offered = keys_held_since(window, "event_type", cust["since"])
    month_w = window.groupby("month").agg(event_day=("event_day", "max"), w=("w", "max"))
    months_held_w = weight_since(month_w["event_day"], month_w["w"], cust["since"])

    w = row_weights(rows, window)
    grouped = _customer_groupings(rows, w, len(idx), month_w["w"], config.frequency_from_people)
    ev = grouped.ev.set_axis(idx)
    attended_w = pd.Series(grouped.attended_w, index=idx)
    if config.frequency_from_people:
        # "One of its people comes to an event", estimated from each person's own weighted share of the
        # events held (less noisy than the one bit per event "someone came"; docs/methods.md).
        per_person = grouped.per_person.set_axis(idx[grouped.per_person.index])  # each person's customer
        attended_w = comp.any_person_rate(per_person, held_w) * held_w
    type_counts = grouped.type_counts.set_axis(idx[grouped.type_counts.index])
    months_attended_w = pd.Series(grouped.months_attended_w, index=idx)
    days_since = (day - ev["last_attended"]).dt.days

    # Pseudo-counts are in events "of average age": scaled by the customer's mean event weight, so the prior
    # weighs as much against 18 decayed events as it did against 18 plain ones (a perfect attender can
    # still be High).
    held_scale = (held_w / held.where(held > 0)).fillna(1.0)
    depth_scale = (ev["depth_n"] / ev["attendances"].where(ev["attendances"] > 0)).fillna(1.0)
    values = pd.DataFrame({
        "frequency": comp.frequency(attended_w, held_w, config.prior_strength * held_scale),
        "recency": comp.recency(days_since, config.recency_half_life_days),
        "diversity": comp.diversity(type_counts, types_offered, config.diversity_shrink_events * held_scale),
        "depth": comp.depth(ev["depth_sum"].fillna(0.0), ev["depth_n"].fillna(0.0),
                            config.prior_strength * depth_scale),
        "consistency": comp.consistency(months_attended_w, months_held_w),
    }, index=idx)
    status = component_status(held, ev["events_attended"], types_offered)
    values = values.where(status != NA).mask(status == ZERO, 0.0)
    if score_only:
        return pd.DataFrame({"customer_id": idx, "customer_name": cust["customer_name"].to_numpy(),
                             "score": _composite(values, status, config.weights)[0].to_numpy()})
    parts = combine(values, status, config.weights)

    out = pd.DataFrame({"customer_id": idx, "customer_name": cust["customer_name"].to_numpy()}, index=idx)
    out["as_of"] = day
    out["score"] = parts["score"]
    out["band"] = [band_for(s) if pd.notna(s) else "Not scored" for s in out["score"]]
    out = out.join(values.round(4)).join(status.add_suffix("_status"))
    out = out.join(parts.drop(columns="score"))
    out["events_held"] = held
    out = out.join(ev.drop(columns=["depth_sum", "depth_n"]))
    out["days_since_last"] = days_since.astype("Int64")
    n_contacts = contacts["customer_id"].astype(str).value_counts() if len(contacts) else pd.Series()
    out["contacts"] = n_contacts.reindex(idx).fillna(0).astype("int64")
    order = out.sort_values(["score", "customer_name", "customer_id"], ascending=[False, True, True],
                            na_position="last").index
    out.loc[order, "rank"] = np.arange(1, len(out) + 1)
    return out.astype({"rank": "int64"})[list(SCORE_COLUMNS)].reset_index(drop=True)


def row_weights(rows: pd.DataFrame, window: pd.DataFrame) -> np.ndarray:
    """Each row's event weight, `window.set_index("event_id")["w"].reindex(rows["event_id"])`, looked up once per
    distinct event through the rows' `_event` codes instead of hashing every row's event id text again for
    each scoring date (seven dates of ~80k rows in a 100k-record run). Rows with a missing event id (code -1)
    take the plain lookup."""
    codes = rows["_event"].to_numpy(dtype=np.int64)
    if not len(codes) or codes.min() < 0:
        return window.set_index("event_id")["w"].reindex(rows["event_id"]).to_numpy()
    some_row = np.full(int(codes.max()) + 1, -1, dtype=np.int64)
    some_row[codes] = np.arange(len(codes))  # a row of each code (all rows of a code hold the same event id)
    present = np.flatnonzero(some_row >= 0)
    per_code = np.full(len(some_row), np.nan)
    ids = rows["event_id"].to_numpy()[some_row[present]]
    per_code[present] = window.set_index("event_id")["w"].reindex(ids).to_numpy(dtype=float)
    return per_code[codes]


@dataclass
class _CustomerGroupings:
    """What `_score` groups per customer out of the attended rows (customers by position)."""

    ev: pd.DataFrame  # events_attended, users, attendances, questions, feedback_count, last_attended, depth_sum,
    # depth_n, speaker_events; one row per customer position
    attended_w: np.ndarray  # summed weight of the distinct events attended (only when not from people)
    per_person: pd.Series  # summed weight per (customer, person), by customer position, sorted as the pairs
    type_counts: pd.DataFrame  # summed weight per customer position (present ones) and event type (sorted)
    months_attended_w: np.ndarray  # summed month weight of the distinct months attended


def _customer_groupings(rows: pd.DataFrame, w: np.ndarray, n_customers: int, month_w: pd.Series,
                        from_people: bool) -> _CustomerGroupings:
    """The per-customer groupings of `_score` on the rows' integer codes.

    Counts of distinct events, people, speaking events and months are counts of each key's first row; sums
    go through `_sum_by`, the groupby's own compensated sum over the same rows in the same order, so every
    figure has the bits the column groupbys (`groupby("_customer").agg(...)`, two-key groupbys, unstack and
    a merge) gave. A customer without rows gets 0 and no last date (the groupbys' reindex and fillna)."""
    customer = rows["_customer"].to_numpy(dtype=np.int64)
    event = rows["_event"].to_numpy(dtype=np.int64)
    person_f = rows["_person"].to_numpy(dtype=float)
    person = np.where(np.isnan(person_f), -1, person_f).astype(np.int64)
    pair = pair_key(customer, event)
    first = first_of_key(pair)  # drop_duplicates of (customer, event)
    with_person = first_of_key(pair_key(customer, person)) & (person >= 0)
    speaking = rows["role"].isin(comp.SPEAKING_ROLES).to_numpy()
    spoke = np.flatnonzero(speaking)[first_of_key(pair[speaking])]
    count = functools.partial(np.bincount, minlength=n_customers)
    ev = pd.DataFrame({
        "events_attended": count(customer[first]),
        "users": count(customer[with_person]),
        "attendances": count(customer),
        "questions": _sum_by(customer, rows["questions_asked"].to_numpy(), n_customers),
        "feedback_count": count(customer[rows["feedback_submitted"].to_numpy(dtype=bool)]),
        "last_attended": pd.Series(rows["event_day"].to_numpy()).groupby(
            _categories(customer, n_customers), observed=False).max().to_numpy(),
        "depth_sum": _sum_by(customer, rows["depth"].to_numpy() * w, n_customers),
        "depth_n": _sum_by(customer, w, n_customers),
        "speaker_events": count(customer[spoke]),
    })
    ev["questions"] = ev["questions"].astype("int64")
    attended_w = np.zeros(n_customers) if from_people else _sum_by(customer[first], w[first], n_customers)
    per_person = pd.Series(dtype=float)
    if from_people:
        once = first_of_key(pair_key(pair, person)) & (person >= 0)  # drop_duplicates, then no missing person
        width = int(person.max(initial=0)) + 1
        per_person = pd.Series(w[once]).groupby(customer[once] * width + person[once]).sum()
        per_person.index = per_person.index.to_numpy(dtype=np.int64) // width
    types, type_names = pd.factorize(rows["event_type"].to_numpy()[first], sort=True)
    typed = types >= 0
    cell = customer[first][typed] * len(type_names) + types[typed]
    sums = pd.Series(w[first][typed]).groupby(cell).sum()
    cells = sums.index.to_numpy(dtype=np.int64)
    present, at = np.unique(cells // max(len(type_names), 1), return_inverse=True)
    matrix = np.zeros((len(present), len(type_names)))
    matrix[at, cells % max(len(type_names), 1)] = sums.to_numpy()
    shown = np.unique(cells % max(len(type_names), 1))  # the types some customer attended, as unstack's columns
    type_counts = pd.DataFrame(matrix[:, shown], index=present, columns=type_names[shown])
    month = rows["event_day"].to_numpy().astype("datetime64[M]").astype(np.int64)[first]
    months = first_of_key(pair_key(customer[first], month - month.min(initial=0)))
    known = month_w.index.to_timestamp().to_numpy().astype("datetime64[M]").astype(np.int64)
    at = pd.Index(known).get_indexer(month[months])  # the merge with the months' weights (inner: -1 left out)
    weight = month_w.to_numpy(dtype=float)[at[at >= 0]]
    months_attended_w = _sum_by(customer[first][months][at >= 0], weight, n_customers)
    return _CustomerGroupings(ev, attended_w, per_person, type_counts, months_attended_w)


def _categories(codes: np.ndarray, n: int) -> pd.Categorical:
    """`codes` (0 <= code < n) as a categorical of the positions: a groupby on it takes the codes as they are
    (no hashing) and has a group for every position, empty ones included."""
    return pd.Categorical.from_codes(codes, categories=pd.RangeIndex(n))


def _sum_by(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per position 0..n-1, the groupby sum of `values` by `codes`: pandas' compensated sum, row by row in
    order, so the bits of `groupby(...).sum()` over the same rows; 0 where a position has none."""
    return pd.Series(values).groupby(_categories(codes, n), observed=False).sum().to_numpy()


def _codes(rows: pd.DataFrame, customers: pd.Index) -> dict[str, np.ndarray]:
    """`_customer` (position in `customers`), `_event` and `_person` as integer codes of the string keys.

    People are numbered in sorted order of their keys, so a (customer, person) grouping lists each
    customer's people in the order the strings sorted them (`any_person_rate` sums their terms in that
    order); a missing key is NaN, which groupings leave out and `nunique` does not count, as before."""
    person, _ = pd.factorize(rows["attendee_key"], sort=True)
    return {"_customer": customers.get_indexer(rows["customer_id"]),
            "_event": pd.factorize(rows["event_id"])[0],
            "_person": np.where(person >= 0, person, np.nan)}


def _event_capacity(attendance: pd.DataFrame, events: pd.DataFrame) -> pd.DataFrame:
    """Per event: its length (duration when known, else the longest anyone stayed), and whether polls,
    questions and feedback were recorded there for anyone (if not, the export does not carry them)."""
    stats = attendance.loc[attendance["event_id"].isin(events["event_id"])].assign(
        minutes=lambda a: pd.to_numeric(a["minutes_attended"], errors="coerce"),
        polls=lambda a: pd.to_numeric(a["polls_answered"], errors="coerce"),
        questions=lambda a: pd.to_numeric(a["questions_asked"], errors="coerce"),
        feedback=lambda a: a["feedback_submitted"].astype(bool).astype(int),
    ).groupby("event_id").agg(longest=("minutes", "max"), event_polls=("polls", "max"),
                              event_questions=("questions", "max"), event_feedback=("feedback", "max"))
    cap = events.set_index("event_id")[["duration_minutes"]].join(stats)
    cap["event_length"] = cap["duration_minutes"].where(cap["duration_minutes"] > 0, cap["longest"])
    return cap[["event_length", "event_polls", "event_questions", "event_feedback"]].reset_index()
