"""Attendee -> customer matching: the cascade (`cascade`) and the review queue for the rest (`review`).

No Dagster here; the assets in `defs/` call these functions.
"""

from .cascade import MATCH_COLUMNS, MatchOutcome, match_attendance
from .names import normalise_company_name
from .review import unmatched_attendees

__all__ = ["MATCH_COLUMNS", "MatchOutcome", "match_attendance", "normalise_company_name", "unmatched_attendees"]
