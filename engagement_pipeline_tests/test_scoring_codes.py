"""score_customers groups by integer codes (`composite._codes`) instead of the string keys: the groups, their
rows' order and so every float sum must be what the string keys gave, on hostile keys (missing people,
repeated rows, customers with no rows, keys that sort differently than they first appear)."""

import numpy as np
import pandas as pd
import pytest

from engagement_pipeline.scoring.composite import _codes


def _rows(seed: int, n: int = 3000) -> tuple[pd.DataFrame, pd.Index]:
    rng = np.random.default_rng(seed)
    customers = pd.Index([f"c{i:03d}" for i in rng.permutation(60)], dtype=object)  # not sorted
    people = np.array([f"{chr(97 + i % 26)}{i}@x.com" for i in rng.permutation(400)], dtype=object)
    rows = pd.DataFrame({
        "customer_id": pd.array(rng.choice(customers[:50].to_numpy(), n), dtype="str"),  # 10 without rows
        "event_id": pd.array([f"e{i}" for i in rng.integers(0, 90, n)], dtype="str"),
        "attendee_key": pd.array(rng.choice(people, n), dtype="str"),
        "w": rng.random(n) * 10.0 ** rng.integers(-6, 3, n),  # magnitudes that make sum order matter
    })
    rows.loc[rng.random(n) < 0.05, "attendee_key"] = pd.NA
    return pd.concat([rows, rows.sample(300, random_state=seed)], ignore_index=True), customers


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_code_groupings_equal_string_groupings(seed: int) -> None:
    rows, customers = _rows(seed)
    coded = rows.assign(**_codes(rows, customers))
    positions = pd.RangeIndex(len(customers))

    by_string = rows.groupby("customer_id").agg(events=("event_id", "nunique"), users=("attendee_key", "nunique"),
                                                w=("w", "sum")).reindex(customers)
    by_code = coded.groupby("_customer").agg(events=("_event", "nunique"), users=("_person", "nunique"),
                                             w=("w", "sum")).reindex(positions).set_axis(customers)
    pd.testing.assert_frame_equal(by_code, by_string, check_exact=True, check_names=False)

    distinct = rows.drop_duplicates(["customer_id", "event_id", "attendee_key"])
    distinct_coded = coded.drop_duplicates(["_customer", "_event", "_person"])
    assert distinct.index.equals(distinct_coded.index)

    per_person = distinct.groupby(["customer_id", "attendee_key"])["w"].sum()
    per_person_coded = distinct_coded.groupby(["_customer", "_person"])["w"].sum()
    # Same people in the same order within each customer, same sums: so any_person_rate's sums agree.
    for customer in customers[:50]:
        expected = per_person.loc[customer] if customer in per_person.index.get_level_values(0) else None
        mine = per_person_coded[per_person_coded.index.get_level_values(0) == customers.get_loc(customer)]
        if expected is None:
            assert mine.empty
            continue
        assert np.array_equal(mine.to_numpy(), expected.to_numpy())
        log_expected = np.log1p(-np.clip(expected.to_numpy() / 1e4, 0, 0.999)).sum()
        log_mine = np.log1p(-np.clip(mine.to_numpy() / 1e4, 0, 0.999)).sum()
        assert log_mine == log_expected
