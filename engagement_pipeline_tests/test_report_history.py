"""The report's score history: one scoring per month start, the scoring date's own scores reused (`latest`)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from engagement_pipeline.report.history import history_dates, score_history
from engagement_pipeline.scoring import score_customers

AS_OF = date(2026, 11, 2)
CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Acme", "Birch"],
                          "customer_since": ["2020-01-01", "2020-01-01"]})
CONTACTS = pd.DataFrame({"customer_id": ["C1", "C2"], "email": ["a@acme.com", "b@birch.com"]})


def _attendance() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly webinars from May to October; Acme attends all six, Birch only the first three."""
    days = pd.to_datetime([f"2026-{m:02d}-15" for m in range(5, 11)])
    rows = [{"event_id": f"E{i}", "event_name": f"Webinar {i}", "event_type": "webinar", "event_date": day,
             "attended": True, "customer_id": cid, "attendee_key": key, "minutes_attended": 50.0,
             "questions_asked": 0, "polls_answered": 0, "feedback_submitted": False, "role": "attendee"}
            for i, day in enumerate(days)
            for cid, key in (("C1", "a@acme.com"), ("C2", "b@birch.com")) if cid == "C1" or i < 3]
    attendance = pd.DataFrame(rows)
    held = pd.DataFrame({"event_id": [f"E{i}" for i in range(6)], "event_type": "webinar", "event_date": days,
                         "duration_minutes": 60.0})
    return attendance, held


def test_history_reuses_the_run_scores_for_the_scoring_date_and_matches_scoring_each_date() -> None:
    attendance, held = _attendance()
    latest = score_customers(attendance, held, CUSTOMERS, CONTACTS, AS_OF)
    assert history_dates(AS_OF) == [date(2026, m, 1) for m in range(5, 11)] + [AS_OF]
    recomputed = score_history(attendance, held, CUSTOMERS, CONTACTS, AS_OF)
    reused = score_history(attendance, held, CUSTOMERS, CONTACTS, AS_OF, latest=latest)
    assert reused == recomputed
    # May 1st has no event yet (not scored); from June on one point per month start, then the run's score
    assert [d for d, _ in reused["Acme"]] == [date(2026, m, 1) for m in range(6, 11)] + [AS_OF]
    assert reused["Acme"][-1][1] == float(latest.loc[latest["customer_name"] == "Acme", "score"].iloc[0])
    assert reused["Birch"][-1][1] < reused["Acme"][-1][1]  # Birch stopped coming after July


def test_history_takes_the_scoring_date_from_latest_without_scoring_it_again() -> None:
    attendance, held = _attendance()
    marked = score_customers(attendance, held, CUSTOMERS, CONTACTS, AS_OF).assign(score=[12.5, 7.5])
    history = score_history(attendance, held, CUSTOMERS, CONTACTS, AS_OF, latest=marked)
    assert history["Acme"][-1] == (AS_OF, 12.5) and history["Birch"][-1] == (AS_OF, 7.5)
