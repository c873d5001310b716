"""validate_frame: the same coerced frame as pandera's CanonicalAttendance.validate on valid records, and
pandera's own SchemaError on every kind of invalid one (it never lets a row through that pandera rejects)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

from engagement_pipeline.ingest import collector as collector_module
from engagement_pipeline.ingest import schema_check
from engagement_pipeline.ingest.canonical import CanonicalAttendance
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import RejectedFile
from engagement_pipeline.ingest.schema_check import _schema, rows_pass, validate_frame

SCHEMA_ERRORS = (pa.errors.SchemaError, pa.errors.SchemaErrors)  # one failure; or several (coercion, columns)
EXPORTS = Path(__file__).parent / "fixtures" / "exports"


def _records() -> pd.DataFrame:
    """Two canonical records as the collector builds them (object columns, None for blanks, µs dates)."""
    return pd.DataFrame({
        "event_id": ["2026-03-01-launch", "2026-03-01-launch"], "event_name": ["Launch", "Launch"],
        "event_type": ["webinar", "webinar"], "event_date": pd.to_datetime([datetime(2026, 3, 1)] * 2),
        "platform": ["zoom_webinar", "zoom_webinar"], "attendee_key": ["ana@acme.io", "name:bo"],
        "attendee_email": ["ana@acme.io", None], "attendee_name": ["Ana", "Bo"], "company": [None, "Acme"],
        "registered": [True, True], "attended": [True, False], "minutes_attended": [12.5, 0.0],
        "questions_asked": [1, 0], "polls_answered": [0, 0], "feedback_submitted": [False, True],
        "role": ["attendee", "attendee"], "source_file": ["f.csv", "f.csv"], "source_row": [2, 3],
        "rows_folded": [1, 2],
    }).astype({c: object for c in ("event_name", "attendee_email", "attendee_name", "company", "role")})


def test_the_canonical_model_is_one_the_fast_path_reproduces() -> None:
    assert _schema(CanonicalAttendance) is not None  # else every file silently takes pandera's slow path


def test_valid_records_come_out_exactly_as_pandera_coerces_them() -> None:
    records = _records()
    fast = validate_frame(CanonicalAttendance, records)
    pd.testing.assert_frame_equal(fast, CanonicalAttendance.validate(records), check_exact=True)
    assert fast["attendee_email"].isna().tolist() == [False, True] and fast["event_date"].dtype == "datetime64[ns]"


def test_records_given_as_arrays_come_out_as_pandera_coerces_them_holding_none_of_the_arrays() -> None:
    """The frame of column arrays is built without pandas' copy of every column; the caller's own arrays are
    still copied (a lone float column would otherwise be the caller's array)."""
    arrays = {c: v.to_numpy() for c, v in _records().items()}
    fast = validate_frame(CanonicalAttendance, arrays)
    pd.testing.assert_frame_equal(fast, CanonicalAttendance.validate(pd.DataFrame(arrays)), check_exact=True)
    for name, values in arrays.items():
        assert not np.shares_memory(fast[name].to_numpy(), values), name


@pytest.mark.parametrize("change", [
    {"event_id": ["bad id", "2026-03-01-launch"]},  # str_matches
    {"event_name": ["", "Launch"]},  # str_length
    {"event_type": ["party", "webinar"]},  # isin
    {"platform": ["myspace", "zoom_webinar"]},
    {"attendee_key": ["ab", "name:bo"]},
    {"attendee_email": ["not-an-address", None]},  # nullable, but a present value must match
    {"minutes_attended": [-1.0, 0.0]},  # ge
    {"questions_asked": [-2, 0]},
    {"source_row": [0, 3]},
    {"rows_folded": [1, 0]},
    {"role": ["guest", "attendee"]},
    {"event_name": [None, "Launch"]},  # not nullable
    {"attendee_key": ["ana@acme.io", "ana@acme.io"]},  # one row per event and attendee
    {"minutes_attended": [12.5, 3.0]},  # minutes for someone who did not attend
    {"questions_asked": ["many", 0]},  # cannot be coerced
])
def test_an_invalid_record_gets_panderas_own_error(change: dict[str, list[object]]) -> None:
    records = _records().assign(**change)
    with pytest.raises(SCHEMA_ERRORS) as fast:
        validate_frame(CanonicalAttendance, records)
    with pytest.raises(SCHEMA_ERRORS) as slow:
        CanonicalAttendance.validate(records)
    assert type(fast.value) is type(slow.value) and str(fast.value) == str(slow.value)


def test_a_missing_or_extra_column_gets_panderas_own_error() -> None:
    for records in (_records().drop(columns=["company"]), _records().assign(extra=1)):
        with pytest.raises(SCHEMA_ERRORS):
            validate_frame(CanonicalAttendance, records)


def test_every_fixture_export_parses_to_the_records_pandera_would_give(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[pd.DataFrame, pd.DataFrame]] = []

    def spy(model: type[pa.DataFrameModel], frame: pd.DataFrame | dict[str, np.ndarray]) -> pd.DataFrame:
        out = validate_frame(model, frame)
        seen.append((out, model.validate(frame if isinstance(frame, pd.DataFrame) else pd.DataFrame(frame))))
        return out

    monkeypatch.setattr(collector_module, "validate_frame", spy)
    for path in sorted(EXPORTS.iterdir()):
        try:
            parse_export(path, mappings=[])
        except RejectedFile:
            continue  # waiting for event details: nothing to validate
    assert len(seen) >= 10
    for fast, slow in seen:
        pd.testing.assert_frame_equal(fast, slow, check_exact=True)


class _Rows(pa.DataFrameModel):
    """A platform row model using the three checks the collector's pre-check reproduces."""

    flag: pa.typing.Series[str] = pa.Field(str_matches=r"(?i)^(yes|no|)$")
    name: pa.typing.Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 5})
    kind: pa.typing.Series[str] = pa.Field(isin=["a", "b"])

    class Config:
        strict = False


@pytest.mark.parametrize(("column", "value"), [("flag", "maybe"), ("name", ""), ("name", "toolong"),
                                               ("kind", "c"), ("kind", None)])
def test_the_row_pre_check_passes_only_frames_pandera_passes(column: str, value: object) -> None:
    good = pd.DataFrame({"flag": ["Yes", ""], "name": ["ann", "bo"], "kind": ["a", "b"]}, dtype=object)
    assert rows_pass(_Rows, good)
    _Rows.validate(good)
    bad = good.copy()
    bad.loc[1, column] = value
    assert not rows_pass(_Rows, bad)  # pandera then decides, and it rejects the row
    with pytest.raises(SCHEMA_ERRORS):
        _Rows.validate(bad)


_TEXTS = ["", "Yes", "no", "yes\n", " a@b.io", "a@b.io", "ÄÖ@ß.de", "x" * 300, "2026-03-01-launch", "webinar",
          "zoom_webinar", "name:bo", "ab"]


@pytest.mark.parametrize("check", [
    pa.Check.str_matches(r"(?i)^(yes|no|)$"), pa.Check.str_matches(r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
    pa.Check.str_matches(r"^\d{4}-\d{2}-\d{2}-[a-z0-9-]+$"), pa.Check.str_length(min_value=3),
    pa.Check.str_length(min_value=1, max_value=5), pa.Check.str_length(exact_value=2),
    pa.Check.isin(["webinar", "zoom_webinar", "Yes"]),
], ids=lambda c: f"{c.name}{c.statistics}")
def test_a_text_check_on_distinct_cells_is_the_per_cell_check(check: pa.Check) -> None:
    test = schema_check._text_test(check)
    assert test is not None
    for size in range(1, len(_TEXTS) + 1):
        for start in range(len(_TEXTS) - size + 1):
            cells = pd.Series(_TEXTS[start:start + size] * 2, dtype="str")
            per_cell = bool(schema_check._COLUMN_CHECKS[check.name](cells, check.statistics).all())
            assert test(set(cells)) == per_cell, cells.tolist()


@pytest.mark.parametrize("texts", [
    {"ana@acme.io", ""}, {"ana@acme.io", "bo@acme"}, {"ana@acme.io\n"}, {"ana@acme.io\n\n"}, {" ana@acme.io"},
    {"ana@acme.io", "ana@@acme.io"}, {"İ@x.y", "ß@ü.de"},
])
def test_models_checking_one_pattern_share_what_it_matched_with_the_same_verdicts(texts: set[str]) -> None:
    """Two models' `str_matches` checks of one pattern share one test (what one matched is not matched again for
    the other); its verdict on any texts, before or after either model saw them, is `re.match` of each."""
    pattern = r"^([^@\s]+@[^@\s]+\.[^@\s]+|)$"
    first = schema_check._text_test(pa.Check.str_matches(pattern))
    second = schema_check._text_test(pa.Check.str_matches(pattern))
    assert first is second
    expected = all(re.match(pattern, text) for text in texts)
    assert first(set(texts)) == expected and second(set(texts)) == expected
    assert second({"someone.else@acme.io", *texts}) == expected
