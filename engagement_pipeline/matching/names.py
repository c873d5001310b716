"""Company names made comparable: the same company typed by two people should normalise identically.

Order matters: legal suffixes are stripped by `cleanco` *before* punctuation is removed, because cleanco
recognises "S.A." and "Co. KG" but not "s a" or "co kg". Answers that are not a company at all ("n/a",
"self-employed") normalise to None so they can never match a customer whose name happens to be similar.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from cleanco import basename
from cleanco.clean import normalized, strip_punct, tail_removal_rexp

# Things people type into a mandatory "Company" field when they have no company to give.
PLACEHOLDERS: frozenset[str] = frozenset(
    {
        "", "na", "n a", "none", "no", "nil", "null", "unknown", "other", "test", "self", "self employed",
        "selfemployed", "freelance", "freelancer", "independent", "individual", "personal", "private",
        "student", "retired", "unemployed", "home", "me", "x", "xx", "xxx", "company", "my company",
    }
)


@lru_cache(maxsize=200_000)
def normalise_company_name(name: object) -> str | None:
    """'Société Générale, S.A.' -> 'societe generale'; None when there is nothing company-like left."""
    if not isinstance(name, str):
        return None
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"\s+", " ", text).strip()
    # Twice: "Acme Ltd. Inc." style double suffixes occur in hand-typed data.
    text = suffix_basename(suffix_basename(text)) if text else text
    text = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and "))
    text = re.sub(r"\s+", " ", text).strip()
    text = text.removeprefix("the ").strip()
    return None if text in PLACEHOLDERS else text


def _terms_by_last_word(terms: list[tuple[int, list[str]]]
                        ) -> tuple[dict[str, list[tuple[int, int, list[str]]]], list[tuple[int, int, list[str]]]]:
    by_last: dict[str, list[tuple[int, int, list[str]]]] = {}
    wordless: list[tuple[int, int, list[str]]] = []
    for position, (size, parts) in enumerate(terms):
        (by_last.setdefault(parts[-1], []) if parts else wordless).append((position, size, parts))
    return by_last, wordless


_BY_LAST_WORD, _WORDLESS = _terms_by_last_word(basename.keywords["terms"])


def suffix_basename(name: str) -> str:
    """`cleanco.basename(name)`, the same string, without trying all 321 legal terms one by one.

    cleanco walks its term list in order and strips each term that the name's (normalised) words end with
    at that moment. Only a term whose last word is the name's current last word can match, so the walk
    jumps to the next such term after the last one stripped: the same terms stripped in the same order
    (~0.25 ms a name in cleanco, a dictionary lookup here; every CRM and attendee company name passes here
    twice). `test_names.py` compares the two on every term and on hostile names."""
    name = _strip_tail(name)
    nparts = name.split()
    # cleanco's `normalized` (NFKD, casefold, marks dropped, a few letters mapped) is lower() on ASCII text.
    nnparts = list(map(strip_punct, (name.lower() if name.isascii() else normalized(name)).split()))
    after = 0
    while True:
        candidates = _BY_LAST_WORD.get(nnparts[-1], ()) if nnparts else _WORDLESS
        for position, size, parts in candidates:
            if position >= after and nnparts[-size:] == parts:
                del nnparts[-size:]
                del nparts[-size:]
                after = position + 1
                break
        else:
            return _strip_tail(" ".join(nparts))


def _strip_tail(name: str) -> str:
    """cleanco's `strip_tail` (trailing symbols other than the dot cut off), on its compiled pattern."""
    match = tail_removal_rexp.search(name)
    return name[:match.start()] if match is not None else name


_NOT_ALPHANUMERIC = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=200_000)
def compact(text: str) -> str:
    """Without spaces or hyphens, for comparing names with domain labels: 'orbit data' ~ 'orbitdata'. Cached
    per distinct text: matching asks once per distinct address, and a run's addresses share a few thousand
    domain labels."""
    return _NOT_ALPHANUMERIC.sub("", text.lower())
