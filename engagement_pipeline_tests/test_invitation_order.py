"""Invitation contacts are ordered by (on-topic events, events, last attended, email), computed as one
precomputed rank plus a per-event lexsort (`_Reach.for_event`): the order must be the four-key sort's, ties and
missing dates included; and `customer_rows` judges each distinct address once, as the row-by-row rule did."""

import numpy as np
import pandas as pd
import pytest

from engagement_pipeline.insights.advocacy import customer_rows
from engagement_pipeline.insights.recommendations import _Reach


def _attendance(seed: int, n: int = 2000) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    emails = np.array([f"p{i % 37}@{'acme.com' if i % 3 else 'Organiser.io'}" for i in range(120)], dtype=object)
    days = pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 5, n), unit="D")  # many ties
    frame = pd.DataFrame({
        "customer_id": rng.choice(["c1", "c2", "c3", "c4"], n).astype(object),
        "attendee_email": pd.Series(rng.choice(emails, n), dtype=object),
        "attendee_name": rng.choice(["Ana", "Bo", None], n),
        "event_id": [f"e{i}" for i in rng.integers(0, 25, n)],
        "event_date": days.where(rng.random(n) > 0.05),
        "attended": rng.random(n) > 0.2,
        "role": rng.choice(["attendee", "host", "speaker"], n, p=[0.8, 0.1, 0.1]),
    })
    frame.loc[rng.random(n) < 0.03, "attendee_email"] = None
    frame.loc[rng.random(n) < 0.02, "attendee_email"] = 7  # not text at all
    return frame


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_customer_rows_judge_each_address_as_the_row_rule(seed: int) -> None:
    attendance = _attendance(seed)
    internal = frozenset({"organiser.io"})
    rows = attendance.loc[attendance["attended"].astype(bool) & attendance["customer_id"].notna()]
    rows = rows.loc[rows["role"] != "host"]
    emails = rows["attendee_email"].astype(object).where(rows["attendee_email"].notna(), "")
    expected = rows.loc[~emails.str.split("@").str[-1].str.lower().isin(internal)]
    assert customer_rows(attendance, internal).index.equals(expected.index)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_for_event_order_is_the_four_key_sort(seed: int) -> None:
    rows = _attendance(seed)
    rows = rows.loc[rows["attendee_email"].map(lambda e: isinstance(e, str))]
    reach = _Reach(rows, pd.DataFrame(columns=["customer_id", "name", "email", "is_champion"]), frozenset())
    rng = np.random.default_rng(seed)
    for _ in range(5):
        topic = {f"e{i}" for i in rng.integers(0, 25, 6)}
        reach.for_event(topic)
        on = np.bincount(reach.row_person[rows["event_id"].isin(topic).to_numpy()], minlength=len(reach.people))
        ordered = (reach.people.assign(on=on)
                   .sort_values(["on", "events", "last", "attendee_email"], ascending=[False, False, False, True]))
        expected = np.empty(len(ordered), dtype=np.int64)
        expected[ordered.index.to_numpy()] = np.arange(len(ordered))
        assert np.array_equal(reach.rank, expected)
