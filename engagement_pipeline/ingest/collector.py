"""The per-file ledger: every data row a platform module reads ends kept, excluded or quarantined.

Platform modules only classify rows; this module owns the arithmetic (duplicates, folding one person's
join/leave rows into one record, event overrides) so that `rows_read == rows_kept + excluded + quarantined`
holds by construction for every platform.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

from engagement_pipeline.ingest.canonical import (
    CANONICAL_COLUMNS,
    CanonicalAttendance,
    empty_canonical,
    infer_event_type,
    make_event_id,
)
from engagement_pipeline.ingest.common import (
    Section,
    attendee_keys,
    bot_flags,
    cached_attendee_key,
    either,
    either_cells,
    field_columns,
    field_frame,
    identity_keys,
    is_bot,
    nul_joined,
    present_emails_lowered,
    repeated,
    schema_problems,
    string_frame,
)
from engagement_pipeline.ingest.overrides import (
    EventOverride,
    WaitingForEventDetails,
    merged_override,
    with_inferred_date,
)
from engagement_pipeline.ingest.result import ParsedUpload, empty_row_issues
from engagement_pipeline.ingest.schema_check import rows_pass, rows_pass_columns, validate_frame

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")  # same rule as CanonicalAttendance.attendee_email
ROLE_RANK = {"attendee": 0, "panelist": 1, "speaker": 2, "host": 3}


@dataclass
class Kept:
    """One source row that will become (part of) an attendance record."""

    source_row: int
    raw: dict[str, str]
    event_name: str | None
    event_date: datetime | None
    email: str | None
    name: str | None
    company: str | None = None
    registered: bool = True
    attended: bool = True
    minutes: float = 0.0
    questions: int = 0
    polls: int = 0
    feedback: bool = False
    role: str = "attendee"
    event_type: str | None = None  # per-row type (generic sheets); None: inferred from the event name


# The columns of a kept row in the column-wise path, with Kept's defaults (index: source row).
KEPT_DEFAULTS: dict[str, Any] = {
    "event_name": None, "event_date": None, "email": None, "name": None, "company": None, "registered": True,
    "attended": True, "minutes": 0.0, "questions": 0, "polls": 0, "feedback": False, "role": "attendee",
    "event_type": None,
}


@dataclass
class Collector:
    """Accumulates one file's rows; `finish` folds them and returns the ParsedUpload."""

    platform: str
    source_file: str
    default_type: str = "other"
    rows_read: int = 0
    kept: list[Kept] = field(default_factory=list)
    excluded: list[dict[str, Any]] = field(default_factory=list)
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    organisers: list[str] = field(default_factory=list)  # emails of host/organiser rows (internal-domain inference)
    # The cells of the rows read, per scope (a section kind whose rows are compared only with each other).
    _seen: dict[str, set[tuple[str, ...]]] = field(default_factory=dict)
    # The column-wise path (`frame`, `exclude_where`, `quarantine_where`, `keep_frame`): kept rows as arrays, and
    # their issues held until the parse ends, then added in source-row order (the order the per-row path gives).
    _kept_columns: list[dict[str, np.ndarray]] = field(default_factory=list)
    _pending: list[tuple[int, str, str, str]] = field(default_factory=list)
    _sections: list[Section] = field(default_factory=list)

    def frame(self, sec: Section, found: dict[str, int | None], model: type[pa.DataFrameModel], scope: str = ""
              ) -> pd.DataFrame:
        """The section's field values as one string frame (index: source row) holding every data row that is
        neither a duplicate of an earlier row nor fails the platform's pandera model, validated once on the
        whole frame; the others become issues here. Every row of the section is counted as read."""
        source_rows, names, block = self._field_block(sec, found, model, scope)
        return pd.DataFrame(block.T, index=pd.Index(source_rows, name="source_row", copy=False), columns=names,
                            dtype=object, copy=False)

    def frame_cells(self, sec: Section, found: dict[str, int | None], model: type[pa.DataFrameModel],
                    scope: str = "") -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """`frame` as (source rows, one object array of cells per field), for a platform module working on arrays
        end to end: a frame, then a Series per column and per step, was most of parsing a small section."""
        source_rows, names, block = self._field_block(sec, found, model, scope)
        return source_rows, dict(zip(names, block, strict=True))

    def _field_block(self, sec: Section, found: dict[str, int | None], model: type[pa.DataFrameModel], scope: str
                     ) -> tuple[np.ndarray, list[str], np.ndarray]:
        """`frame`'s rows as (source rows as int64, field names, a 2-D object block of one row per field)."""
        columns = field_columns(sec, found)
        # Pandera only when some row fails (or the model has a check the pre-check does not know).
        problems = ({} if rows_pass_columns(model, columns)
                    else schema_problems(model, string_frame(columns, range(len(sec.rows)))))
        self._sections.append(sec)
        self.rows_read += len(sec.rows)
        fresh = set(map(tuple, sec.cell_lists()))
        seen = self._seen.setdefault(scope, set())
        if not problems and len(fresh) == len(sec.rows) and seen.isdisjoint(fresh):
            # every row passes and none repeats an earlier one (the usual case): no per-row loop
            if seen:
                seen |= fresh
            else:  # the scope's first section: its rows are the rows seen
                self._seen[scope] = fresh
            numbers = np.fromiter(sec.row_numbers(), dtype=np.int64, count=len(sec.rows))  # not pandas' inference
            return numbers, list(columns), _cell_block(columns.values(), len(sec.rows))
        passing: list[int] = []
        for pos, signature in enumerate(map(tuple, sec.cell_lists())):
            source_row = sec.rows[pos][0]
            if signature in seen:
                self._pending.append((source_row, "excluded", "duplicate", "exact duplicate of an earlier row"))
                continue
            seen.add(signature)
            if pos in problems:
                self._pending.append((source_row, "quarantined", *problems[pos]))
                continue
            passing.append(pos)
        numbers = np.array([sec.rows[pos][0] for pos in passing], dtype=np.int64)
        return numbers, list(columns), _cell_block(([values[pos] for pos in passing] for values in columns.values()),
                                                   len(passing))

    def exclude_where(self, rows: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str,
                      detail: str | Callable[[pd.DataFrame], Iterable[str]]) -> pd.DataFrame:
        """Excludes the rows where `mask` holds (detail: one text, or one per masked row); returns the others."""
        return self._issue_where("excluded", rows, mask, reason, detail)

    def quarantine_where(self, rows: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str,
                         detail: str | Callable[[pd.DataFrame], Iterable[str]]) -> pd.DataFrame:
        """Quarantines the rows where `mask` holds (detail: one text, or one per masked row); returns the others."""
        return self._issue_where("quarantined", rows, mask, reason, detail)

    def _issue_where(self, kind: str, rows: pd.DataFrame, mask: pd.Series | np.ndarray, reason: str,
                     detail: str | Callable[[pd.DataFrame], Iterable[str]]) -> pd.DataFrame:
        if isinstance(mask, pd.Series):  # a column computed on the whole section: aligned by source row
            mask = mask.to_numpy() if mask.index.equals(rows.index) else mask.reindex(rows.index, fill_value=False)
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return rows
        hit = rows[mask]
        self._pend(kind, hit.index, reason, detail if isinstance(detail, str) else list(detail(hit)))
        return rows[~mask]

    def exclude_marked(self, source_rows: np.ndarray, marked: np.ndarray, reason: str,
                       detail: str | Sequence[str]) -> None:
        """`exclude_where` on arrays: excludes the source rows where `marked` holds (detail: one text, or one per
        marked row); the caller drops them from its own arrays."""
        if marked.any():
            self._pend("excluded", source_rows[marked], reason, detail)

    def quarantine_marked(self, source_rows: np.ndarray, marked: np.ndarray, reason: str,
                          detail: str | Sequence[str]) -> None:
        """`quarantine_where` on arrays (see `exclude_marked`)."""
        if marked.any():
            self._pend("quarantined", source_rows[marked], reason, detail)

    def _pend(self, kind: str, source_rows: Iterable[int], reason: str, detail: str | Sequence[str]) -> None:
        """Holds one issue per source row until the parse ends (detail: one text, or one per row)."""
        rows = list(source_rows)
        details = [detail] * len(rows) if isinstance(detail, str) else detail
        self._pending.extend((int(r), kind, reason, d) for r, d in zip(rows, details, strict=True))

    def exclude_hosts(self, rows: pd.DataFrame, email: pd.Series, name: pd.Series, host_keys: set[str], *,
                      host_section: bool, label: str) -> pd.DataFrame:
        """Excludes a host section's rows (`host_section`), or the rows with the identity of a host met earlier
        in the file, as `host` ("<label> <name or email>"); their emails join the organisers (internal-domain
        inference) and their keys `host_keys`. Returns the other rows."""
        if email.index.equals(rows.index) and name.index.equals(rows.index):
            return self._exclude_host_rows(rows, email, name, host_keys, host_section=host_section, label=label)
        keys = attendee_keys(email, name)
        is_host = pd.Series(True, index=rows.index) if host_section else keys.isin(host_keys)
        hosts = rows.index[is_host.to_numpy()]
        self.organisers.extend(email[hosts].dropna())
        host_keys.update(keys[hosts].dropna())
        return self.exclude_where(rows, is_host, "host",
                                  lambda hit: (f"{label} {w}" for w in either(name, email)[hit.index]))

    def _exclude_host_rows(self, rows: pd.DataFrame, email: pd.Series, name: pd.Series, host_keys: set[str], *,
                           host_section: bool, label: str) -> pd.DataFrame:
        """`exclude_hosts` when email and name are the rows' own columns: `exclude_host_cells` of their arrays."""
        is_host = self.exclude_host_cells(rows.index.to_numpy(), email.to_numpy(), name.to_numpy(), host_keys,
                                          host_section=host_section, label=label)
        return rows if is_host is None or not is_host.any() else rows[~is_host]

    def exclude_host_cells(self, source_rows: np.ndarray, emails: np.ndarray, names: np.ndarray,
                           host_keys: set[str], *, host_section: bool, label: str) -> np.ndarray | None:
        """`exclude_hosts` on arrays: excludes the host rows and returns where they are (None: no row is a host);
        no identity key is worked out at all in a section after a file without hosts."""
        if not host_section and not host_keys:
            return None
        keys = identity_keys(emails, names)
        if host_section:
            is_host = np.ones(len(keys), dtype=bool)
        elif host_keys.isdisjoint(keys):
            return None
        else:
            is_host = np.array([k in host_keys for k in keys], dtype=bool)
        hosts = np.flatnonzero(is_host)
        self.organisers.extend(e for e in emails[hosts] if not pd.isna(e))
        host_keys.update(keys[at] for at in hosts if keys[at] is not None)
        self.exclude_marked(source_rows, is_host, "host",
                            [f"{label} {w}" for w in either_cells(names[hosts], emails[hosts])])
        return is_host

    def keep_frame(self, rows: pd.DataFrame) -> pd.Index:
        """Keeps rows (index: source row; columns: KEPT_COLUMNS, defaults as in Kept), with the checks of
        `keep` run column-wise: no valid email or no identity is quarantined, a note-taker bot excluded.
        Returns the source rows kept."""
        return self.keep_columns(rows.index, {c: rows[c] for c in rows.columns})

    def keep_columns(self, index: pd.Index | np.ndarray, columns: dict[str, Any]) -> pd.Index | np.ndarray:
        """`keep_frame` of the frame `pd.DataFrame(columns, index=index)` without building it: each column a
        Series (aligned on `index`), an array or one value for every row. The kept rows' columns are held as
        arrays until `finish`, which folds them (a frame per section, then their concatenation, was built only
        to be read back column by column)."""
        n = len(index)
        values = {c: _column_array(columns[c], index) if c in columns else None for c in KEPT_DEFAULTS}
        emails = values["email"] if values["email"] is not None else np.full(n, None, dtype=object)
        names = values["name"] if values["name"] is not None else np.full(n, None, dtype=object)
        # The three checks as masks over all rows, each evaluated only where the earlier ones passed (as `keep`
        # does row by row); the rows are cut once, not once per check.
        checked = _email_checks(emails)
        if checked is not None:  # every present email is a valid address: only rows without one need a key
            valid, has_email = checked
            has_key = has_email.copy()
            for at in np.flatnonzero(~has_email):
                has_key[at] = cached_attendee_key(emails[at], names[at]) is not None
        else:
            valid = np.array([not present or not e or _is_address(e)
                              for e, present in zip(emails, ~pd.isna(emails), strict=True)], dtype=bool)
            has_key = np.array([ok and cached_attendee_key(e, n) is not None
                                for e, n, ok in zip(emails, names, valid, strict=True)], dtype=bool)
        no_identity = ~has_key & valid
        bots = np.zeros(n, dtype=bool)  # asked only of rows with an identity, as `keep` does
        if has_key.all():
            bots = bot_flags(names, emails)
        elif has_key.any():
            bots[has_key] = bot_flags(names[has_key], emails[has_key])
        keep = valid & ~no_identity & ~bots
        if not keep.all():
            rows = pd.DataFrame({"email": emails, "name": names}, index=index, dtype=object)
            self.quarantine_where(rows, ~valid, "bad_email",
                                  lambda hit: (f"email {e!r} is not an address" for e in hit["email"]))
            self.quarantine_where(rows, no_identity, "no_identity", "row has neither an email nor a name")
            self.exclude_where(rows, bots, "bot",
                               lambda hit: (f"note-taker bot {n or e!r}" for n, e in zip(hit["name"], hit["email"],
                                                                                       strict=True)))
            index = index[keep]
            values = {c: v[keep] if v is not None else None for c, v in values.items()}
        if len(index):
            part = {"source_row": np.asarray(index, dtype=np.int64)}
            for c, default in KEPT_DEFAULTS.items():
                part[c] = values[c] if values[c] is not None else repeated(default, len(index))
            self._kept_columns.append(part)
        return index

    def _flush(self) -> None:
        """Adds the column-wise path's issues, in source-row order, to the ledger lists."""
        for source_row, kind, reason, detail in sorted(self._pending, key=lambda issue: issue[0]):
            target = self.excluded if kind == "excluded" else self.quarantined
            target.append({"source_row": source_row, "reason": reason, "detail": detail,
                           "raw": self._raw(source_row)})
        self._pending.clear()

    def _raw(self, source_row: int) -> dict[str, str]:
        """The raw cells of a row read through `frame` (header -> cell), built only for rows that need them."""
        for sec in self._sections:
            numbers = sec.row_numbers()
            at = bisect_left(numbers, source_row)
            if at < len(numbers) and numbers[at] == source_row:
                return sec.raw(sec.rows[at][1])
        raise KeyError(source_row)

    def read(self, source_row: int, cells: list[str], raw: dict[str, str], scope: str = "") -> bool:
        """Counts a data row; False (and excluded as `duplicate`) if an identical row was already read."""
        self.rows_read += 1
        signature = tuple(cells)  # as `frame` makes it: the two paths share `_seen`
        seen = self._seen.setdefault(scope, set())
        if signature in seen:
            self.exclude(source_row, "duplicate", "exact duplicate of an earlier row", raw)
            return False
        seen.add(signature)
        return True

    def rows(self, sec: Section, found: dict[str, int | None], model: type[pa.DataFrameModel], scope: str = ""
             ) -> Iterator[tuple[int, dict[str, str], dict[str, str]]]:
        """(source row, raw cells, field values) for each data row that is neither a duplicate nor fails the
        platform's pandera model (those are excluded/quarantined here)."""
        frame = field_frame(sec, found)
        problems = {} if rows_pass(model, frame) else schema_problems(model, frame)
        records = frame.to_dict("records")
        for pos, (source_row, cells) in enumerate(sec.rows):
            raw = sec.raw(cells)
            if not self.read(source_row, cells, raw, scope):
                continue
            if pos in problems:
                self.quarantine(source_row, *problems[pos], raw)
                continue
            yield source_row, raw, records[pos]

    def exclude(self, source_row: int, reason: str, detail: str, raw: dict[str, str]) -> None:
        self._flush()
        self.excluded.append({"source_row": source_row, "reason": reason, "detail": detail, "raw": raw})

    def quarantine(self, source_row: int, reason: str, detail: str, raw: dict[str, str]) -> None:
        self._flush()
        self.quarantined.append({"source_row": source_row, "reason": reason, "detail": detail, "raw": raw})

    def keep(self, row: Kept) -> None:
        """Keeps a row unless it has no identity (quarantined) or is a note-taker bot (excluded)."""
        if row.email and not EMAIL.fullmatch(row.email.strip()):
            self.quarantine(row.source_row, "bad_email", f"email {row.email!r} is not an address", row.raw)
            return
        if cached_attendee_key(row.email, row.name) is None:
            self.quarantine(row.source_row, "no_identity", "row has neither an email nor a name", row.raw)
            return
        if _is_bot(row.name, row.email):
            self.exclude(row.source_row, "bot", f"note-taker bot {row.name or row.email!r}", row.raw)
            return
        self.kept.append(row)

    def finish(self, overrides: list[EventOverride]) -> ParsedUpload:
        """Applies the event override, resolves each row's event once per distinct event (type inferred once per
        event, not per row), quarantines rows without an event and folds the rest into records."""
        self._flush()
        kept, raws = self._kept()
        n = len(kept["source_row"])
        override = merged_override(overrides, self.source_file)
        if override:
            self.notes.append(f"event override applied from events/overrides.csv ({override.file_glob})")
        inferred = ""
        if n and not (override and override.event_date) and pd.isna(kept["event_date"]).all():
            override, inferred = with_inferred_date(override, [(None, raw) for raw in raws()], self.source_file)
        if inferred:
            self.notes.append(inferred)
        names = kept["event_name"] if not (override and override.event_name) else np.full(
            n, override.event_name, dtype=object)
        days = kept["event_date"] if not (override and override.event_date) else np.full(
            n, override.event_date, dtype=object)
        has_event = _truthy(names) & ~pd.isna(days)
        if n and not has_event.any():
            known = np.flatnonzero(_truthy(kept["event_name"]) | ~pd.isna(kept["event_date"]))
            first = int(known[0]) if len(known) else None
            first_date = kept["event_date"][first] if first is not None else None
            raise WaitingForEventDetails(
                self.source_file,
                event_name=(override.event_name if override else None) or (
                    kept["event_name"][first] if first is not None else None),
                event_date=(override.event_date if override else None) or (
                    pd.Timestamp(first_date).date() if first is not None and pd.notna(first_date) else None),
                event_type=override.event_type if override else None, notes=[n for n in [inferred] if n])
        all_raws = raws() if not has_event.all() else []
        for position in np.flatnonzero(~has_event):
            self.quarantine(int(kept["source_row"][position]), "no_event",
                            "row has no event name or no event date", all_raws[position])
        if not has_event.all():
            kept, names, days = {c: v[has_event] for c, v in kept.items()}, names[has_event], days[has_event]
        return self._upload(_fold_columns(self._records(kept, names, days, override)))

    def _kept(self) -> tuple[dict[str, np.ndarray], Callable[[], list[dict[str, str]]]]:
        """Every kept row's columns as arrays (source_row and KEPT_DEFAULTS' columns, in keep order) and a function
        giving their raw cells."""
        if self.kept:  # the per-row path
            columns = {"source_row": np.array([r.source_row for r in self.kept], dtype=np.int64)}
            for c in KEPT_DEFAULTS:
                columns[c] = np.empty(len(self.kept), dtype=object)
                columns[c][:] = [getattr(r, c) for r in self.kept]
            return columns, lambda: [r.raw for r in self.kept]
        if not self._kept_columns:
            return {"source_row": np.empty(0, dtype=np.int64),
                    **{c: np.empty(0, dtype=object) for c in KEPT_DEFAULTS}}, list
        parts = self._kept_columns
        columns = {c: parts[0][c] if len(parts) == 1 else np.concatenate([p[c] for p in parts]) for c in parts[0]}
        return columns, lambda: [self._raw(int(r)) for r in columns["source_row"]]

    def _records(self, kept: dict[str, np.ndarray], names: np.ndarray, days: np.ndarray,
                 override: EventOverride | None) -> dict[str, np.ndarray]:
        """The canonical columns of kept rows as arrays (one frame is built once, after folding): event id and
        type once per distinct event, the day normalised once per distinct date (iterating a datetime column
        boxes every cell as a Timestamp, which was most of this function for a Zoom report)."""
        n = len(kept["source_row"])
        day_codes, day_uniques = pd.factorize(days)
        normalised = [pd.Timestamp(d).normalize() for d in day_uniques]
        day_codes, day_uniques = _recode(day_codes, normalised)
        row_types = (repeated("", n) if set(map(type, kept["event_type"])) <= {type(None)}
                     else np.array([t if isinstance(t, str) else "" for t in kept["event_type"]], dtype=object))
        name_codes, name_uniques = pd.factorize(names)
        type_codes, type_uniques = pd.factorize(row_types)
        event_codes, first = _combined(name_codes, day_codes, type_codes)
        ids, types = [], []
        for at in first:
            name, day, row_type = name_uniques[name_codes[at]], day_uniques[day_codes[at]], type_uniques[type_codes[at]]
            ids.append(_event_id(name, day))
            types.append(override.event_type if override and override.event_type
                         else row_type or infer_event_type(name, self.default_type))
        email = _lowered_emails(kept["email"])
        people = kept["name"]
        roles = kept["role"]
        attended = kept["attended"].astype(bool) | np.array([r in _VOICED for r in roles], dtype=bool)
        return {
            "event_id": _take(ids, event_codes), "event_name": names,
            "event_type": _take(types, event_codes),
            "event_date": _day_values(day_uniques)[day_codes],
            "platform": repeated(self.platform, n),
            "attendee_key": _attendee_keys(email, people),
            "attendee_email": email, "attendee_name": _texts(people), "company": _texts(kept["company"]),
            "registered": kept["registered"].astype(bool), "attended": attended,
            "minutes_attended": np.where(attended, kept["minutes"].astype(float), 0.0),
            "questions_asked": kept["questions"].astype(np.int64),
            "polls_answered": kept["polls"].astype(np.int64),
            "feedback_submitted": kept["feedback"].astype(bool), "role": roles,
            "source_file": repeated(self.source_file, n),
            "source_row": kept["source_row"].astype(np.int64), "rows_folded": np.ones(n, dtype=np.int64),
        }

    def _upload(self, records: pd.DataFrame | dict[str, np.ndarray]) -> ParsedUpload:
        """The ParsedUpload of the folded records (a frame, or the canonical columns' arrays)."""
        count = len(records["source_row"])
        folded = int(records["rows_folded"].sum()) if count else 0
        if folded > count:
            self.notes.append(f"{folded - count} join/leave or ticket rows folded into existing records")
        return ParsedUpload(
            platform=self.platform,
            records=validate_frame(CanonicalAttendance, records) if count else empty_canonical(),
            excluded=_issues(self.excluded),
            quarantined=_issues(self.quarantined),
            rows_read=self.rows_read,
            rows_kept=folded,
            notes=self.notes,
            organiser_emails=tuple(dict.fromkeys(e.strip().lower() for e in self.organisers if e)),
        )


_VOICED = frozenset({"panelist", "speaker"})  # roles that attended whatever their attendance flag says


def _cell_block(columns: Iterable[list[str]], rows: int) -> np.ndarray:
    """Equally long cell lists as one 2-D object block, a row per list (`string_frame`'s block, transposed)."""
    lists = list(columns)
    block = np.empty((len(lists), rows), dtype=object)
    for at, values in enumerate(lists):
        block[at] = values
    return block


def _column_array(value: Any, index: pd.Index | np.ndarray) -> np.ndarray:
    """One column of `pd.DataFrame({...: value}, index=index)` as an array: a Series aligned on the index, an array
    as it is, one value repeated. Datetimes become objects (Timestamps), so that joining sections' arrays never
    turns a nanosecond datetime into an integer."""
    if isinstance(value, pd.Series):
        values = (value if value.index.equals(index) else value.reindex(index)).to_numpy()
    elif isinstance(value, np.ndarray):
        values = value
    else:
        values = np.empty(len(index), dtype=object)
        values[:] = [value] * len(index)
    if values.dtype.kind == "M":
        values = pd.Series(values).astype(object).to_numpy()
    return values


# EMAIL as a whole cell of a NUL-joined text of stripped cells: one finditer counts the cells that are addresses.
_JOINED_EMAIL = re.compile(r"(?<![^\x00])[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+(?![^\x00])")


# Stripped emails known to be addresses: people recur file after file (at 100k records, ~21k distinct emails in
# 100k rows), so only emails not seen before are matched. Bounded like common's texts without bot literals.
_KNOWN_ADDRESSES: set[str] = set()
_KNOWN_ADDRESS_LIMIT = 100_000


def _email_checks(emails: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(valid, has_email) per row when every present, non-empty email is an address (`keep`'s rule: no email,
    an empty one, or `EMAIL.fullmatch(email.strip())`), has_email where make_attendee_key takes the key from the
    email (text that is not blank once stripped); None when some email is not an address or not text, for the
    row-by-row rule to decide. A non-empty email blank once stripped is no address; the distinct stripped emails not
    known as addresses are joined by NUL and the pattern counted once, instead of one cached regex call per row."""
    present = ~pd.isna(emails)
    texts = emails[present] if not present.all() else emails
    if not set(map(type, texts)) <= {str}:
        return None
    stripped = list(map(str.strip, texts))
    filled = np.fromiter(map(bool, stripped), dtype=bool, count=len(stripped))
    if int(np.count_nonzero(filled)) != int(np.count_nonzero(np.fromiter(map(bool, texts), dtype=bool,
                                                                            count=len(texts)))):
        return None
    unknown = set(stripped).difference(_KNOWN_ADDRESSES)
    unknown.discard("")
    if unknown:
        joined = nul_joined(list(unknown))
        if joined is None or _JOINED_EMAIL.subn("", joined)[1] != len(unknown):
            return None
        if len(_KNOWN_ADDRESSES) > _KNOWN_ADDRESS_LIMIT:
            _KNOWN_ADDRESSES.clear()
        _KNOWN_ADDRESSES.update(unknown)
    has_email = np.zeros(len(emails), dtype=bool)
    has_email[present] = filled
    return np.ones(len(emails), dtype=bool), has_email


def _truthy(values: np.ndarray) -> np.ndarray:
    """`bool(value)` of each present value, False where it is missing (pandas' `map(bool, na_action="ignore")
    .fillna(False)`)."""
    if set(map(type, values)) <= {str, type(None)}:  # nothing missing but None: `bool` alone, in C
        return np.fromiter(map(bool, values), dtype=bool, count=len(values))
    missing = pd.isna(values)
    return np.array([not m and bool(v) for v, m in zip(values, missing, strict=True)], dtype=bool)


def _texts(values: np.ndarray) -> np.ndarray:
    """Each value when it is a non-empty text, else None."""
    if set(map(type, values)) <= {str, type(None)}:  # texts and None: `bool` tells them apart, in C
        return np.where(np.fromiter(map(bool, values), dtype=bool, count=len(values)), values, None)
    return np.array([v if isinstance(v, str) and v else None for v in values], dtype=object)


def _lowered_emails(emails: np.ndarray) -> np.ndarray:
    """`e.strip().lower()` of each non-empty text, None for anything else. The texts are stripped, joined by NUL
    and lowered at once (lowering goes character by character, and NUL neither changes nor is cased)."""
    out = np.full(len(emails), None, dtype=object)
    found = present_emails_lowered(emails)
    if found is not None:
        present, lowered = found
        if lowered:
            out[present] = lowered
        return out
    lowered = {e: e.strip().lower() if isinstance(e, str) and e else None for e in dict.fromkeys(emails)}
    out[:] = [lowered[e] for e in emails]
    return out


def _attendee_keys(emails: np.ndarray, names: np.ndarray) -> np.ndarray:
    """`cached_attendee_key(email, name)` of rows whose emails `_lowered_emails` gave: a non-empty one is its own
    key (make_attendee_key's email rule leaves a stripped, lowered text as it is; checked once per distinct email),
    the others are keyed by name."""
    keys = emails.copy()
    distinct = [e for e in dict.fromkeys(emails) if e]
    joined = nul_joined(distinct) if set(map(type, distinct)) <= {str} else None
    if (joined is None or joined.lower() != joined
            or list(map(str.strip, distinct)) != distinct):  # some email would not be its own key: row by row
        by_email = {e: e.strip().lower() for e in distinct if e.strip()}
        keys[:] = [by_email.get(e) or cached_attendee_key(e, p) for e, p in zip(emails, names, strict=True)]
        return keys
    # every non-empty email is stripped and lower-cased already: its own key (`e.strip().lower() == e`)
    for at in np.flatnonzero(~np.fromiter(map(bool, emails), dtype=bool, count=len(emails))):
        keys[at] = cached_attendee_key(emails[at], names[at])
    return keys


def _take(per_code: list[Any], codes: np.ndarray) -> np.ndarray:
    """`per_code[code]` for every row's code, as an object array."""
    table = np.empty(len(per_code), dtype=object)
    table[:] = per_code
    return table[codes]


def _recode(codes: np.ndarray, values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Codes into `values` (one per old code) re-coded so that equal values share a code (first seen first)."""
    index: dict[Any, int] = {}
    remap = np.array([index.setdefault(v, len(index)) for v in values], dtype=np.intp)
    return (remap[codes] if len(remap) else codes), list(index)


def _combined(*codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One code per distinct combination of several code columns (first seen first), and each combination's
    first row."""
    out = np.zeros(len(codes[0]), dtype=np.int64)
    for column in codes:  # re-factorised after each column, so the combined code stays below rows**2
        out, _ = pd.factorize(out * (int(column.max()) + 1 if len(column) else 1) + column)
    first = np.full(int(out.max()) + 1 if len(out) else 0, len(out), dtype=np.intp)
    np.minimum.at(first, out, np.arange(len(out)))
    return out, first


def _issues(items: list[dict[str, Any]]) -> pd.DataFrame:
    if not items:
        return empty_row_issues()
    return pd.DataFrame({"source_row": pd.Series([i["source_row"] for i in items], dtype="int64"),
                         **{c: [i[c] for i in items] for c in ("reason", "detail", "raw")}})


@lru_cache(maxsize=65_536)
def _is_address(email: str) -> bool:
    return EMAIL.fullmatch(email.strip()) is not None  # people recur across files: each address matched once


@lru_cache(maxsize=65_536)
def _is_bot(name: str | None, email: str | None) -> bool:
    return is_bot(name, email)


def _day_values(days: list[Any]) -> np.ndarray:
    """`pd.to_datetime(pd.Series(days, dtype=object)).to_numpy()` of a file's distinct event days. Naive Timestamps
    of one unit (the usual file: one day) are that unit's datetime64 values, taken directly: the conversion's own
    inference cost more than the rest of building the event columns."""
    units = {d.unit for d in days if type(d) is pd.Timestamp and d.tz is None}
    if days and len(units) == 1 and all(type(d) is pd.Timestamp and d.tz is None for d in days):
        return np.array([d.to_datetime64() for d in days], dtype=f"datetime64[{units.pop()}]")
    return pd.to_datetime(pd.Series(days, dtype=object)).to_numpy()


@lru_cache(maxsize=4_096)
def _event_id(event_name: str, day: pd.Timestamp) -> str:
    return make_event_id(event_name, day)


def _fold(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """`_fold_columns` as a frame."""
    folded = _fold_columns(columns)
    return folded if isinstance(folded, pd.DataFrame) else pd.DataFrame(folded)


def _fold_columns(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray] | pd.DataFrame:
    """One record per (event, attendee): minutes/questions/polls summed, flags OR-ed, strongest role; email, name
    and company the first non-empty value (pandas' "first" skips nulls); in source-row order of each group's
    first row. Arrays in, the canonical columns' arrays out (a frame when pandas' groupby decided; the validation
    builds the one frame): sorted and reduced with numpy, as building and grouping frames here was most of
    folding a file's records."""
    if not len(columns["source_row"]):
        return pd.DataFrame(columns=list(CANONICAL_COLUMNS))
    order = np.argsort(columns["source_row"], kind="stable")
    columns = {c: v[order] for c, v in columns.items()}
    event_codes, _ = pd.factorize(columns["event_id"])
    key_codes, _ = pd.factorize(columns["attendee_key"])
    if (event_codes < 0).any() or (key_codes < 0).any():  # groupby drops rows with a missing key
        return _fold_grouped(pd.DataFrame(columns))
    group, first = _combined(event_codes, key_codes)
    if len(first) == len(group):
        # Nothing to fold (one row per person and event, as in most exports): every aggregate of one row is
        # that row's value.
        for column in ("attendee_email", "attendee_name", "company"):
            columns[column] = np.where(pd.notna(columns[column]), columns[column].astype(object), None)
        return {c: columns[c] for c in CANONICAL_COLUMNS}
    folded = _fold_sorted(columns, group)
    return folded if folded is not None else _fold_grouped(pd.DataFrame(columns))


# How `_fold` combines each canonical column's values within one (event, attendee) group.
_FIRST = ("event_name", "event_type", "event_date", "platform", "attendee_email", "attendee_name", "company",
          "source_file")
_ANY = ("registered", "attended", "feedback_submitted")
_SUM = ("minutes_attended", "questions_asked", "polls_answered", "rows_folded")


def _fold_sorted(columns: dict[str, np.ndarray], group: np.ndarray) -> dict[str, np.ndarray] | None:
    """`_fold_grouped` as one stable sort by group and one numpy reduction per column (columns: in source-row
    order; group: each row's group, numbered in order of first appearance); None when a value is one this does
    not reproduce exactly (a non-numeric count, a null date): then the groupby decides."""
    order = np.argsort(group, kind="stable")  # each group's rows together, in source-row order
    grouped = group[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    out: dict[str, Any] = {"event_id": columns["event_id"][order][starts],
                           "attendee_key": columns["attendee_key"][order][starts]}
    positions = np.arange(len(order))
    for column in _FIRST:  # pandas' "first": the first value that is not null, None when all are
        values = columns[column][order]
        present = pd.notna(values)
        if present.all():
            out[column] = values[starts]
            continue
        if values.dtype != object:
            return None
        first = np.minimum.reduceat(np.where(present, positions, len(values)), starts)
        out[column] = np.append(values, None)[first]
    for column in _ANY:
        values = columns[column]
        if values.dtype != bool:
            return None
        out[column] = np.logical_or.reduceat(values[order], starts)
    for column in _SUM:
        values = columns[column]
        if values.dtype.kind == "f":
            if not (np.isfinite(values).all() and (values == np.round(values)).all()
                    and np.abs(values).sum() < 2.0**52):
                # Whole numbers sum exactly in any order; others keep pandas' own (compensated) summation.
                out[column] = pd.Series(values).groupby(group, sort=True).sum().to_numpy()
                continue
        elif values.dtype.kind not in "iu":
            return None
        out[column] = np.add.reduceat(values[order], starts)
    role_codes, roles = pd.factorize(columns["role"])  # a handful of roles: ranked once each
    rank_of = np.array([ROLE_RANK.get(r, -1) if isinstance(r, str) else -1 for r in roles] + [-1], dtype=np.int64)
    ranks = rank_of[role_codes]  # a missing role (code -1) takes the appended -1
    sources = columns["source_row"]
    if (ranks < 0).any() or sources.dtype.kind not in "iu":
        return None
    rank_to_role = np.array(sorted(ROLE_RANK, key=ROLE_RANK.__getitem__), dtype=object)
    out["role"] = rank_to_role[np.maximum.reduceat(ranks[order], starts)]
    out["source_row"] = np.minimum.reduceat(sources[order], starts)
    return {c: out[c] for c in CANONICAL_COLUMNS}


def _fold_grouped(frame: pd.DataFrame) -> pd.DataFrame:
    """`_fold` with pandas' groupby (frame: the records sorted by source row, with duplicates to fold)."""
    frame = frame.assign(role_rank=frame["role"].map(ROLE_RANK))
    grouped = frame.groupby(["event_id", "attendee_key"], sort=False)
    folded = grouped.agg(
        event_name=("event_name", "first"), event_type=("event_type", "first"), event_date=("event_date", "first"),
        platform=("platform", "first"), attendee_email=("attendee_email", "first"),
        attendee_name=("attendee_name", "first"), company=("company", "first"), registered=("registered", "any"),
        attended=("attended", "any"), minutes_attended=("minutes_attended", "sum"),
        questions_asked=("questions_asked", "sum"), polls_answered=("polls_answered", "sum"),
        feedback_submitted=("feedback_submitted", "any"), role_rank=("role_rank", "max"),
        source_file=("source_file", "first"), source_row=("source_row", "min"), rows_folded=("rows_folded", "sum"),
    ).reset_index()
    rank_to_role = {rank: role for role, rank in ROLE_RANK.items()}
    folded["role"] = folded.pop("role_rank").map(rank_to_role)
    for column in ("attendee_email", "attendee_name", "company"):
        folded[column] = folded[column].astype(object).where(folded[column].notna(), None)
    return folded[list(CANONICAL_COLUMNS)].reset_index(drop=True)
