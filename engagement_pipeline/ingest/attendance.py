"""One attendance history out of many uploads: later exports supersede earlier ones, platforms merge.

Two rules keep the counts honest when the same event arrives more than once:
- a later upload of the same event from the same platform (a fuller export) replaces the earlier one, unless
  it looks like a worse copy: a damaged file (cut off, open quote) with fewer records never replaces the
  export in use, and one that shrinks the event by more than `max_shrink` (default 20%) is *held* until a
  person confirms it (`engagement-pipeline confirm-export UPLOAD_ID`); every decision says why;
- the same event from two platforms (Eventbrite registrations + Zoom attendance of a hybrid user group)
  merges per attendee: registered or attended on either side counts, minutes and interactions take the
  larger figure (they measure the same session), and the most specific role wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engagement_pipeline.codes import pair_key
from engagement_pipeline.ingest.canonical import CANONICAL_COLUMNS

_ROLE_PRIORITY = {"speaker": 3, "panelist": 2, "attendee": 1, "host": 0}
_ROLE_BY_PRIORITY = {v: k for k, v in _ROLE_PRIORITY.items()}


DEFAULT_MAX_SHRINK = 0.2
DECISION_COLUMNS = ["upload_id", "event_id", "platform", "records", "decision", "reason", "superseded_by"]


def choose_exports(records: pd.DataFrame, uploads: pd.DataFrame | None = None, *,
                   max_shrink: float = DEFAULT_MAX_SHRINK) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (event, platform), which upload's records are used; returns (kept records, one decision per upload
    and event: `in_use`, `superseded`, `held` or `ignored`, with the reason).

    `uploads` (optional) has `upload_id`, `damaged_lines` and `shrink_confirmed`; without it every later
    export is taken as sound and unconfirmed."""
    if records.empty:
        return records, pd.DataFrame(columns=DECISION_COLUMNS)
    info = uploads.set_index("upload_id") if uploads is not None and len(uploads) else pd.DataFrame()
    damaged = info["damaged_lines"].to_dict() if "damaged_lines" in info else {}
    confirmed = info["shrink_confirmed"].to_dict() if "shrink_confirmed" in info else {}
    grouped = records.groupby(["event_id", "platform", "upload_id"], sort=True)
    counts = grouped.size()
    decisions: list[dict[str, object]] = []
    winners: set[tuple[str, str, int]] = set()
    for (event_id, platform), group in counts.groupby(level=[0, 1], sort=False):
        winner: tuple[int, int] | None = None
        rows: list[dict[str, object]] = []
        for (_, _, upload_id), count in group.items():
            row = {"upload_id": int(upload_id), "event_id": event_id, "platform": platform, "records": int(count),
                   "superseded_by": None}
            rows.append(row)
            if winner is None:
                winner = (int(upload_id), int(count))
                continue
            best_id, best_count = winner
            broken = int(damaged.get(upload_id, 0) or 0)
            shrink = 1 - count / best_count if best_count else 0.0
            if broken and count < best_count:
                row.update(decision="ignored", reason=(
                    f"damaged export ({broken} damaged lines) with fewer records ({count}) than upload "
                    f"{best_id} ({best_count}); the complete export stays in use"))
            elif shrink > max_shrink and not bool(confirmed.get(upload_id, False)):
                row.update(decision="held", reason=(
                    f"{count} records where upload {best_id} has {best_count} ({shrink:.0%} fewer, more than "
                    f"{max_shrink:.0%}); held until confirmed with `engagement-pipeline confirm-export {upload_id}`"))
            else:
                winner = (int(upload_id), int(count))
        best_id, best_count = winner  # type: ignore[misc]
        for row in rows:
            if row["upload_id"] == best_id:
                row.update(decision="in_use", reason=_in_use_reason(rows, best_id))
            elif "decision" not in row:
                row.update(decision="superseded", superseded_by=best_id,
                           reason=f"replaced by the later export, upload {best_id} ({best_count} records)")
        winners.add((event_id, platform, best_id))
        decisions.extend(rows)
    # Each row's (event, platform, upload) by the groupby's own group number (the order of `counts`; -1 for a
    # missing key, never a winner), instead of hashing every row's three keys again.
    won = np.array([(e, p, int(u)) in winners for e, p, u in counts.index] + [False], dtype=bool)
    kept = records.loc[won[grouped.ngroup().fillna(-1).to_numpy(dtype=np.int64)]]
    return kept, pd.DataFrame(decisions, columns=DECISION_COLUMNS)


def _in_use_reason(rows: list[dict[str, object]], best_id: int) -> str:
    if len(rows) == 1:
        return "the only export of this event"
    later = [r for r in rows if int(r["upload_id"]) > best_id]  # type: ignore[call-overload]
    if later:
        return f"kept over {len(later)} later export(s) that were held or damaged"
    return f"the latest of {len(rows)} exports of this event"


def export_status(decisions: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """One (status, reason) per upload over all its events; the most serious decision wins
    (held > ignored > superseded > in_use)."""
    order = {"held": 3, "ignored": 2, "superseded": 1, "in_use": 0}
    status: dict[int, tuple[str, str]] = {}
    for row in decisions.itertuples(index=False):
        current = status.get(int(row.upload_id))
        if current is None or order[row.decision] > order[current[0]]:
            status[int(row.upload_id)] = (row.decision, f"{row.event_id}: {row.reason}")
    return status


def merge_platforms(records: pd.DataFrame) -> pd.DataFrame:
    """One row per (event_id, attendee_key) across platforms; event facts from the newest upload."""
    if records.empty:
        return pd.DataFrame(columns=list(CANONICAL_COLUMNS))
    ordered = records.sort_values(["upload_id", "source_row"], ascending=[False, True], kind="stable")
    role_rank = role_ranks(ordered["role"])
    merged, codes = _merge_with_codes(ordered, role_rank, ["event_id", "attendee_key"])
    merged["role"] = merged.pop("_role_rank").map(_ROLE_BY_PRIORITY)
    event_facts = _event_facts(ordered).set_index("event_id")
    # Every merged event has its facts; with the rows' event codes, looked up once per distinct event.
    facts_of_event = event_facts.index.get_indexer(codes.events) if codes is not None else None
    at = event_facts.index.get_indexer(merged["event_id"]) if codes is None else facts_of_event[codes.event]
    for column in event_facts.columns:  # what a left merge on event_id adds, without copying `merged` again
        merged[column] = event_facts[column].to_numpy()[at]
    merged.loc[~merged["attended"], "minutes_attended"] = 0.0
    merged = merged[list(CANONICAL_COLUMNS)]
    if codes is None or not pd.api.types.is_datetime64_dtype(merged["event_date"]):
        return merged.sort_values(["event_date", "event_id", "attendee_key"], ignore_index=True)
    order = codes.date_event_key_order(event_facts["event_date"].to_numpy()[facts_of_event])
    return merged.take(order).reset_index(drop=True)


def role_ranks(role: pd.Series) -> pd.Series:
    """Each role's priority (`_ROLE_PRIORITY`; unknown or missing: 1, an attendee), as
    `role.map(_ROLE_PRIORITY).fillna(1).astype(int)` gives it, looked up once per distinct role (a `map` over
    a text column looked up every row: ~35 ms of `merge_platforms` at 100k records)."""
    codes, uniques = pd.factorize(role)
    ranks = np.array([_ROLE_PRIORITY.get(value, 1) for value in uniques] + [1], dtype=np.int64)  # -1: missing
    return pd.Series(ranks[codes], index=role.index, name=role.name)


@dataclass
class _KeyCodes:
    """Each merged row's event and attendee as codes into the distinct event ids and attendee keys."""

    event: np.ndarray
    events: pd.Index
    person: np.ndarray
    persons: pd.Index

    def date_event_key_order(self, event_dates: np.ndarray) -> np.ndarray:
        """The row order of `sort_values(["event_date", "event_id", "attendee_key"])` (`event_dates`: each
        distinct event's date, one date per event): the distinct events and keys sorted by pandas, then the rows
        by those ranks. Sorting 151 events and the distinct keys instead of factorising and sorting every row's
        two texts (a third of `merge_platforms` at 100k records); rows are unique per (event, key), so the
        order is the one sort_values gives, ties cannot occur."""
        events = pd.DataFrame({"event_date": event_dates, "event_id": self.events})
        event_rank = np.empty(len(events), dtype=np.int64)
        event_rank[events.sort_values(["event_date", "event_id"]).index.to_numpy()] = np.arange(len(events))
        person_rank = np.empty(len(self.persons), dtype=np.int64)
        person_rank[pd.Series(self.persons).sort_values().index.to_numpy()] = np.arange(len(self.persons))
        return np.lexsort((person_rank[self.person], event_rank[self.event]))


_AGGREGATIONS: dict[str, tuple[str, str]] = {
    "attendee_email": ("attendee_email", "first"),
    "attendee_name": ("attendee_name", "first"),
    "company": ("company", "first"),
    "registered": ("registered", "any"),
    "attended": ("attended", "any"),
    "minutes_attended": ("minutes_attended", "max"),
    "questions_asked": ("questions_asked", "max"),
    "polls_answered": ("polls_answered", "max"),
    "feedback_submitted": ("feedback_submitted", "any"),
    "_role_rank": ("_role_rank", "max"),
    "platform": ("platform", "first"),
    "source_file": ("source_file", "first"),
    "source_row": ("source_row", "first"),
    "rows_folded": ("rows_folded", "sum"),
}


def _merge_per_attendee(ordered: pd.DataFrame, role_rank: pd.Series, keys: list[str]) -> pd.DataFrame:
    """`ordered.groupby(keys, as_index=False, sort=False).agg(**_AGGREGATIONS)`, aggregating only the keys
    that occur more than once: an (event, attendee) seen on one platform only is its own aggregate (the
    first, any, max and sum of one value), so those rows are taken as they are and put back in the
    groupby's order (first appearance). Most events come from one platform: at 1M records the groupby's
    14 aggregations were ~2 % of the run. `role_rank` (aligned with `ordered`) is aggregated as `_role_rank`."""
    return _merge_with_codes(ordered, role_rank, keys)[0]


def _merge_with_codes(ordered: pd.DataFrame, role_rank: pd.Series, keys: list[str],
                      ) -> tuple[pd.DataFrame, _KeyCodes | None]:
    """`_merge_per_attendee`, with each merged row's key codes (None when the plain groupby decided)."""
    present = ordered[keys].notna().all(axis=1).to_numpy()  # the groupby leaves out missing keys
    usable = ordered if present.all() else ordered.loc[present]  # no copy of every row when none is missing
    role_rank = role_rank if present.all() else role_rank.loc[present]
    (event, events), (person, persons) = (pd.factorize(usable[key]) for key in keys)
    pair = pd.Series(pair_key(event, person))
    repeated = pair.duplicated(keep=False).to_numpy()
    if repeated.all() or not _aggregates_of_one_are_values(usable):
        plain = usable.assign(_role_rank=role_rank).groupby(keys, as_index=False, sort=False).agg(**_AGGREGATIONS)
        return plain, None
    columns = {name: column for name, (column, _) in _AGGREGATIONS.items() if column != "_role_rank"}
    single = usable.loc[~repeated, [*keys, *columns.values()]].set_axis([*keys, *columns], axis=1)
    # The keys as the groupby gives them: one text object per distinct value (not one per row), which later
    # groupings over a million rows hash and compare far faster (their hash is kept, their memory shared).
    single[keys[0]] = events.take(event[~repeated])
    single[keys[1]] = persons.take(person[~repeated])
    single.insert(single.columns.get_loc("platform"), "_role_rank", role_rank.to_numpy()[~repeated])
    if not repeated.any():
        return single.reset_index(drop=True), _KeyCodes(event, pd.Index(events), person, pd.Index(persons))
    grouped = (usable.loc[repeated].assign(_role_rank=role_rank.loc[repeated])
               .groupby(keys, as_index=False, sort=False).agg(**_AGGREGATIONS))
    firsts = repeated & ~pair.duplicated(keep="first").to_numpy()  # each repeated key's first row: its group's
    position = np.concatenate([np.flatnonzero(~repeated), np.flatnonzero(firsts)])
    both = pd.concat([single.reset_index(drop=True), grouped], ignore_index=True)
    order = np.argsort(position, kind="stable")
    rows = position[order]  # each merged row's first row in `usable`, whose keys it has
    return (both.take(order).reset_index(drop=True),
            _KeyCodes(event[rows], pd.Index(events), person[rows], pd.Index(persons)))


def _aggregates_of_one_are_values(frame: pd.DataFrame) -> bool:
    """Whether each aggregation of a one-row group gives that row's value with the column's dtype: `any` of
    a bool column, `max`/`sum` of a number column, `first` of a column that is not object-typed with gaps
    (whose missing values the groupby would respell)."""
    for column, how in _AGGREGATIONS.values():
        if column == "_role_rank":  # integers by construction
            continue
        values = frame[column]
        if how == "any" and not pd.api.types.is_bool_dtype(values.dtype):
            return False
        if how in ("max", "sum") and not (pd.api.types.is_numeric_dtype(values.dtype)
                                          and not pd.api.types.is_bool_dtype(values.dtype)
                                          and values.dtype != object):
            return False
        if how == "first" and values.dtype == object and values.isna().any():
            return False
    return True


def _event_facts(ordered: pd.DataFrame) -> pd.DataFrame:
    """Name and date from the newest upload; the type from the newest upload that names a specific one.

    Grouped by the events' codes (in order of first appearance, the `groupby(sort=False)` order; rows without
    an id left out as the groupby leaves them), so the ids are hashed once for both groupings, not once each."""
    code, ids = pd.factorize(ordered["event_id"])
    known = code >= 0
    rows = ordered if known.all() else ordered.loc[known]
    code = code[known]
    events = pd.Index(ids, name="event_id")
    facts = rows[["event_name", "event_date"]].groupby(code).first().set_axis(events)
    typed = (rows["event_type"] != "other").to_numpy()
    specific = rows["event_type"].loc[typed].groupby(code[typed]).first()
    facts["event_type"] = specific.reindex(pd.RangeIndex(len(events))).set_axis(events).fillna("other")
    return facts.reset_index()


def merge_uploads(records: pd.DataFrame, uploads: pd.DataFrame | None = None, *,
                  max_shrink: float = DEFAULT_MAX_SHRINK) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Upload records (with upload_id) -> (merged canonical attendance, superseded summary: one row per
    replaced upload and event with `superseded_by` and `records`). `choose_exports` gives every decision."""
    kept, decisions = choose_exports(records, uploads, max_shrink=max_shrink)
    superseded = decisions.loc[decisions["decision"] == "superseded",
                               ["upload_id", "event_id", "platform", "superseded_by", "records"]]
    return merge_platforms(kept), superseded.astype({"superseded_by": "int64"}).reset_index(drop=True)


def events_held(attendance: pd.DataFrame) -> pd.DataFrame:
    """Every event that appears in any upload, with its attendance counts; an event nobody from a
    customer attended still counts as an opportunity that was offered."""
    columns = ["event_id", "event_name", "event_type", "event_date", "registered", "attended",
               "duration_minutes"]
    if attendance.empty:
        return pd.DataFrame(columns=columns)
    events = attendance.groupby("event_id", as_index=False).agg(
        event_name=("event_name", "first"),
        event_type=("event_type", "first"),
        event_date=("event_date", "first"),
        registered=("registered", "sum"),
        attended=("attended", "sum"),
    )
    events["duration_minutes"] = float("nan")
    return events[columns].sort_values("event_date", ignore_index=True)
