"""Fast paths of the engagement side give what the code they replaced gave, on awkward concrete inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engagement_pipeline.codes import distinct_rows, first_of_key, pair_key
from engagement_pipeline.ingest.attendance import (
    _AGGREGATIONS,
    _ROLE_BY_PRIORITY,
    _ROLE_PRIORITY,
    _event_facts,
    _merge_per_attendee,
    _merge_with_codes,
    choose_exports,
    merge_platforms,
    role_ranks,
)
from engagement_pipeline.ingest.canonical import CANONICAL_COLUMNS
from engagement_pipeline.insights.advocacy import customer_rows, people_engagement
from engagement_pipeline.insights.recommendations import _Reach
from engagement_pipeline.matching.cascade import _State
from engagement_pipeline.matching.names import compact
from engagement_pipeline.report.history import scored_pairs
from engagement_pipeline.scoring.betabinom import sum_runs
from engagement_pipeline.scoring.composite import _customer_groupings, row_weights
from engagement_pipeline.scoring.trends import _people_lapsed
from engagement_pipeline_tests.test_attendance_merge import _row


def _records(**dtypes: str) -> pd.DataFrame:
    rows = [
        _row(1, "eventbrite", "ana@acme.com", attended=True),
        _row(1, "eventbrite", "bo@acme.com", company="Acme"),
        _row(2, "zoom_meeting", "bo@acme.com", attended=True, minutes_attended=42.0, role="speaker"),
        _row(2, "zoom_meeting", "cy@orbit.io", attended=True, minutes_attended=15.0, event_type="other"),
        _row(2, "zoom_meeting", "dee@orbit.io", event_id="2026-06-01-webinar", event_name="Webinar",
             event_date=pd.Timestamp("2026-06-01"), source_row=5, attendee_name=None),
        _row(3, "zoom_meeting", "cy@orbit.io", questions_asked=3, source_row=1, role="host"),
        _row(3, "zoom_meeting", "eve@orbit.io", event_id=None, source_row=9),  # a missing key: left out
        _row(3, "zoom_meeting", "fay@orbit.io", rows_folded=2, polls_answered=4, source_row=4),
    ]
    return pd.DataFrame(rows).astype(dtypes)


def _groupby(ordered: pd.DataFrame, role_rank: pd.Series) -> pd.DataFrame:
    """The one groupby `merge_platforms` ran before the fast path."""
    return ordered.assign(_role_rank=role_rank).groupby(["event_id", "attendee_key"], as_index=False,
                                                        sort=False).agg(**_AGGREGATIONS)


def test_merge_per_attendee_equals_the_groupby() -> None:
    for records in (_records(), _records(attendee_name="str", company="str", attendee_email="str"),
                    _records(registered=object),  # not bool: the groupby decides
                    _records().drop_duplicates(["event_id", "attendee_key"]),  # no key repeated
                    _records().iloc[[1, 2]]):  # every key repeated
        ordered = records.sort_values(["upload_id", "source_row"], ascending=[False, True], kind="stable")
        role_rank = pd.Series(np.arange(len(ordered)) % 4, index=ordered.index)
        expected = _groupby(ordered, role_rank)
        pd.testing.assert_frame_equal(_merge_per_attendee(ordered, role_rank, ["event_id", "attendee_key"]),
                                      expected, check_exact=True)
    merged = merge_platforms(_records())
    assert merged["attendee_key"].tolist() == ["ana@acme.com", "bo@acme.com", "cy@orbit.io", "fay@orbit.io",
                                               "dee@orbit.io"]
    assert merged["role"].tolist() == ["attendee", "speaker", "attendee", "attendee", "attendee"]


def test_reach_row_person_equals_the_key_lookup() -> None:
    rows = pd.DataFrame({
        "customer_id": ["C2", "C1", "C2", "C1", "C1"],
        "attendee_email": ["zed@b.com", "ana@a.com", "amy@b.com", "ana@a.com", "bob@a.com"],
        "attendee_name": ["Zed", "Ana", "Amy", "Ana", "Bob"], "event_id": ["e1", "e1", "e2", "e2", "e2"],
        "event_date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-02-01", "2026-02-01", "2026-02-01"]),
    })
    contacts = pd.DataFrame({"customer_id": ["C1"], "name": ["Cat"], "email": ["cat@a.com"], "is_champion": [True]})
    reach = _Reach(rows, contacts, frozenset())
    keys = pd.MultiIndex.from_frame(reach.people[["customer_id", "attendee_email"]])
    expected = keys.get_indexer(pd.MultiIndex.from_frame(rows[["customer_id", "attendee_email"]]))
    assert reach.row_person.tolist() == expected.tolist() == [3, 0, 2, 0, 1]


def _customer_rows_before(attendance: pd.DataFrame, internal_domains: frozenset[str], as_of: object = None,
                          window_days: int | None = None) -> pd.DataFrame:
    """`customer_rows` as it was: a copy per filter."""
    rows = attendance.loc[attendance["attended"].astype(bool) & attendance["customer_id"].notna()]
    rows = rows.loc[rows["role"] != "host"]
    emails = rows["attendee_email"].astype(object).where(rows["attendee_email"].notna(), "")
    codes, uniques = pd.factorize(emails)
    internal = np.array([isinstance(e, str) and e.split("@")[-1].lower() in internal_domains for e in uniques],
                        dtype=bool)
    rows = rows.loc[~internal[codes]].copy()
    rows["event_date"] = pd.to_datetime(rows["event_date"])
    if as_of is not None:
        end = pd.Timestamp(as_of)
        keep = rows["event_date"] <= end
        if window_days is not None:
            keep &= rows["event_date"] > end - pd.Timedelta(days=window_days)
        rows = rows.loc[keep]
    return rows


def test_customer_rows_equals_the_filter_chain() -> None:
    attendance = pd.DataFrame({
        "attended": [True, True, False, True, True, True, 1],
        "customer_id": ["C1", None, "C1", "C2", "C2", "C3", "C3"],
        "role": ["attendee", "attendee", "attendee", "host", None, "speaker", "attendee"],
        "attendee_email": ["a@x.com", "b@x.com", "c@x.com", "d@y.com", None, "e@Org.com", "f@x.com"],
        "event_date": ["2026-01-05", "2026-02-01", "2026-03-01", "2026-04-01", "2025-01-01", "2026-05-01",
                       "2026-06-30"],
    }, index=[5, 5, 7, 1, 2, 3, 9])  # repeated labels
    for as_of, window in ((None, None), ("2026-05-01", None), ("2026-05-01", 120), ("2020-01-01", 30)):
        pd.testing.assert_frame_equal(customer_rows(attendance, frozenset({"org.com"}), as_of, window),
                                      _customer_rows_before(attendance, frozenset({"org.com"}), as_of, window))
    assert customer_rows(attendance.iloc[:0], frozenset()).empty


def _people_lapsed_before(rows: pd.DataFrame, cust: pd.DataFrame, day: pd.Timestamp, recent: pd.Timedelta
                          ) -> tuple[pd.Series, pd.Series, pd.Series]:
    """`trends._people_lapsed` as it was: grouped by the customer and person texts."""
    idx = cust.index
    rows = rows.loc[rows["event_day"] > day - pd.Timedelta(days=365)]
    last = rows.groupby(["customer_id", "attendee_key"])["event_day"].max().reset_index()
    people = last.groupby("customer_id").size().reindex(idx, fill_value=0)
    gone = last.loc[last["event_day"] <= day - recent]
    lapsed = gone.groupby("customer_id").size().reindex(idx, fill_value=0)
    since = gone.groupby("customer_id")["event_day"].max().reindex(idx)
    return people, lapsed, since


def test_people_lapsed_on_codes_equals_the_text_grouping() -> None:
    cust = pd.DataFrame({"customer_name": ["A", "B", "C"]}, index=pd.Index(["c1", "c2", "c3"]))
    rows = pd.DataFrame({
        "customer_id": ["c2", "c1", "c2", "c1", "c2", "c1", "c2"],
        "attendee_key": ["p@b", "q@a", "p@b", None, "r@b", "q@a", "s@b"],
        "event_day": pd.to_datetime(["2026-10-01", "2026-03-01", "2026-06-01", "2026-11-01", "2026-05-05",
                                     "2025-01-01", "2025-12-31"]),
    })
    day, recent = pd.Timestamp("2026-11-29"), pd.Timedelta(days=91)
    owner = cust.index.get_indexer(rows["customer_id"])
    person = pd.factorize(rows["attendee_key"])[0]
    for mine, before in zip(_people_lapsed(rows, cust, day, recent, owner, person),
                            _people_lapsed_before(rows, cust, day, recent), strict=True):
        pd.testing.assert_series_equal(mine, before, check_names=False, check_exact=True)


def test_choose_exports_keeps_the_rows_the_key_lookup_kept() -> None:
    records = pd.DataFrame([
        _row(3, "zoom_webinar", "ana@acme.com", attended=True),
        _row(7, "zoom_webinar", "ana@acme.com", attended=True),
        _row(7, "zoom_webinar", "dee@acme.com", attended=True),
        _row(8, "zoom_webinar", "dee@acme.com"),  # a shrunken later export: held
        _row(4, "eventbrite", "bo@acme.com"),
        _row(5, "eventbrite", "cy@acme.com", event_id=None),  # a missing key is never kept
    ])
    kept, decisions = choose_exports(records)
    winners = decisions.loc[decisions["decision"] == "in_use"]
    keys = pd.MultiIndex.from_arrays([records["event_id"], records["platform"], records["upload_id"].astype(int)])
    expected = records.loc[keys.isin(list(zip(winners["event_id"], winners["platform"], winners["upload_id"],
                                              strict=True)))]
    pd.testing.assert_frame_equal(kept, expected)
    assert kept["upload_id"].tolist() == [7, 7, 4]


def test_integer_keys_keep_the_rows_drop_duplicates_keeps() -> None:
    rows = pd.DataFrame({"_customer": [2, 0, 2, 2, 0, 1, 2], "_event": [5, 0, 5, 1, 0, 5, 5],
                         "_person": [3.0, np.nan, 3.0, 0.0, np.nan, 7.0, 1.0]}, index=[9, 9, 4, 3, 2, 1, 0])
    pair = pair_key(rows["_customer"].to_numpy(), rows["_event"].to_numpy())
    person = np.where(rows["_person"].isna(), -1, rows["_person"]).astype(np.int64)
    pd.testing.assert_frame_equal(rows.loc[first_of_key(pair)], rows.drop_duplicates(["_customer", "_event"]))
    pd.testing.assert_frame_equal(rows.loc[first_of_key(pair_key(pair, person))],
                                  rows.drop_duplicates(["_customer", "_event", "_person"]))


def test_people_engagement_order_equals_the_six_key_sort() -> None:
    rows = pd.DataFrame({
        "customer_id": ["C2", "C1", "C2", "C2", "C1", "C1", "C2", "C1"],
        "attendee_email": ["b@x", "z@y", "a@x", "c@x", "y@y", "z@y", "d@x", None],
        "attendee_name": ["B", "Z", "A", "C", "Y", "Z", "D", "N"],
        "event_id": ["e1", "e1", "e1", "e2", "e1", "e2", "e3", "e1"],
        "questions_asked": [1, 0, 1, 1, 0, 2, 1, 5],  # c@x differs from a, b and d by its missing date only
        "minutes_attended": [10.0, 5.0, 10.0, 10.0, 7.0, 1.0, 10.0, 1.0],
        "event_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01", None, "2026-02-01", "2026-03-01",
                                      "2026-01-01", "2026-01-01"]),
    })
    people = people_engagement(rows)
    known = rows.loc[rows["attendee_email"].notna()]
    expected = known.groupby(["customer_id", "attendee_email"], as_index=False).agg(
        name=("attendee_name", "first"), events=("event_id", "nunique"), questions=("questions_asked", "sum"),
        minutes=("minutes_attended", "sum"), last=("event_date", "max"),
    ).sort_values(["customer_id", "events", "questions", "minutes", "last", "attendee_email"],
                  ascending=[True, False, False, False, False, True], ignore_index=True)
    pd.testing.assert_frame_equal(people, expected)
    assert people["attendee_email"].tolist() == ["z@y", "y@y", "a@x", "b@x", "d@x", "c@x"]


def _groupings_by_columns(rows: pd.DataFrame, w: np.ndarray, n: int, month_w: pd.Series) -> dict[str, object]:
    """The column groupbys `_customer_groupings` replaced (the code of `_score` before it)."""
    rows = rows.assign(w=w)
    rows["depth_w"] = rows["depth"] * rows["w"]
    positions = pd.RangeIndex(n)
    ev = rows.groupby("_customer").agg(
        events_attended=("_event", "nunique"), users=("_person", "nunique"), attendances=("_event", "size"),
        questions=("questions_asked", "sum"), feedback_count=("feedback_submitted", "sum"),
        last_attended=("event_day", "max"), depth_sum=("depth_w", "sum"), depth_n=("w", "sum")).reindex(positions)
    counts = ["events_attended", "users", "attendances", "questions", "feedback_count"]
    ev[counts] = ev[counts].fillna(0).astype("int64")
    speaking = rows.loc[rows["role"].isin(["speaker", "panelist"])].groupby("_customer")["_event"].nunique()
    ev["speaker_events"] = speaking.reindex(positions).fillna(0).astype("int64").to_numpy()
    pair = pair_key(rows["_customer"].to_numpy(dtype=np.int64), rows["_event"].to_numpy(dtype=np.int64))
    distinct = rows.loc[first_of_key(pair)]
    person = rows["_person"].to_numpy(dtype=float)
    person = np.where(np.isnan(person), -1, person).astype(np.int64)
    per_person = rows.loc[first_of_key(pair_key(pair, person))].groupby(["_customer", "_person"])["w"].sum()
    months = distinct.assign(month=distinct["event_day"].dt.to_period("M")).drop_duplicates(["_customer", "month"])
    return {
        "ev": ev, "per_person": per_person.set_axis(per_person.index.get_level_values(0)),
        "attended_w": distinct.groupby("_customer")["w"].sum().reindex(positions).fillna(0.0).to_numpy(),
        "type_counts": distinct.groupby(["_customer", "event_type"])["w"].sum().unstack(fill_value=0.0),
        "months_attended_w": months.merge(month_w.rename("mw"), left_on="month", right_index=True)
        .groupby("_customer")["mw"].sum().reindex(positions).fillna(0.0).to_numpy(),
    }


def test_customer_groupings_equal_the_column_groupbys() -> None:
    rng = np.random.default_rng(5)
    n = 400
    day = pd.to_datetime("2026-01-03") + pd.to_timedelta(rng.integers(0, 200, n), unit="D")
    event = rng.integers(0, 30, n)
    rows = pd.DataFrame({
        "_customer": rng.integers(1, 9, n),  # position 0 and 9 have no rows
        "_event": event,
        "_person": np.where(rng.random(n) < 0.1, np.nan, rng.integers(0, 25, n).astype(float)),
        "questions_asked": rng.integers(0, 3, n), "feedback_submitted": rng.random(n) < 0.3,
        "role": rng.choice(np.array(["attendee", "speaker", "panelist", None], dtype=object), n),
        "event_type": rng.choice(np.array(["webinar", "meetup", "summit", None], dtype=object), n),
        "event_day": day, "depth": rng.random(n)}).set_axis(rng.permutation(n) % 50)  # repeated labels
    w = np.where(rng.random(n) < 0.05, np.nan, rng.random(n) / 3)
    month_w = pd.Series(rng.random(12), index=pd.period_range("2026-01", periods=12, freq="M"))
    month_w = month_w.drop(month_w.index[3])  # a month without a weight: the merge leaves it out
    for from_people in (True, False):
        got = _customer_groupings(rows, w, 10, month_w, from_people)
        want = _groupings_by_columns(rows, w, 10, month_w)
        pd.testing.assert_frame_equal(got.ev, want["ev"].drop(columns=[]).reset_index(drop=True)
                                      .assign(depth_sum=lambda e: e["depth_sum"].fillna(0.0),
                                              depth_n=lambda e: e["depth_n"].fillna(0.0)), check_exact=True)
        pd.testing.assert_frame_equal(got.type_counts, want["type_counts"], check_exact=True, check_names=False,
                                      check_index_type=False, check_column_type=False)
        np.testing.assert_array_equal(got.months_attended_w, want["months_attended_w"])
        if from_people:
            pd.testing.assert_series_equal(got.per_person, want["per_person"], check_exact=True, check_names=False,
                                           check_index_type=False)
        else:
            np.testing.assert_array_equal(got.attended_w, want["attended_w"])


def test_sum_runs_equals_one_sum_per_run() -> None:
    """Runs summed as matrix rows, one length at a time, have the bits of `np.sum` over each run's slice: short
    runs (sequential sums), runs past numpy's 8-way unrolling and past its 128-element pairwise blocks, values
    over 60 orders of magnitude, NaN and infinities, runs not in order of position."""
    rng = np.random.default_rng(3)
    for top in (2, 9, 130, 700, 3000):
        lengths = rng.integers(1, top, 400)
        starts = np.cumsum(lengths) - lengths
        values = rng.standard_normal(int(lengths.sum())) * 10.0 ** rng.integers(-30, 30, int(lengths.sum()))
        values[rng.integers(0, len(values), 5)] = [np.nan, np.inf, -np.inf, np.inf, 0.0]
        shuffled = rng.permutation(len(lengths))
        for s, n in ((starts, lengths), (starts[shuffled], lengths[shuffled])):
            expected = np.array([np.sum(values[a:a + b], axis=0) for a, b in zip(s.tolist(), n.tolist(), strict=True)])
            assert np.array_equal(sum_runs(values, s, n), expected, equal_nan=True)
    assert sum_runs(np.array([1.5, 2.0, 3.0]), np.array([2, 0]), np.array([1, 3])).tolist() == [3.0, 6.5]
    assert sum_runs(np.array([]), np.array([], dtype=np.int64), np.array([], dtype=np.int64)).shape == (0,)


def test_scored_pairs_equal_the_row_loop() -> None:
    """The history's (name, score) pairs are what the per-row loop with `pd.notna` gave: missing names of every
    kind (None, NaN, pd.NA) spelled by `str`, repeated names kept, non-text names, missing scores of every
    kind dropped, numbers of any dtype as Python floats."""
    def loop(scores: pd.DataFrame) -> list[tuple[str, float]]:
        return [(str(n), float(v)) for n, v in zip(scores["customer_name"], scores["score"], strict=True)
                if pd.notna(v)]

    names = ["Acme", None, "Acme", np.nan, "Orbit", 7, "Zed"]
    frames = [
        pd.DataFrame({"customer_name": names, "score": [71.5, 60.0, np.nan, 12.25, 0.0, 99.9, np.nan]}),
        pd.DataFrame({"customer_name": pd.Series(["Acme", None, "Acme", None, "Orbit", "7", "Zed"], dtype="string"),
                      "score": pd.Series([1.5, None, 3.0, 4.0, None, 6.0, 7.0], dtype="Float64")}),
        pd.DataFrame({"customer_name": pd.Series(["Acme", None, "b", "c", "d", "e", "f"], dtype="str"),
                      "score": pd.Series([None, 2.0, 3, "4", None, 6.5, 7], dtype=object)}),
        pd.DataFrame({"customer_name": names, "score": np.arange(7, dtype=np.int64)}),
        pd.DataFrame({"customer_name": pd.Series([], dtype=object), "score": pd.Series([], dtype=float)}),
    ]
    for frame in frames:
        got = scored_pairs(frame)
        assert got == loop(frame)
        assert [(type(n), type(v)) for n, v in got] == [(str, float)] * len(got)


def test_row_weights_equal_the_event_id_reindex() -> None:
    """Weights looked up per event code are the reindex by event id text: repeated and interleaved events, codes
    with gaps (a date's subset of the rows), an event outside the window (NaN), no rows, a missing id."""
    window = pd.DataFrame({"event_id": ["e1", "e2", "e3", "e4"], "w": [1.0, 0.5, 0.125, 2.0**-40]})
    ids = pd.Series(["e3", "e1", "e3", "e9", "e1", "e4", "e3"], dtype="str")
    rows = pd.DataFrame({"event_id": ids, "_event": pd.factorize(ids)[0]})
    subsets = [rows, rows.iloc[[1, 4, 5]], rows.iloc[[5]], rows.iloc[[]], rows.iloc[::-1]]
    missing = pd.DataFrame({"event_id": ["e1", None, "e2"], "_event": pd.factorize(pd.Series(["e1", None, "e2"]))[0]})
    for frame in [*subsets, missing]:
        expected = window.set_index("event_id")["w"].reindex(frame["event_id"]).to_numpy()
        got = row_weights(frame, window)
        assert got.dtype == expected.dtype and np.array_equal(got, expected, equal_nan=True)


def test_reach_for_event_ranks_as_the_row_isin() -> None:
    """The on-topic counts from one lookup per distinct event give the ranks the per-row `isin` gave: repeated
    events, an event id missing, on-topic sets naming unknown events or nothing."""
    rows = pd.DataFrame({
        "customer_id": ["C1", "C1", "C2", "C2", "C1", "C2", "C3"],
        "attendee_email": ["ana@a.com", "bob@a.com", "amy@b.com", "zed@b.com", "ana@a.com", "amy@b.com", "x@c.com"],
        "attendee_name": ["Ana", "Bob", "Amy", "Zed", "Ana", "Amy", "X"],
        "event_id": ["e1", "e2", "e1", "e3", "e3", None, "e2"],
        "event_date": pd.to_datetime(["2026-01-01", "2026-02-01", "2026-01-01", "2026-03-01", "2026-03-01",
                                      "2026-04-01", "2026-02-01"]),
    })
    contacts = pd.DataFrame({"customer_id": ["C1"], "name": ["Cat"], "email": ["cat@a.com"], "is_champion": [True]})
    reach = _Reach(rows, contacts, frozenset())
    for on_topic in ({"e1"}, {"e3", "e9"}, set(), {"e1", "e2", "e3"}, {None, "e2"}):
        on_rows = rows["event_id"].isin(on_topic).to_numpy()
        on = np.bincount(reach.row_person[on_rows], minlength=len(reach.people))
        expected = np.empty(len(reach.people), dtype=np.int64)
        expected[np.lexsort((reach.base_rank, -on))] = np.arange(len(reach.people))
        reach.for_event(on_topic)
        assert reach.rank.tolist() == expected.tolist()


def test_match_state_open_rows_are_the_rows_without_a_customer() -> None:
    """The kept `matched` flags give the open rows `pd.isna(customer)` gave, through fills with every kind of
    missing value (None, NaN, pd.NA), per-row and shared confidences, a contact column and a positional assign."""
    def obj(*values: object) -> np.ndarray:
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out

    state = _State.empty(6)
    reference = {"customer": np.full(6, None, dtype=object), "method": np.full(6, "unmatched", dtype=object),
                 "confidence": np.zeros(6), "contact": np.full(6, None, dtype=object)}

    def fill_reference(found: np.ndarray, method: str, confidence: object, contact: np.ndarray | None = None) -> None:
        take = pd.isna(reference["customer"]) & pd.notna(found)
        reference["customer"][take] = found[take]
        reference["method"][take] = method
        reference["confidence"][take] = confidence[take] if isinstance(confidence, np.ndarray) else confidence
        if contact is not None:
            reference["contact"][take] = contact[take]

    steps = [(obj("C1", None, np.nan, pd.NA, None, None), "contact_email", 1.0, obj("Ana", None, "x", "y", None, None)),
             (obj(None, "C2", "C3", None, pd.NA, None), "domain", np.array([0.9, 0.95, 0.9, 0.1, 0.2, 0.3]), None),
             (obj("C9", "C9", "C9", "C4", np.nan, None), "company_name", 0.85, None)]
    for found, method, confidence, contact in steps:
        state.fill(found, method, confidence, contact=contact)
        fill_reference(found, method, confidence, contact)
        assert state.open.tolist() == pd.isna(state.customer).tolist() == pd.isna(reference["customer"]).tolist()
    state.assign(np.array([4]), obj("C5"), "company_fuzzy", np.array([0.7]))
    reference["customer"][4], reference["method"][4], reference["confidence"][4] = "C5", "company_fuzzy", 0.7
    assert state.open.tolist() == pd.isna(state.customer).tolist() == [False, False, False, False, False, True]
    for name, values in reference.items():
        assert getattr(state, name).tolist() == values.tolist()


def _merge_platforms_before(records: pd.DataFrame) -> pd.DataFrame:
    """`merge_platforms` before the event facts and the final order went by key codes."""
    ordered = records.sort_values(["upload_id", "source_row"], ascending=[False, True], kind="stable")
    role_rank = ordered["role"].map(_ROLE_PRIORITY).fillna(1).astype(int)
    merged = _merge_per_attendee(ordered, role_rank, ["event_id", "attendee_key"])
    merged["role"] = merged.pop("_role_rank").map(_ROLE_BY_PRIORITY)
    event_facts = _event_facts(ordered).set_index("event_id")
    at = event_facts.index.get_indexer(merged["event_id"])
    for column in event_facts.columns:
        merged[column] = event_facts[column].to_numpy()[at]
    merged.loc[~merged["attended"], "minutes_attended"] = 0.0
    return merged[list(CANONICAL_COLUMNS)].sort_values(["event_date", "event_id", "attendee_key"],
                                                        ignore_index=True)


def test_merge_platforms_order_by_codes_equals_the_sort() -> None:
    """Facts and order by key codes give the frame the text lookups and the three-key sort gave: events on
    one date ordered by id, a date missing (last), keys differing only in case or by a prefix, repeated keys
    (the grouped path), no repeated key, and object-typed dates (the plain sort)."""
    extra = [
        _row(4, "hopin", "Zed@b.io", event_id="e-b", event_date=pd.Timestamp("2026-05-12"), source_row=1),
        _row(4, "hopin", "zed@b.io", event_id="e-b", event_date=pd.Timestamp("2026-05-12"), source_row=2),
        _row(4, "hopin", "ze@b.io", event_id="e-a", event_date=pd.Timestamp("2026-05-12"), source_row=3),
        _row(5, "luma", "ann@c.io", event_id="e-nat", event_date=pd.NaT, source_row=1),
        _row(5, "luma", "ze@b.io", event_id="e-a", event_date=pd.Timestamp("2026-05-12"), source_row=4,
             attended=True, minutes_attended=5.0),
        _row(6, "luma", "aa@c.io", event_id="e-0", event_date=pd.Timestamp("2025-01-01"), source_row=1),
    ]
    records = pd.concat([_records(), pd.DataFrame(extra)], ignore_index=True)
    texts = records.fillna({"company": "", "attendee_name": ""}).astype({"company": "str", "attendee_name": "str"})
    frames = [texts, texts.drop_duplicates(["event_id", "attendee_key"]), texts.iloc[::-1],
              records, texts.astype({"event_date": object})]
    coded = 0
    for frame in frames:
        ordered = frame.sort_values(["upload_id", "source_row"], ascending=[False, True], kind="stable")
        ranks = pd.Series(1, index=ordered.index)
        coded += _merge_with_codes(ordered, ranks, ["event_id", "attendee_key"])[1] is not None
        pd.testing.assert_frame_equal(merge_platforms(frame), _merge_platforms_before(frame), check_exact=True)
    assert coded == 4  # the code path decided all but the frame with missing company texts


def test_distinct_rows_equal_the_groupby_numbers() -> None:
    """Combination numbers from per-column codes are the multi-column groupby's `ngroup` (sort=False,
    dropna=False): NaN in any column a value of its own, -0.0 with 0.0, infinities, integer and float columns,
    rows equal in all but one column, one column, every row the same."""
    rng = np.random.default_rng(11)
    x = rng.integers(0, 4, 500)
    n = rng.integers(0, 3, 500)
    a = rng.choice([0.5, 1.25, np.nan, -0.0, 0.0, np.inf, 3.0], 500)
    b = rng.choice([2.0, 7.5, np.nan], 500)
    cases = [[x, n, a, b], [a], [x], [np.zeros(4), np.zeros(4)], [a[:2], b[:2]], [n, a, x - 1]]
    for columns in cases:
        frame = pd.DataFrame(dict(enumerate(columns)))
        expected = frame.groupby(list(frame.columns), sort=False, dropna=False).ngroup().to_numpy()
        assert distinct_rows(columns).tolist() == expected.tolist()


def test_cached_compact_equals_the_substitution() -> None:
    """The cached, precompiled `compact` is the plain substitution on every kind of text, asked twice (the second
    answer from the cache): case, hyphens, digits, accents, letters whose lower case is two characters, empty."""
    import re

    texts = ["Orbit-Data", "orbit data", "ACME_42", "Société Générale", "İstanbul Ltd", "ß-straße", "", "---",
             "a\u00a0b", "x1.y2", "ＡＢＣ", "Ελληνικά", "Orbit-Data"]
    for _ in range(2):
        for text in texts:
            assert compact(text) == re.sub(r"[^a-z0-9]+", "", text.lower()), text


def test_role_ranks_equal_the_map() -> None:
    """Priorities per distinct role are the row-by-row `map`: known roles, unknown text, None, NaN, a number,
    text and object columns, a repeated index, no rows."""
    roles = ["speaker", "attendee", None, "host", "keynote", "panelist", np.nan, 3, "speaker", "Speaker"]
    for series in (pd.Series(roles, dtype=object, name="role"), pd.Series(roles[:2] + roles[3:6] + ["x"], dtype="str"),
                   pd.Series(roles, index=[5, 5, 1, 2, 3, 4, 9, 9, 0, 7], dtype=object), pd.Series([], dtype="str")):
        expected = series.map(_ROLE_PRIORITY).fillna(1).astype(int)
        pd.testing.assert_series_equal(role_ranks(series), expected, check_exact=True)


def _event_facts_before(ordered: pd.DataFrame) -> pd.DataFrame:
    """`_event_facts` before it grouped by event codes."""
    facts = ordered.groupby("event_id", sort=False).agg(
        event_name=("event_name", "first"), event_date=("event_date", "first")
    )
    typed = ordered.loc[ordered["event_type"] != "other"]
    specific = typed.groupby("event_id", sort=False)["event_type"].first()
    facts["event_type"] = specific.reindex(facts.index).fillna("other")
    return facts.reset_index()


def test_event_facts_by_codes_equal_the_groupbys() -> None:
    """Facts grouped by event codes are the two groupbys' by id: a missing id left out, a missing first name or
    date skipped, an event typed only 'other', a missing type, text and object columns, events interleaved."""
    frame = pd.DataFrame({
        "event_id": ["e2", "e1", None, "e2", "e3", "e1", "e3", "e4"],
        "event_name": [None, "One", "Lost", "Two", "Three", None, "Three b", None],
        "event_date": pd.to_datetime(["2026-02-01", None, "2026-01-05", "2026-02-02", "2026-03-01", "2026-01-01",
                                      None, None]),
        "event_type": ["other", "webinar", "training", np.nan, "other", "training", "other", "user_group"],
    })
    for ordered in (frame, frame.astype({"event_id": "str", "event_name": "str", "event_type": "str"}),
                    frame.dropna(subset=["event_id"]), frame.iloc[::-1], frame.iloc[[4, 6]]):
        pd.testing.assert_frame_equal(_event_facts(ordered), _event_facts_before(ordered), check_exact=True)
