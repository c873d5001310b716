"""The trend test's per-customer counts are bincounts over customer positions; they must be what grouping the
rows by customer id gave (the former implementation, kept here as the reference) on hostile rows: customers
without rows, rows of no listed customer, people without keys, per-customer windows with missing ends."""

import numpy as np
import pandas as pd
import pytest

from engagement_pipeline.scoring.trends import _count, _people_seen


def _rows(seed: int) -> tuple[pd.DataFrame, pd.Index]:
    rng = np.random.default_rng(seed)
    index = pd.Index([f"c{i}" for i in rng.permutation(50)])
    n = 3000
    rows = pd.DataFrame({
        "customer_id": rng.choice([*index[:40], "stranger"], n),
        "attendee_key": pd.Series(rng.choice([f"p{i}" for i in range(200)], n), dtype=object),
        "event_day": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 330, n), unit="D"),
    })
    rows.loc[rng.random(n) < 0.05, "attendee_key"] = None
    return rows, index


def _count_by_id(days: pd.Series, owner: pd.Series, index: pd.Index, lo: object, hi: object) -> pd.Series:
    """The former implementation."""
    frame = pd.DataFrame({"owner": owner.to_numpy(), "day": days.to_numpy()})
    lo_s = lo.reindex(frame["owner"]).to_numpy() if isinstance(lo, pd.Series) else lo
    hi_s = hi.reindex(frame["owner"]).to_numpy() if isinstance(hi, pd.Series) else hi
    inside = (frame["day"].to_numpy() > lo_s) & (frame["day"].to_numpy() <= hi_s)
    return frame.loc[inside].groupby("owner").size().reindex(index, fill_value=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_counts_equal_grouping_by_customer_id(seed: int) -> None:
    rows, index = _rows(seed)
    rows = rows.loc[rows["customer_id"].isin(index)]  # as attended_rows gives them
    owner = index.get_indexer(rows["customer_id"])
    last = rows.groupby("customer_id")["event_day"].max().reindex(index)
    windows = [(pd.Timestamp("2026-03-01"), pd.Timestamp("2026-06-01")), (last - pd.Timedelta(days=90), last),
               (pd.Timestamp("2025-01-01"), pd.Timestamp("2025-02-01"))]
    for lo, hi in windows:
        pd.testing.assert_series_equal(_count(rows["event_day"], owner, index, lo, hi),
                                       _count_by_id(rows["event_day"], rows["customer_id"], index, lo, hi),
                                       check_names=False)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_people_seen_equal_grouping_by_customer_id(seed: int) -> None:
    rows, index = _rows(seed)
    owner, person = index.get_indexer(rows["customer_id"]), pd.factorize(rows["attendee_key"])[0]
    for lo, hi in [(pd.Timestamp("2026-03-01"), pd.Timestamp("2026-06-01")),
                   (pd.Timestamp("2025-01-01"), pd.Timestamp("2027-01-01"))]:
        inside = rows.loc[(rows["event_day"] > lo) & (rows["event_day"] <= hi)]
        expected = inside.groupby("customer_id")["attendee_key"].nunique().reindex(index, fill_value=0)
        pd.testing.assert_series_equal(_people_seen(owner, person, rows["event_day"], index, lo, hi), expected,
                                       check_names=False)
