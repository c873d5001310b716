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
    text = basename(basename(text)) if text else text
    text = re.sub(r"[^a-z0-9]+", " ", text.replace("&", " and "))
    text = re.sub(r"\s+", " ", text).strip()
    text = text.removeprefix("the ").strip()
    return None if text in PLACEHOLDERS else text


def compact(text: str) -> str:
    """Without spaces or hyphens, for comparing names with domain labels: 'orbit data' ~ 'orbitdata'."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())
