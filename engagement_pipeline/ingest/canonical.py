"""The canonical attendance record every platform is mapped onto, and its pandera schema.

One row per (event, attendee) after join/leave rows are folded. Platform modules produce exactly these
columns; everything downstream (matching, scoring, reports) reads only these.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.codes import pair_key

EVENT_TYPES: tuple[str, ...] = ("webinar", "user_group", "training", "conference", "other")
ROLES: tuple[str, ...] = ("attendee", "speaker", "panelist", "host")
PLATFORMS: tuple[str, ...] = ("zoom_webinar", "zoom_meeting", "hopin", "eventbrite")
# The platforms lane's modules (ingest/teams.py ... google_meet.py); one name per line so lanes append cleanly.
PLATFORMS += (
    "teams",
    "luma",
    "goto_webinar",
    "webex",
    "google_meet",
)
# The door lane's formats: the generic attendance sheet and files read through a column mapping.
PLATFORMS += (
    "generic_sheet",
    "mapped",
)

CANONICAL_COLUMNS: tuple[str, ...] = (
    "event_id",
    "event_name",
    "event_type",
    "event_date",
    "platform",
    "attendee_key",
    "attendee_email",
    "attendee_name",
    "company",
    "registered",
    "attended",
    "minutes_attended",
    "questions_asked",
    "polls_answered",
    "feedback_submitted",
    "role",
    "source_file",
    "source_row",
    "rows_folded",
)

_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class CanonicalAttendance(pa.DataFrameModel):
    """One attendee at one event, whatever platform it came from."""

    event_id: Series[str] = pa.Field(str_matches=r"^\d{4}-\d{2}-\d{2}-[a-z0-9-]+$")
    event_name: Series[str] = pa.Field(str_length={"min_value": 1})
    event_type: Series[str] = pa.Field(isin=EVENT_TYPES)
    event_date: Series[pd.Timestamp] = pa.Field()
    platform: Series[str] = pa.Field(isin=PLATFORMS)
    attendee_key: Series[str] = pa.Field(str_length={"min_value": 3})
    attendee_email: Series[str] = pa.Field(nullable=True, str_matches=_EMAIL)
    attendee_name: Series[str] = pa.Field(nullable=True)
    company: Series[str] = pa.Field(nullable=True)
    registered: Series[bool] = pa.Field()
    attended: Series[bool] = pa.Field()
    minutes_attended: Series[float] = pa.Field(ge=0)
    questions_asked: Series[int] = pa.Field(ge=0)
    polls_answered: Series[int] = pa.Field(ge=0)
    feedback_submitted: Series[bool] = pa.Field()
    role: Series[str] = pa.Field(isin=ROLES)
    source_file: Series[str] = pa.Field()
    source_row: Series[int] = pa.Field(ge=1)
    rows_folded: Series[int] = pa.Field(ge=1)

    @pa.dataframe_check
    def one_row_per_event_and_attendee(cls, df: pd.DataFrame) -> bool:
        """No two rows share (event_id, attendee_key); missing values equal each other, as `df.duplicated` has
        it. Each column factorised as objects and the pairs' codes counted (duplicated() on pandas' text columns
        was a visible share of validating every parsed file)."""
        event_ids, keys = df["event_id"].to_numpy(dtype=object), df["attendee_key"].to_numpy(dtype=object)
        if len(event_ids) and isinstance(event_ids[0], str) and bool((event_ids == event_ids[0]).all()):
            # every row of one event (the usual file): the people alone must be distinct. Keys all text (none
            # missing) are counted as a set (the validated keys' hashes are known; factorising was most of this)
            distinct_keys = set(keys)
            if set(map(type, distinct_keys)) <= {str}:
                return len(distinct_keys) == len(keys)
        events, _ = pd.factorize(event_ids)  # missing: -1
        people, distinct = pd.factorize(keys)
        if not events.any():  # every row of one event: the people alone must be distinct
            return len(distinct) + bool((people < 0).any()) == len(people)  # a missing key counts as one more
        pairs = pair_key(events + 1, people)  # a missing event (-1) its own value, as a missing key is
        return len(pd.unique(pairs)) == len(pairs)  # hashed, not sorted as np.unique does

    @pa.dataframe_check
    def minutes_only_when_attended(cls, df: pd.DataFrame) -> Series[bool]:
        """Per row: attended, or no minutes. On the coerced columns (bool, float) as one numpy expression; any
        other frame (pandera validating one it could not coerce) through pandas' own operators."""
        attended, minutes = df["attended"], df["minutes_attended"]
        if attended.dtype == bool and minutes.dtype == np.float64:
            return pd.Series(attended.to_numpy() | (minutes.to_numpy() == 0), index=df.index, copy=False)
        return attended | (minutes == 0)

    class Config:
        name = "canonical_attendance"
        strict = True
        coerce = True
        ordered = False


def empty_canonical() -> pd.DataFrame:
    """A zero-row frame with the canonical columns and dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="object") for c in CANONICAL_COLUMNS})
    return CanonicalAttendance.validate(frame)


def slugify(text: str) -> str:
    """Lower-case ASCII words joined by hyphens: 'Analytics Q&A — Live!' -> 'analytics-q-a-live'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "event"


def make_event_id(event_name: str, event_date: date | pd.Timestamp) -> str:
    """Stable across platforms, so two exports of one event land on the same id."""
    day = pd.Timestamp(event_date).date().isoformat()
    return f"{day}-{slugify(event_name)[:80]}"


def normalise_person_name(name: str) -> str:
    """Folds case, accents, pronoun and device decorations: 'iPhone (Ana Lima)' -> 'ana lima'."""
    text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    device = re.match(r"^\s*(?:iphone|ipad|android|galaxy[^()]*|pixel[^()]*)\s*\((.+)\)\s*$", text)
    if device:
        text = device.group(1)
    text = re.sub(r"\((?:she|he|they|guest|external|unverified)[^)]*\)", " ", text)
    text = re.sub(r"[^a-z0-9 ]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


def make_attendee_key(email: str | None, name: str | None) -> str | None:
    """The identity that folds rows: the lower-cased email, else 'name:<normalised name>', else None."""
    if email and isinstance(email, str) and email.strip():
        return email.strip().lower()
    if name and isinstance(name, str) and normalise_person_name(name):
        return f"name:{normalise_person_name(name)}"
    return None


_TYPE_KEYWORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("user_group", ("user group", "usergroup", "user-group", "meetup", "community call", "customer forum")),
    ("training", ("training", "workshop", "bootcamp", "boot camp", "academy", "certification", "course",
                  "hands-on", "hands on", "onboarding", "masterclass", "office hours")),
    ("conference", ("conference", "summit", "expo", "world tour", "annual", "kickoff", "kick-off")),
    ("webinar", ("webinar", "webcast", "live demo", "fireside", "ask me anything", "ama")),
)


def infer_event_type(event_name: str, default: str = "other") -> str:
    """Event type from the name's wording; `default` (often the platform's usual type) otherwise."""
    text = f" {event_name.lower()} "
    for event_type, words in _TYPE_KEYWORDS:
        if any(re.search(rf"(?<![a-z]){re.escape(w)}(?![a-z])", text) for w in words):
            return event_type
    return default if default in EVENT_TYPES else "other"
