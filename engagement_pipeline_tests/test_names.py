"""`suffix_basename` is cleanco's `basename`, string for string: on every legal term cleanco knows (alone,
after a name, stacked, with punctuation and case changes) and on hostile names (accents, ligatures,
decomposing spacing marks, punctuation-only words, empty and blank strings)."""

import random

import pytest
from cleanco import basename
from cleanco.termdata import terms_by_country, terms_by_type

from engagement_pipeline.matching.names import normalise_company_name, suffix_basename

TERMS = sorted({t for group in (*terms_by_type.values(), *terms_by_country.values()) for t in group})
HOSTILE = ["", " ", "...", "Acme", "Acme,", "Acme Ltd.", "Acme Ltd. Inc.", "Acme GmbH & Co. KG", "ACME S.A.",
           "Société Générale, S.A.", "Ｆｏｏ Ｌｔｄ", "ﬀoo ltd", "Foo \u00a8 Ltd", "Foo \u00a0Ltd", "- Ltd", "Ltd",
           "Ltd Ltd Ltd", "Co Co", "The Co.", "Acme (UK) Ltd", "Acme Ltd - ", "a.b.c. inc", "Ltd. Acme",
           "Müller GmbH", "Łódź Sp. z o.o.", "İstanbul A.Ş.", "Foo AG;", "x" * 300 + " llc"]


def test_every_term_alone_after_a_name_and_stacked() -> None:
    for term in TERMS:
        for name in (term, f"Acme {term}", f"Acme {term.upper()}", f"Acme, {term}.", f"{term} Acme",
                     f"Acme {term} {term}", f"Acme Ltd {term}", f"Acme {term} Inc"):
            assert suffix_basename(name) == basename(name), name


def test_hostile_names() -> None:
    for name in HOSTILE:
        assert suffix_basename(name) == basename(name), name
        assert suffix_basename(suffix_basename(name)) == basename(basename(name)), name


@pytest.mark.parametrize("seed", range(5))
def test_random_stacks_of_terms(seed: int) -> None:
    rng = random.Random(seed)
    words = ["Acme", "Orbit", "&", "Data", "-", ".", "co", "The", "Sons", "é", "Ⅻ"]
    for _ in range(3000):
        parts = [rng.choice(words if rng.random() < 0.5 else TERMS) for _ in range(rng.randint(1, 6))]
        name = rng.choice([" ", ", ", " - ", "  "]).join(parts)
        if rng.random() < 0.3:
            name = name.upper()
        assert suffix_basename(name) == basename(name), name


def test_company_name_normalisation_unchanged() -> None:
    assert normalise_company_name("Société Générale, S.A.") == "societe generale"
    assert normalise_company_name("Acme Ltd. Inc.") == "acme"
    assert normalise_company_name("self-employed") is None


def test_ascii_shortcut_is_cleancos_normalisation() -> None:
    from cleanco.clean import normalized

    for code in range(128):
        assert normalized(chr(code)) == chr(code).lower()
