"""The review queue's "company name shares words" test is rapidfuzz's token_set_ratio == 100, found through the
word table instead of a full score matrix: the same customer names on normalised names of every shape."""

import random

import numpy as np
import pandas as pd
import pytest
from rapidfuzz import fuzz, process

from engagement_pipeline.matching.crm import Crm
from engagement_pipeline.matching.index import CrmIndex
from engagement_pipeline.matching.review import Suggester

WORDS = ["acme", "data", "orbit", "health", "labs", "group", "a", "b", "co", "north", "star", "x1", "9"]


def _index(seed: int) -> CrmIndex:
    rng = random.Random(seed)
    names = sorted({" ".join(rng.choices(WORDS, k=rng.randint(1, 4))) for _ in range(300)})
    customers = pd.DataFrame({"customer_id": [f"c{i}" for i in range(len(names))], "name": names,
                              "domains": [[] for _ in names]})
    contacts = pd.DataFrame({"customer_id": pd.Series(dtype=str), "name": pd.Series(dtype=str),
                             "email": pd.Series(dtype=str)})
    return CrmIndex.build(Crm(customers=customers, contacts=contacts))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_word_set_relation_is_token_set_ratio_100(seed: int) -> None:
    index = _index(seed)
    rng = random.Random(seed + 10)
    queries = sorted({" ".join(rng.choices([*WORDS, "zeta", "omega"], k=rng.randint(1, 5))) for _ in range(200)})
    suggester = Suggester(index, [], [], 3)
    expected = process.cdist(queries, index.names, scorer=fuzz.token_set_ratio, dtype=np.float32) == 100
    for query, row in zip(queries, expected, strict=True):
        assert np.array_equal(suggester._word_set_related(query), row), query
