"""The report's history scores every customer on six past dates; `score_on_dates` does the per-row work once
for all of them. Each date's frame must be `score_customers` on the attendance and events dated up to that
day, exactly, on hostile histories: events at midday on a history date, events only in the attendance or only
in the events table, customers that start mid-history, people without keys, speakers, repeated rows, and
(the plain path) an event whose rows carry two dates."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from engagement_pipeline.report.history import history_dates
from engagement_pipeline.scoring.composite import (
    ONLY_SCORE,
    _one_date_per_event,
    score_customers,
    score_on_dates,
)

AS_OF = date(2026, 11, 29)


def _history(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    days = pd.Timestamp("2025-09-01") + pd.to_timedelta(rng.integers(0, 450, 70), unit="D")
    hours = pd.to_timedelta(rng.choice([0, 0, 9, 14], 70), unit="h")  # some at midday on a history date
    days = days.where(np.arange(70) % 9 != 0, pd.Timestamp("2026-09-01 14:00"))
    events = pd.DataFrame({"event_id": [f"e{i:02d}" for i in range(70)],
                           "event_type": rng.choice(["webinar", "training", "user_group", "other"], 70),
                           "event_date": days + hours, "duration_minutes": rng.choice([np.nan, 45.0, 60.0], 70)})
    n = 4000
    which = rng.integers(0, 70, n)
    attendance = pd.DataFrame({
        "event_id": events["event_id"].to_numpy()[which], "event_type": events["event_type"].to_numpy()[which],
        "event_date": events["event_date"].to_numpy()[which],
        "attended": rng.random(n) > 0.3, "customer_id": rng.choice([f"c{i}" for i in range(40)] + [None], n),
        "attendee_key": pd.Series(rng.choice([f"p{i}@x.com" for i in range(300)], n), dtype=object),
        "minutes_attended": rng.integers(0, 90, n).astype(float), "questions_asked": rng.integers(0, 3, n),
        "polls_answered": rng.integers(0, 2, n), "feedback_submitted": rng.random(n) > 0.8,
        "role": rng.choice(["attendee", "attendee", "speaker", "panelist", "host"], n),
    })
    attendance.loc[rng.random(n) < 0.03, "attendee_key"] = None
    attendance = pd.concat([attendance, attendance.sample(200, random_state=seed)], ignore_index=True)
    held = events.loc[events.index % 7 != 3]  # some events known only from the attendance
    extra = pd.DataFrame({"event_id": ["lonely"], "event_type": ["webinar"],  # held, nobody came
                          "event_date": [pd.Timestamp("2026-07-10")], "duration_minutes": [30.0]})
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(45)], "name": [f"Co {i % 30}" for i in range(45)],
                              "customer_since": pd.to_datetime("2025-06-01")
                              + pd.to_timedelta(rng.integers(0, 500, 45), unit="D")})
    contacts = pd.DataFrame({"customer_id": rng.choice(customers["customer_id"], 80)})
    return attendance, pd.concat([held, extra], ignore_index=True), customers, contacts


def _date_by_date(attendance: pd.DataFrame, events: pd.DataFrame, customers: pd.DataFrame,
                  contacts: pd.DataFrame, days: list[date]) -> list[pd.DataFrame]:
    att_day, ev_day = pd.to_datetime(attendance["event_date"]), pd.to_datetime(events["event_date"])
    return [score_customers(attendance.loc[att_day <= pd.Timestamp(d)], events.loc[ev_day <= pd.Timestamp(d)],
                            customers, contacts, d) for d in days]


@pytest.mark.parametrize(("seed", "as_of"), [(0, AS_OF), (1, AS_OF), (2, AS_OF),
                                             (0, date(2026, 6, 30))])  # later rows than the last date too
def test_history_scores_equal_date_by_date_scoring(seed: int, as_of: date) -> None:
    attendance, events, customers, contacts = _history(seed)
    days = history_dates(as_of)
    assert _one_date_per_event(attendance, pd.to_datetime(attendance["event_date"]), events,
                               pd.to_datetime(events["event_date"]))  # the shared path is the one tested
    only = score_on_dates(attendance, events, customers, contacts, days, score_only=True)
    for mine, score, expected in zip(score_on_dates(attendance, events, customers, contacts, days), only,
                                     _date_by_date(attendance, events, customers, contacts, days), strict=True):
        pd.testing.assert_frame_equal(mine, expected, check_exact=True)
        pd.testing.assert_frame_equal(score, expected[list(ONLY_SCORE)], check_exact=True)


def test_an_event_with_two_dates_is_scored_date_by_date() -> None:
    attendance, events, customers, contacts = _history(3)
    first = attendance["event_id"] == attendance["event_id"].iloc[0]
    attendance.loc[first & (np.arange(len(attendance)) % 2 == 0), "event_date"] = pd.Timestamp("2026-10-02")
    assert not _one_date_per_event(attendance, pd.to_datetime(attendance["event_date"]), events,
                                   pd.to_datetime(events["event_date"]))
    days = history_dates(AS_OF)
    only = score_on_dates(attendance, events, customers, contacts, days, score_only=True)
    for mine, score, expected in zip(score_on_dates(attendance, events, customers, contacts, days), only,
                                     _date_by_date(attendance, events, customers, contacts, days), strict=True):
        pd.testing.assert_frame_equal(mine, expected, check_exact=True)
        pd.testing.assert_frame_equal(score, expected[list(ONLY_SCORE)], check_exact=True)
