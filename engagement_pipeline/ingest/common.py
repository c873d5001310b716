"""Cell- and header-level helpers every platform module shares.

Platforms change header case and wording between releases (`Join Time` -> `Join time`, full-width brackets
in localised UIs), write dates in half a dozen formats and use `--`/`NA` for "nothing", so all of that is
decided once here. Nothing in this module knows about a particular platform.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from engagement_pipeline.ingest.canonical import make_attendee_key
from engagement_pipeline.ingest.reader import Table
from engagement_pipeline.ingest.result import RejectedFile

MISSING = frozenset({"", "--", "-", "na", "n/a", "null", "none"})

DATE_FORMATS: tuple[str, ...] = (
    "%b %d, %Y %H:%M:%S", "%b %d, %Y %I:%M %p", "%b %d, %Y %I:%M:%S %p", "%b %d, %Y %H:%M", "%b %d, %Y",
    "%B %d, %Y %I:%M %p", "%B %d, %Y",
    "%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y",
    "%m/%d/%y, %I:%M:%S %p", "%m/%d/%Y, %I:%M:%S %p", "%m/%d/%y %I:%M:%S %p", "%m/%d/%y %I:%M %p", "%m/%d/%y %H:%M:%S",
    "%m/%d/%y %H:%M", "%m/%d/%y",
    "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d",
)
# Every value must fit the canonical columns (datetime64[ns], int64): anything beyond is garbage in one cell
# and must quarantine that row, not reject the whole file when the records are validated.
EARLIEST_DATE = datetime(1678, 1, 1)
LATEST_DATE = datetime(2261, 12, 31)
MAX_COUNT = 1_000_000
MAX_MINUTES = 1_000_000.0
_TZ_SUFFIX = re.compile(r"\s+(?:[A-Z]{2,5}|UTC[+-]\d{1,2}(?::\d{2})?)$")

ENGAGEMENT_ALIASES: dict[str, tuple[str, ...]] = {
    "questions": ("questions asked", "# questions", "questions", "number of questions", "q&a questions",
                  "questions asked by attendee", "qna questions"),
    "polls": ("polls answered", "# polls", "polls", "poll responses", "polls voted", "# polls answered"),
    "feedback": ("feedback submitted", "survey response", "survey submitted", "survey completed", "feedback",
                 "post-event survey", "survey_response_rating"),
}

_BOT_PATTERN = re.compile(
    r"read\.ai|otter\.ai|\botter\b|fireflies|fathom|notetaker|note[\s-]?taker|meeting notes|ai companion"
    r"|\btl;?dv\b|\bavoma\b|\bsembly\b|\bairgram\b|\bbluedot\b|\bmeetgeek\b|\bnyota\b"
)
_BOT_DOMAINS = ("read.ai", "otter.ai", "fireflies.ai", "fathom.video", "tldv.io", "avoma.com", "meetgeek.ai")


@lru_cache(maxsize=65_536)  # every identify() normalises the first rows again: 10 modules x 60 rows per file
def norm_header(text: str) -> str:
    """Case-insensitive, trimmed, inner whitespace collapsed, full-width characters folded (NFKC)."""
    if text.isascii():  # NFKC leaves ASCII as it is, and split/join collapses exactly the whitespace `\s+` does
        return " ".join(text.split()).lower()
    folded = unicodedata.normalize("NFKC", text.replace("\ufeff", ""))
    return re.sub(r"\s+", " ", folded).strip().lower()


def find_col(headers: Sequence[str], aliases: Sequence[str], start: int = 0) -> int | None:
    """Index of the first normalised header (at or after `start`) equal to an alias, trying aliases in order."""
    for alias in aliases:
        for index in range(start, len(headers)):
            if headers[index] == alias:
                return index
    return None


def is_blank(row: Sequence[str]) -> bool:
    if row and row[0] and not row[0][0].isspace():  # most rows: a first cell that strip() leaves non-empty
        return False
    return not any(cell.strip() for cell in row)


def is_missing(cell: str) -> bool:
    return cell.strip().lower() in MISSING


def parse_datetime(cell: str) -> datetime | None:
    """A naive datetime from any format seen in PLATFORMS.md; None if blank/`--`; ValueError if garbage
    or outside the dates a timestamp column can hold."""
    try:
        parsed = _parse_datetime(cell)
    except OverflowError:  # a UTC offset pushed the date past year 1 or 9999
        raise ValueError(f"date {cell!r} is out of range") from None
    if parsed is not None and not EARLIEST_DATE <= parsed <= LATEST_DATE:
        raise ValueError(f"date {cell!r} is out of range")
    return parsed


@lru_cache(maxsize=1)
def _format_patterns() -> tuple[tuple[str, re.Pattern[str]], ...]:
    """Each format with the regex `strptime` itself builds for it (same locale, same flags)."""
    import _strptime

    return tuple((fmt, _strptime._TimeRE_cache.compile(fmt)) for fmt in DATE_FORMATS)


@lru_cache(maxsize=65_536)  # exports repeat the same start/join times; a datetime is immutable
def _parse_datetime(cell: str) -> datetime | None:
    text = re.sub(r"\s+", " ", cell.strip())
    if is_missing(text):
        return None
    text = _TZ_SUFFIX.sub("", text) if not text.endswith(("AM", "PM")) else text
    # The formats are tried in order, as before; one whose regex does not match the whole text is skipped
    # without calling strptime, which would fail the same way (its own check) but costs an exception and,
    # as Python keeps only 5 compiled formats, a regex recompilation: 24 formats per cell was most of parsing.
    for fmt, pattern in _format_patterns():
        found = pattern.match(text)
        if found is None or found.end() != len(text):
            continue
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"unrecognised date {cell!r}") from None
    return parsed.astimezone(UTC).replace(tzinfo=None) if parsed.tzinfo else parsed


def parse_flag(cell: str) -> bool | None:
    """Yes/No style flags; None when blank or unrecognised (callers decide what that means)."""
    text = cell.strip().lower()
    if text in {"yes", "y", "true", "1", "x", "checked in", "attended", "ok"}:
        return True
    if text in {"no", "n", "false", "0", "not attended"}:
        return False
    return None


# `1h 2m 3s` (Teams), `34 minutes` / `1 hour 2 minutes` (GoTo), `1 hr 2 min` (Meet), `46 mins` (Webex).
_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*(hours|hour|hrs|hr|h|minutes|minute|mins|min|m|seconds|second|secs|sec|s)"
                   r"(?![a-z])")
_UNIT_MINUTES = {"h": 60.0, "m": 1.0, "s": 1 / 60}


def parse_minutes(cell: str) -> float:
    """Minutes from `38`, `38.5`, ` 548`, `1h 2m 3s`, `1 hour 2 minutes`, `1 hr 2 min`, `46 mins`, `0:40:00`;
    0 for blanks/`--`; ValueError otherwise."""
    text = cell.strip().lower().replace(",", ".") if cell.count(",") == 1 else cell.strip().lower()
    if text in MISSING:
        return 0.0
    try:
        value = float(text)
    except ValueError:
        value = _duration_minutes(text)
    if value < 0 or value != value or value > MAX_MINUTES:
        raise ValueError(f"minutes must be a non-negative number up to {MAX_MINUTES:.0f}, got {cell!r}")
    return value


def _duration_minutes(text: str) -> float:
    clock = re.fullmatch(r"(\d+):(\d{2})(?::(\d{2}))?", text)
    if clock:
        hours, minutes, seconds = int(clock[1]), int(clock[2]), int(clock[3] or 0)
        return hours * 60 + minutes + seconds / 60
    total, pos, matched = 0.0, 0, False
    for unit in _UNIT.finditer(text):
        if text[pos:unit.start()].strip(" ,") not in ("", "and"):
            break
        total += float(unit[1]) * _UNIT_MINUTES[unit[2][0]]
        pos, matched = unit.end(), True
    if matched and not text[pos:].strip(" ,."):
        return total
    raise ValueError(f"minutes must be a non-negative number, got {text!r}")


def parse_count(cell: str) -> int:
    """A non-negative whole count; blank -> 0; `Yes` -> 1 (some exports flag rather than count)."""
    text = cell.strip()
    if is_missing(text):
        return 0
    flag = parse_flag(text)
    if flag is not None and not text.isdigit():
        return int(flag)
    value = float(text)
    if value < 0 or not value.is_integer() or value > MAX_COUNT:
        raise ValueError(f"count must be a whole number from 0 to {MAX_COUNT}, got {cell!r}")
    return int(value)


def parse_feedback(cell: str) -> bool:
    """Feedback/survey columns hold a flag, a rating or the answer text: anything non-blank but `No`/0."""
    text = cell.strip()
    if is_missing(text):
        return False
    flag = parse_flag(text)
    return True if flag is None else flag


def is_bot(name: str | None, email: str | None) -> bool:
    """Meeting note-taker bots (read.ai, Otter, Fireflies, Zoom AI Companion...) that join as participants."""
    text = f"{name or ''} {email or ''}".lower()
    if _BOT_PATTERN.search(text):
        return True
    domain = (email or "").lower().rpartition("@")[2]
    return any(domain == d or domain.endswith("." + d) for d in _BOT_DOMAINS)


def repeated(value: object, rows: int) -> np.ndarray:
    """`np.full(rows, value, dtype=object)`, holding `value` itself in every cell when it is a `str`. np.full goes
    through a numpy text scalar and makes a new str per cell from it (~6x slower, and the next factorize or set
    hashes each copy again): a file's platform, source name and blank cells, once per kept row. A text ending in
    NUL, and anything but a `str`, is np.full's, whose numpy text drops trailing NULs."""
    if type(value) is not str or value.endswith("\x00"):
        return np.full(rows, value, dtype=object)
    cells = np.empty(rows, dtype=object)
    cells.fill(value)
    return cells


def nul_joined(texts: Sequence[str]) -> str | None:
    """The texts joined by NUL, or None when one of them holds a NUL itself (the joined text would not split back
    into them). The column-wise paths join a column so to do in one C call what a Python call per cell did:
    lowering goes character by character and NUL is neither changed nor cased, so the lowered joined text splits
    into each text lowered, and a pattern anchored on NUL counts whole cells."""
    joined = "\x00".join(texts)
    return joined if joined.count("\x00") == max(len(texts) - 1, 0) else None


# A text the bot pattern (or a bot domain) matches holds one of these: each alternative of `_BOT_PATTERN` holds
# one of them literally, and each of `_BOT_DOMAINS` holds one. `str.find` looks for them far faster than the
# pattern's alternation scans a text, so only the rows holding one are asked `is_bot`.
_BOT_LITERALS = ("read.ai", "otter", "fireflies", "fathom", "taker", "meeting notes", "ai companion", "tldv", "tl;dv",
                 "avoma", "sembly", "airgram", "bluedot", "meetgeek", "nyota")


# Row texts (as `is_bot` writes them, before lowering) known to hold none of `_BOT_LITERALS`: people recur file
# after file (at 100k records, ~21k distinct texts in 100k rows), so only texts not seen before are searched.
_TEXTS_WITHOUT_BOT_LITERALS: set[str] = set()
_KNOWN_TEXTS = 100_000  # remembered at most (then forgotten at once, as `schema_check._matching` does)


def bot_flags(names: Sequence[object], emails: Sequence[object]) -> np.ndarray:
    """`is_bot(name, email)` of every row, as a bool array: the distinct row texts (as `is_bot` writes them) not
    known from earlier rows to hold no bot literal are joined by NUL and lowered once, searched for
    `_BOT_LITERALS`, and only the rows holding one asked `is_bot` (one regex search per row, cached or not, was
    most of keeping a big file's rows). Lowering is character by character, so the joined text is each text's
    lowered text; when a text holds a NUL, every row is asked `is_bot`."""
    texts = [f"{n or ''} {e or ''}" for n, e in zip(names, emails, strict=True)]
    flags = np.zeros(len(texts), dtype=bool)
    unknown = list(set(texts).difference(_TEXTS_WITHOUT_BOT_LITERALS))
    if not unknown:
        return flags
    joined = nul_joined(unknown)
    if joined is None:
        candidates: Sequence[int] = range(len(texts))
    else:
        joined = joined.lower()
        found: list[int] = []
        for literal in _BOT_LITERALS:
            at = joined.find(literal)
            while at >= 0:
                found.append(at)
                at = joined.find(literal, at + 1)
        ends = np.cumsum(np.fromiter(map(len, unknown), dtype=np.int64, count=len(unknown)) + 1) - 1  # each NUL
        holding = {unknown[i] for i in np.unique(np.searchsorted(ends, found, side="right"))}
        if len(_TEXTS_WITHOUT_BOT_LITERALS) > _KNOWN_TEXTS:
            _TEXTS_WITHOUT_BOT_LITERALS.clear()
        _TEXTS_WITHOUT_BOT_LITERALS.update(t for t in unknown if t not in holding)
        if not holding:
            return flags
        candidates = [i for i, text in enumerate(texts) if text in holding]
    flags[candidates] = [is_bot(names[i], emails[i]) for i in candidates]  # type: ignore[arg-type]
    return flags


@dataclass
class Section:
    """Data rows under one header: normalised headers plus (row number, cells) pairs."""

    headers: list[str]
    original: list[str]
    rows: list[tuple[int, list[str]]]

    def col(self, *aliases: str, start: int = 0) -> int | None:
        return find_col(self.headers, aliases, start)

    def cell_lists(self) -> list[list[str]]:
        """Each data row's cells, in row order (cached)."""
        cells = self.__dict__.get("_cells")
        if cells is None:
            cells = self.__dict__["_cells"] = [cells for _, cells in self.rows]
        return cells

    def row_numbers(self) -> list[int]:
        """The source row numbers, ascending (cached: looked up for each excluded or quarantined row)."""
        numbers = self.__dict__.get("_numbers")
        if numbers is None:
            numbers = self.__dict__["_numbers"] = [number for number, _ in self.rows]
        return numbers

    def raw(self, cells: Sequence[str]) -> dict[str, str]:
        """header -> cell of one row; repeated headers get `.1` like pandas, extra cells `column_N`."""
        out: dict[str, str] = {}
        for index, cell in enumerate(cells):
            key = self.original[index] if index < len(self.original) else f"column_{index + 1}"
            while key in out:
                key = f"{key}.1"
            out[key] = cell
        return out


def section(table: Table, header_index: int, stop: Sequence[int] = ()) -> Section:
    """Rows after `header_index` up to the first index in `stop` (or the end); blank rows skipped."""
    end = min([s for s in stop if s > header_index], default=len(table.rows))
    original = table.rows[header_index]
    cells = table.rows
    rows = [(i + 1, row) for i, row in enumerate(cells[header_index + 1:end], header_index + 1)  # Table.row_number
            if (row and row[0] and not row[0][0].isspace()) or not is_blank(row)]  # is_blank's first test inlined
    return Section([norm_header(h) for h in original], list(original), rows)


def require(found: dict[str, int | None], needed: Sequence[Sequence[str]], what: str, sec: Section,
            fields: dict[str, tuple[str, ...]]) -> None:
    """RejectedFile naming the expected headers if, for some group in `needed`, no field was found."""
    missing = [" or ".join(f"'{alias}'" for f in group for alias in fields[f][:2])
               for group in needed if all(found.get(f) is None for f in group)]
    if missing:
        raise RejectedFile(f"This {what} is missing required columns.",
                           expected=f"a column named {'; and a column named '.join(missing)} (any case)",
                           found=", ".join(sec.original))


def field_columns(sec: Section, found: dict[str, int | None]) -> dict[str, list[str]]:
    """The section's cells, one list per platform field (a missing field, or a short row's, is blank). A column
    every row reaches is taken with one C-level `itemgetter` map, not a per-row Python expression."""
    rows = sec.cell_lists()
    shortest = min(map(len, rows), default=0)
    out: dict[str, list[str]] = {}
    for name, i in found.items():
        if i is None:
            out[name] = [""] * len(rows)
        elif i < shortest:
            out[name] = list(map(itemgetter(i), rows))
        else:
            out[name] = [cells[i] if i < len(cells) else "" for cells in rows]
    return out


def string_frame(columns: dict[str, list[str]], index: pd.Index | range) -> pd.DataFrame:
    """An object frame of equally long cell lists, built as one 2-D block (what `pd.DataFrame(columns,
    dtype=object)` gives, without converting and consolidating column by column)."""
    block = np.empty((len(columns), len(index)), dtype=object)
    for at, values in enumerate(columns.values()):
        block[at] = values
    return pd.DataFrame(block.T, index=index, columns=list(columns), dtype=object, copy=False)


def field_frame(sec: Section, found: dict[str, int | None]) -> pd.DataFrame:
    """The section as a string frame with one column per platform field (missing fields are blank)."""
    return string_frame(field_columns(sec, found), range(len(sec.rows)))


def schema_problems(model: type[pa.DataFrameModel], frame: pd.DataFrame) -> dict[int, tuple[str, str]]:
    """Runs the platform's pandera model lazily; position -> (reason code, readable detail) for failing rows."""
    if frame.empty:
        return {}
    try:
        model.validate(frame, lazy=True)
    except pa.errors.SchemaErrors as err:
        problems: dict[int, tuple[str, str]] = {}
        for case in err.failure_cases.itertuples():
            if pd.isna(case.index):
                raise RejectedFile(f"The file does not have the expected columns ({case.check}).",
                                   found=", ".join(frame.columns)) from None
            detail = f"{case.column} value {case.failure_case!r} is not valid"
            problems.setdefault(int(case.index), (f"bad_{case.column}", detail))
        return problems
    return {}

def locate(sec: Section, fields: dict[str, tuple[str, ...]], start: int = 0) -> dict[str, int | None]:
    """Column index per platform field (engagement columns always looked for), None when absent."""
    return {name: sec.col(*aliases, start=start) for name, aliases in {**fields, **ENGAGEMENT_ALIASES}.items()}


def clean(value: str) -> str | None:
    """A cell as an optional value: None for blanks and `--`/`NA` placeholders."""
    return None if is_missing(value) else value.strip()


# --- Detection confidence -------------------------------------------------------------------------------------
# A platform module's identify() returns a Fit: the share of the platform's required markers (section rows,
# header names) found in the file. All found = strong (the file may be imported as that platform); some found =
# loose (the file is rejected with the missing markers named, never imported as a guess).
STRONG = 1.0


@dataclass(frozen=True)
class Fit:
    """How well a table looks like one platform's export: confidence in [0, 1] plus the markers missing."""

    confidence: float = 0.0
    missing: tuple[str, ...] = ()

    @property
    def strong(self) -> bool:
        return self.confidence >= STRONG

    @property
    def loose(self) -> bool:
        return 0 < self.confidence < STRONG


NO_FIT = Fit()


def fit(markers: dict[str, bool], anchor: str | None = None) -> Fit:
    """Fit from named required markers; none found (or the distinctive `anchor` absent) is no fit at all."""
    found = sum(markers.values())
    if not found or (anchor is not None and not markers[anchor]):
        return NO_FIT
    return Fit(found / len(markers), tuple(name for name, ok in markers.items() if not ok))


def best_fit(*fits: Fit) -> Fit:
    """The strongest of several layouts' fits (a module with several export layouts)."""
    return max(fits, key=lambda f: f.confidence, default=NO_FIT)


def header_rows(table: Table, limit: int = 60) -> list[tuple[int, set[str]]]:
    """(row index, normalised cells) of the first `limit` rows: what identify() functions look at."""
    return [(i, normalised_cells(table, i)) for i, row in enumerate(table.rows[:limit]) if row]


def normalised_cells(table: Table, index: int) -> frozenset[str]:
    """Row `index`'s cells through norm_header, computed once per table (ten modules ask about each file)."""
    cells = table._normalised.get(index)
    if cells is None:
        row = set(table.rows[index])  # blanks repeat
        text = "".join(row)
        # norm_header's ASCII rule, without filling its cache with data cells
        cells = _ascii_normalised(row, text) if text.isascii() else frozenset(map(norm_header, row))
        table._normalised[index] = cells
    return cells


def _ascii_normalised(row: set[str], text: str) -> frozenset[str]:
    """`" ".join(cell.split()).lower()` of each ASCII cell (`text`: the cells joined). When no cell holds a control
    character (every ASCII whitespace but the space is one, as is NUL) nor a space at either end or beside
    another, split and join leave each cell as it is, and the cells are lowered as one NUL-joined text: the ten
    modules' identify() read the top 60 rows of every file, and a Python expression per cell was most of it."""
    if text.isprintable():
        joined = "\x00".join(row)
        if not ("  " in joined or "\x00 " in joined or " \x00" in joined or joined.startswith(" ")
                or joined.endswith(" ")):
            return frozenset(joined.lower().split("\x00")) if row else frozenset()
    return frozenset(" ".join(cell.split()).lower() for cell in row)


def check_filled(sec: Section, found: dict[str, int | None], parsers: dict[str, Callable[[str], object]],
                 what: str) -> None:
    """RejectedFile when a column the platform's schema relies on is present but blank (or unparseable) in every
    data row: importing it would silently turn every value into a default (zero minutes, no attendance)."""
    for name, parse_cell in parsers.items():
        index = found.get(name)
        if index is None or not sec.rows:
            continue
        cells = [cells[index] if index < len(cells) else "" for _, cells in sec.rows]
        filled = [c for c in cells if not is_missing(c)]
        header = sec.original[index]
        if not filled:
            raise RejectedFile(f"The '{header}' column of this {what} is empty in every row, so it cannot be "
                               "imported without inventing values.",
                               expected=f"'{header}' filled in for the people who took part",
                               found=f"{len(cells)} rows, all blank or '--'")
        readable = 0
        for cell in filled:
            try:
                parse_cell(cell)
                readable += 1
            except ValueError:
                continue
        if not readable:
            raise RejectedFile(f"No value in the '{header}' column of this {what} could be read.",
                               expected=f"values such as those the platform writes in '{header}'",
                               found=f"e.g. {filled[0]!r}")


# A duration cell as the platforms write it (for the pandera row models): minutes, a clock, unit words, or blank.
DURATION_CELL = (r"(?i)^(\d+(\.\d+)?|\d+:\d{2}(:\d{2})?"
                 r"|(\d+(\.\d+)?\s*(hours?|hrs?|h|minutes?|mins?|m|seconds?|secs?|s)[\s,]*)+|--|)$")


def mode_date(values: Sequence[datetime | None]) -> datetime | None:
    """The most common calendar day among timestamps (ties: the earliest), or None."""
    days = Counter(v.replace(hour=0, minute=0, second=0, microsecond=0) for v in values if v is not None)
    if not days:
        return None
    top = max(days.values())
    return min(day for day, count in days.items() if count == top)


# --- Column-wise cells ----------------------------------------------------------------------------------------
# The platform modules read a whole section at once: each distinct cell of a column is parsed once (an export
# repeats the same dates, flags and blanks thousands of times) and the result mapped back onto the rows.


def _one_column_manager() -> Any:
    """pandas' one-column manager, for `object_series`, if a Series made from it on this pandas is exactly the one
    the constructor makes; else None (the constructor). It is private API (checked on pandas 3.1): probed once
    here rather than trusted across the versions pyproject allows."""
    try:
        from pandas.core.internals import SingleBlockManager

        values, index = np.array(["a", None, 1.5], dtype=object), pd.Index([3, 1, 2])
        manager = SingleBlockManager.from_array(values, index)
        made = pd.Series._from_mgr(manager, axes=manager.axes)
        made._name = "probe"
        expected = pd.Series(values, index=index, dtype=object, copy=False, name="probe")
        pd.testing.assert_series_equal(made, expected, check_exact=True)
        if made.flags.allows_duplicate_labels != expected.flags.allows_duplicate_labels or made.attrs:
            return None
    except Exception:  # any failure of the private API means: use the public constructor
        return None
    return SingleBlockManager


_SingleBlockManager = _one_column_manager()


def object_series(values: np.ndarray, index: pd.Index, name: Hashable = None) -> pd.Series:
    """`pd.Series(values, index=index, dtype=object, copy=False, name=name)` of a 1-D object array as long as
    `index`, made directly from pandas' one-column manager: the constructor's argument handling was ~10 µs a
    call (~2 µs this way), and every parsed column of every section makes one or two (~4% of parsing). Anything
    else, or a pandas without that manager, goes through the constructor."""
    if (_SingleBlockManager is None or not isinstance(values, np.ndarray) or values.dtype != object
            or values.ndim != 1 or not isinstance(index, pd.Index) or len(values) != len(index)):
        return pd.Series(values, index=index, dtype=object, copy=False, name=name)
    manager = _SingleBlockManager.from_array(values, index)
    series = pd.Series._from_mgr(manager, axes=manager.axes)
    series._name = name
    return series


def parse_cells(values: pd.Series, parse_cell: Callable[[str], object]) -> tuple[pd.Series, pd.Series]:
    """(parsed values, error messages) of a string column, aligned with it; the error is None where the cell
    parsed and the parsed value None where it did not (`parse_cell_array` of its cells)."""
    parsed, errors = parse_cell_array(values.to_numpy(dtype=object), parse_cell)
    return object_series(parsed, values.index), object_series(errors, values.index)


def _factorized(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`pd.factorize(cells)`, found without hashing when every cell is the empty text: a field a section does not
    have is blank in every row (`field_columns`), and most sections lack several (Zoom's host and panelist
    sections have no names or company, few exports count questions or polls)."""
    if len(cells) and cells[0] == "" and not any(cells) and set(map(type, cells)) == {str}:
        distinct = np.empty(1, dtype=object)
        distinct[0] = cells[0]
        return np.zeros(len(cells), dtype=np.intp), distinct
    return pd.factorize(cells)


def parse_cell_array(cells: np.ndarray, parse_cell: Callable[[str], object]) -> tuple[np.ndarray, np.ndarray]:
    """`parse_cells` of an object array of cells, as object arrays: each distinct cell is parsed once, and the
    results are spread back over the rows by their factorize codes (no per-row Python)."""
    codes, distinct = _factorized(cells)
    if len(codes) and codes.min() < 0:  # a missing value: parsed as itself, by the per-cell path
        parsed_each, errors_each = _parse_each(pd.Series(cells, dtype=object, copy=False), parse_cell)
        return parsed_each.to_numpy(), errors_each.to_numpy()
    parsed = np.empty(len(distinct), dtype=object)
    errors = np.full(len(distinct), None, dtype=object)
    for at, cell in enumerate(distinct):
        try:
            parsed[at] = parse_cell(cell)
        except ValueError as err:
            errors[at] = str(err)
    return parsed[codes], errors[codes]


def _parse_each(values: pd.Series, parse_cell: Callable[[str], object]) -> tuple[pd.Series, pd.Series]:
    """`parse_cells` through a dict of distinct cells, for a column holding missing values."""
    parsed: dict[object, object] = {}
    errors: dict[object, str | None] = {}
    for cell in dict.fromkeys(values):
        try:
            parsed[cell], errors[cell] = parse_cell(cell), None
        except ValueError as err:
            parsed[cell], errors[cell] = None, str(err)
    return (pd.Series([parsed[c] for c in values], index=values.index, dtype=object),
            pd.Series([errors[c] for c in values], index=values.index, dtype=object))


def parse_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`parse_datetime` column-wise: (datetimes or None, error messages), each distinct cell parsed once."""
    return parse_cells(values, parse_datetime)


_LONGEST_MISSING = max(map(len, MISSING))


def clean_column(values: pd.Series) -> pd.Series:
    """`clean` of every cell: None for blanks and placeholders, else the trimmed text (`clean_cells`)."""
    return object_series(clean_cells(values.to_numpy(dtype=object)), values.index)


def clean_cells(cells: np.ndarray) -> np.ndarray:
    """`clean` of every cell of an object array. `parse_cell_array(cells, clean)[0]` with `clean` inlined over the
    distinct cells (names and emails are mostly distinct, so two Python calls per cell were most of it): only a
    text of at most `_LONGEST_MISSING` characters can be a placeholder, as lowering never shortens a text. A
    missing or non-text cell goes through `parse_cell_array` itself."""
    codes, distinct = _factorized(cells)
    if len(codes) and codes.min() < 0:
        return parse_cell_array(cells, clean)[0]
    cleaned = np.empty(len(distinct), dtype=object)
    try:
        cleaned[:] = [None if len(text) <= _LONGEST_MISSING and text.lower() in MISSING else text
                      for text in map(str.strip, distinct)]
    except TypeError:  # a cell that is not text: `clean` raises its own error for it
        return parse_cell_array(cells, clean)[0]
    return cleaned[codes]


def first_error(*errors: pd.Series) -> pd.Series:
    """Per row, the first error message among several columns' (None when every column parsed)."""
    out = errors[0]
    for more in errors[1:]:
        out = either(out, more)
    return out


_ENGAGEMENT_FIELDS = ("questions", "polls", "feedback")


def engagement_columns(values: pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """`engagement` column-wise: (questions, polls, feedback, first error) from the optional columns."""
    cells = {name: values[name].to_numpy(dtype=object) for name in _ENGAGEMENT_FIELDS if name in values}
    parsed = engagement_cells(cells, len(values))
    return tuple(object_series(column, values.index) for column in parsed)  # type: ignore[return-value]


def engagement_cells(cells: dict[str, np.ndarray], rows: int
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`engagement_columns` of a section's cell arrays (a field without an array is blank in every row)."""
    blank = repeated("", rows)
    questions, q_error = parse_cell_array(cells.get("questions", blank), parse_count)
    polls, p_error = parse_cell_array(cells.get("polls", blank), parse_count)
    feedback, _ = parse_cell_array(cells.get("feedback", blank), parse_feedback)
    return questions, polls, feedback, either_cells(q_error, p_error)


@lru_cache(maxsize=65_536)
def cached_attendee_key(email: str | None, name: str | None) -> str | None:
    return make_attendee_key(email, name)  # regex-heavy name folding; people recur across rows and files


def attendee_keys(emails: pd.Series, names: pd.Series) -> pd.Series:
    """`make_attendee_key(email, name)` per row."""
    return pd.Series(identity_keys(emails.to_numpy(dtype=object), names.to_numpy(dtype=object)), index=emails.index,
                     dtype=object, copy=False)


def stripped_lowered(texts: Sequence[str]) -> list[str] | None:
    """`t.strip().lower()` of every text, stripped in C and lowered as one NUL-joined text (lowering goes
    character by character, and NUL neither changes nor is cased); None when a text holds a NUL itself."""
    stripped = list(map(str.strip, texts))
    joined = nul_joined(stripped)
    if joined is None:
        return None
    return joined.lower().split("\x00") if stripped else []


def present_emails_lowered(emails: np.ndarray) -> tuple[np.ndarray, list[str]] | None:
    """Where each email is a non-empty text, and those texts stripped and lower-cased (`stripped_lowered`); None
    when a value is neither a text nor None, or a text holds a NUL: the caller then goes value by value."""
    if not set(map(type, emails)) <= {str, type(None)}:
        return None
    present = np.fromiter(map(bool, emails), dtype=bool, count=len(emails))  # texts and None: `bool` tells them apart
    lowered = stripped_lowered(emails[present])
    return None if lowered is None else (present, lowered)


def identity_keys(emails: np.ndarray, names: np.ndarray) -> np.ndarray:
    """`cached_attendee_key(email, name)` of every row, as an object array. A row with an email is keyed by
    make_attendee_key's email rule (stripped, lower-cased) for all such rows at once: stripped in C, joined by NUL
    and lowered as one text (lowering goes character by character); only rows without one are keyed one by one
    (per-row keys missed the bounded cache once a batch held more people than it)."""
    keys = np.empty(len(emails), dtype=object)
    found = present_emails_lowered(emails)
    if found is not None:
        present, lowered = found
        if lowered:
            keys[present] = lowered
            present[np.flatnonzero(present)] = np.fromiter(map(bool, lowered), dtype=bool, count=len(lowered))
        for at in np.flatnonzero(~present):  # no email, or a blank one: the name decides
            keys[at] = cached_attendee_key(emails[at], names[at])
        return keys
    keys[:] = [cached_attendee_key(e, n) for e, n in zip(emails, names, strict=True)]
    return keys


def first_cells(sec: Section, source_rows: np.ndarray) -> list[str]:
    """The first cell of each of the section's rows `source_rows` (blank for an empty row), for markers such as a
    `TOTALS` footer."""
    rows = sec.rows
    at = np.searchsorted(np.asarray(sec.row_numbers(), dtype=np.int64), source_rows).tolist()
    return [rows[p][1][0] if rows[p][1] else "" for p in at]


def either(first: pd.Series, fallback: pd.Series) -> pd.Series:
    """`first or fallback` per row, for optional values (None = absent)."""
    if first.dtype == object and fallback.dtype == object and first.index.equals(fallback.index):
        # same rows: numpy's where, without pandas' alignment and dtype machinery
        return object_series(either_cells(first.to_numpy(), fallback.to_numpy()), first.index, first.name)
    return first.where(first.notna(), fallback)


def either_cells(first: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """`either` of two equally long object arrays."""
    return np.where(pd.isna(first), fallback, first)


def full_names(first: pd.Series, last: pd.Series) -> pd.Series:
    """`clean(f"{first} {last}")` per row."""
    if first.dtype == object and last.dtype == object and first.index.equals(last.index):
        names = _full_name_texts(first.to_numpy(), last.to_numpy())
        if names is not None:
            return object_series(names, first.index)
    return clean_column(first.astype(str) + " " + last.astype(str))


def full_name_cells(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """`full_names` of two equally long object arrays."""
    names = _full_name_texts(first, last)
    if names is not None:
        return names
    return full_names(pd.Series(first, dtype=object), pd.Series(last, dtype=object)).to_numpy(dtype=object)


def _full_name_texts(firsts: np.ndarray, lasts: np.ndarray) -> np.ndarray | None:
    """`full_names` of two object arrays of text cells; None when a cell is not text."""
    if set(firsts) <= {""} and set(lasts) <= {""}:  # both columns blank (absent): clean(" ") of every row
        return np.full(len(firsts), None, dtype=object)
    if all(type(f) is str for f in firsts) and all(type(v) is str for v in lasts):  # text cells: no astype
        names = np.empty(len(firsts), dtype=object)
        names[:] = [f"{f} {v}" for f, v in zip(firsts, lasts, strict=True)]
        return clean_cells(names)
    return None
