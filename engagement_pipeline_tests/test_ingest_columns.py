"""The column-wise parsing helpers: each distinct cell parsed once, the same values and errors as cell by cell,
and the collector's ledger in source-row order whatever order the masks are applied in."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from engagement_pipeline.ingest.collector import Collector
from engagement_pipeline.ingest.common import (
    Section,
    either,
    engagement_columns,
    first_error,
    parse_cells,
    parse_dates,
    parse_minutes,
)


class _AnyRows(pa.DataFrameModel):
    """Any email and name: the test is about the ledger, not the platform model."""

    email: Series[str]
    name: Series[str]

    class Config:
        strict = False


def test_parse_cells_gives_each_rows_value_and_error_as_the_cell_parser_does() -> None:
    cells = pd.Series(["38", "1h 2m", "38", "--", "soon"], index=[4, 5, 6, 7, 8], dtype=object)
    values, errors = parse_cells(cells, parse_minutes)
    assert values.tolist() == [38.0, 62.0, 38.0, 0.0, None]
    assert errors.tolist()[:4] == [None] * 4
    assert errors[8] == "minutes must be a non-negative number, got 'soon'"
    assert list(values.index) == [4, 5, 6, 7, 8]


def test_parse_dates_keeps_python_datetimes_and_none_for_blanks() -> None:
    dates, errors = parse_dates(pd.Series(["Mar 28, 2020 8:07 AM", "", "2020-13-45"], dtype=object))
    assert dates.tolist() == [datetime(2020, 3, 28, 8, 7), None, None]
    assert errors.tolist() == [None, None, "unrecognised date '2020-13-45'"]


def test_engagement_columns_report_the_first_bad_count_and_default_absent_columns() -> None:
    rows = pd.DataFrame({"questions": ["2", "abc", ""], "polls": ["-1", "1", ""]}, dtype=object)
    questions, polls, feedback, error = engagement_columns(rows)
    assert questions.tolist() == [2, None, 0]
    assert polls.tolist() == [None, 1, 0]
    assert feedback.tolist() == [False, False, False]
    assert error.tolist() == ["count must be a whole number from 0 to 1000000, got '-1'",
                              "could not convert string to float: 'abc'", None]
    assert first_error(pd.Series([None, "a"]), pd.Series(["b", "c"])).tolist() == ["b", "a"]
    assert either(pd.Series(["Ana", None], dtype=object), pd.Series(["x", "y"], dtype=object)).tolist() == ["Ana", "y"]


def test_rows_excluded_and_quarantined_by_masks_are_listed_in_source_row_order_with_their_raw_cells() -> None:
    sec = Section(["email", "name"], ["Email", "Name"],
                  [(2, ["ana@acme.io", "Ana"]), (3, ["bot@otter.ai", "Otter.ai"]), (4, ["ana@acme.io", "Ana"]),
                   (5, ["", ""]), (6, ["not-an-address", "Bo"])])
    col = Collector(platform="hopin", source_file="f.csv")
    rows = col.frame(sec, {"email": 0, "name": 1}, _AnyRows)
    col.keep_frame(pd.DataFrame({"email": rows["email"].where(rows["email"] != "", None),
                                 "name": rows["name"].where(rows["name"] != "", None),
                                 "event_name": "Launch", "event_date": datetime(2026, 3, 1)}, index=rows.index))
    upload = col.finish([])
    assert upload.ledger["rows_read"] == 5 and upload.ledger["balanced"]
    assert upload.excluded[["source_row", "reason"]].values.tolist() == [[3, "bot"], [4, "duplicate"]]
    assert upload.quarantined[["source_row", "reason"]].values.tolist() == [[5, "no_identity"], [6, "bad_email"]]
    assert upload.quarantined["raw"].iloc[1] == {"Email": "not-an-address", "Name": "Bo"}
    assert upload.records["attendee_key"].tolist() == ["ana@acme.io"]
