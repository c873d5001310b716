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


def test_name_hits_equal_the_element_by_element_lists() -> None:
    """The hits built from whole score rows (`tolist`) are the ones built element by element (`float(scores[i])`):
    the same customers, scores to the bit and reasons, in the same order, cut to three times the limit."""
    from engagement_pipeline.matching import fuzzy
    from engagement_pipeline.matching.review import SUGGEST_MIN_NAME_SCORE

    index = _index(3)
    rng = random.Random(7)
    names = sorted({" ".join(rng.choices([*WORDS, "zeta"], k=rng.randint(1, 4))) for _ in range(120)} | {"ab"})
    suggester = Suggester(index, names, [], 2)
    similar = fuzzy.score_matrix(names, index.names)
    for name, scores in zip(names, similar, strict=True):
        close = np.flatnonzero(scores >= SUGGEST_MIN_NAME_SCORE)
        contained = np.flatnonzero((scores < SUGGEST_MIN_NAME_SCORE) & suggester._word_set_related(name)) if len(
            name) >= fuzzy.MIN_NAME_LENGTH else np.empty(0, dtype=int)
        hits = [(index.customer_ids[i], float(scores[i]) / 100, "company name similar") for i in close]
        hits += [(index.customer_ids[i], float(scores[i]) / 100, "company name shares words") for i in contained]
        assert suggester.by_name[name] == sorted(hits, key=lambda h: -h[1])[:6], name
