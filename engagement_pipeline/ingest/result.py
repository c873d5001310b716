"""What parsing one uploaded file yields: canonical records plus a ledger that accounts for every row.

The ledger invariant is `rows_read == rows_kept + excluded + quarantined`, where a kept row may be folded
with others into one record (one person's join/leave rows become one attendance record). Rows are records;
the ledger also counts physical lines (a quoted cell may span several), and *balanced* needs both: every
record accounted for, and every physical line inside a sound record, blank, or quarantined as damaged.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

# Why a row is not an attendance record although nothing is wrong with it.
EXCLUSION_REASONS: tuple[str, ...] = (
    "host",
    "waiting_room",
    "bot",
    "internal",
    "duplicate",
    "summary_row",
    "cancelled",
)

# An optional fifth column, `rows`, says how many source rows an issue stands for (default 1).
ROW_ISSUE_COLUMNS: tuple[str, ...] = ("source_row", "reason", "detail", "raw")


class RejectedFile(Exception):
    """The whole file cannot be used. The message is written for the person who dropped the file."""

    def __init__(self, reason: str, *, expected: str = "", found: str = "") -> None:
        self.reason = reason
        self.expected = expected
        self.found = found
        super().__init__(self.explanation())

    def explanation(self) -> str:
        parts = [self.reason]
        if self.expected:
            parts.append(f"Expected: {self.expected}")
        if self.found:
            parts.append(f"Found: {self.found}")
        return "\n".join(parts)


_EMPTY_ROW_ISSUES = pd.DataFrame(
    {
        "source_row": pd.Series(dtype="int64"),
        "reason": pd.Series(dtype="object"),
        "detail": pd.Series(dtype="object"),
        "raw": pd.Series(dtype="object"),
    }
)


def empty_row_issues() -> pd.DataFrame:
    """Excluded or quarantined rows: 1-based source row, a reason code, a human detail, the raw cells.
    A copy of one frame built at import: building it was ~0.75 ms, twice per parsed file with no issues."""
    return _EMPTY_ROW_ISSUES.copy()


@dataclass
class ParsedUpload:
    """One file, parsed: the platform it came from, its records and where every other row went."""

    platform: str
    records: pd.DataFrame
    excluded: pd.DataFrame = field(default_factory=empty_row_issues)
    quarantined: pd.DataFrame = field(default_factory=empty_row_issues)
    rows_read: int = 0
    rows_kept: int = 0
    notes: list[str] = field(default_factory=list)
    # Emails on the file's host/organiser rows; their domain is the organiser's when none is configured.
    organiser_emails: tuple[str, ...] = ()
    # lines_read / lines_in_records / lines_blank / lines_damaged, from the reader (empty: not counted)
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def ledger(self) -> dict[str, object]:
        by_reason = _rows_by_reason(self.excluded)
        return {
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_excluded": _rows(self.excluded),
            "rows_quarantined": _rows(self.quarantined),
            "records": len(self.records),
            "excluded_by_reason": {str(k): int(v) for k, v in sorted(by_reason.items())},
            **self.lines,
            "balanced": self.balanced,
        }

    @property
    def damaged_lines(self) -> int:
        """Physical lines quarantined because the file itself is damaged (open quote, cut-off end, bad bytes)."""
        return int(self.lines.get("lines_damaged", 0))

    @property
    def balanced(self) -> bool:
        if self.rows_read != self.rows_kept + _rows(self.excluded) + _rows(self.quarantined):
            return False
        if not self.lines:
            return True
        lines = self.lines
        return lines["lines_read"] == lines["lines_in_records"] + lines["lines_blank"] + lines["lines_damaged"]


def row_counts(issues: pd.DataFrame) -> pd.Series:
    """Source rows each issue stands for: 1, unless an optional `rows` column says a folded record
    (one person's join/leave rows) stood for several."""
    if "rows" not in issues.columns:
        return pd.Series(1, index=issues.index, dtype="int64")
    rows = issues["rows"]
    if rows.dtype == "int64":  # nothing to fill: the frame built by `exclude_internal` alone
        return rows
    return rows.fillna(1).astype("int64")


def _rows(issues: pd.DataFrame) -> int:
    """`row_counts(issues).sum()`: one per issue unless a `rows` column says more (asked for every parsed file's
    ledger, twice; a Series per call was a visible share of a batch of small files)."""
    return len(issues) if "rows" not in issues.columns else int(row_counts(issues).sum())


def _rows_by_reason(issues: pd.DataFrame) -> dict[object, int]:
    """Source rows per reason (`row_counts` summed by reason; a missing reason is left out, as groupby does)."""
    if not len(issues):
        return {}
    if "rows" in issues.columns:  # the groupby's sums without its machinery (~90% of `ledger` per stored file)
        codes, reasons = pd.factorize(issues["reason"].to_numpy(dtype=object))  # missing reasons: code -1
        present = codes >= 0
        sums = np.zeros(len(reasons), dtype="int64")
        np.add.at(sums, codes[present], row_counts(issues).to_numpy()[present])
        return dict(zip(reasons.tolist(), sums.tolist(), strict=True))
    return dict(Counter(r for r in issues["reason"].to_numpy(dtype=object) if not pd.isna(r)))
