"""Cell helpers (dates, minutes, flags, bots) and the overrides file."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from engagement_pipeline.ingest.common import is_bot, norm_header, parse_datetime, parse_flag, parse_minutes
from engagement_pipeline.ingest.overrides import EventOverride, load_overrides, merged_override


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mar 28, 2020 08:07:27", datetime(2020, 3, 28, 8, 7, 27)),
        ("Mar 28, 2020 8:07 AM", datetime(2020, 3, 28, 8, 7)),
        ("Mar 28, 2020 2:20 PM", datetime(2020, 3, 28, 14, 20)),
        ("09/01/2020 09:03:16 AM", datetime(2020, 9, 1, 9, 3, 16)),
        ("11/29/24 22:28", datetime(2024, 11, 29, 22, 28)),
        ("2025-08-08T00:16:45.813Z", datetime(2025, 8, 8, 0, 16, 45, 813000)),
        ("2025-08-08T02:16:45+02:00", datetime(2025, 8, 8, 0, 16, 45)),
        ("2017-05-02 10:00:00", datetime(2017, 5, 2, 10)),
        ("2020/12/8 8:35", datetime(2020, 12, 8, 8, 35)),
        ("2024-12-05", datetime(2024, 12, 5)),
        ("May 16, 2012 10:58 AM EDT", datetime(2012, 5, 16, 10, 58)),
        ("4/17/23, 7:29:57 PM", datetime(2023, 4, 17, 19, 29, 57)),
    ],
)
def test_parse_datetime_formats(text: str, expected: datetime) -> None:
    assert parse_datetime(text) == expected


@pytest.mark.parametrize("text", ["", "--", "NA"])
def test_parse_datetime_missing(text: str) -> None:
    assert parse_datetime(text) is None


def test_parse_datetime_garbage() -> None:
    with pytest.raises(ValueError, match="unrecognised date"):
        parse_datetime("next Tuesday")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("38", 38.0), (" 548", 548.0), ("10.5", 10.5), ("--", 0.0), ("", 0.0), ("1h 2m 30s", 62.5), ("0:40:00", 40.0),
     ("59s", pytest.approx(59 / 60))],
)
def test_parse_minutes(text: str, expected: float) -> None:
    assert parse_minutes(text) == expected


@pytest.mark.parametrize("text", ["-5", "ten", "nan"])
def test_parse_minutes_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_minutes(text)


def test_flags_headers_and_bots() -> None:
    assert [parse_flag(v) for v in ("Yes", "no", "TRUE", "", "--")] == [True, False, True, None, None]
    assert norm_header("  Time in  Session (Minutes) ") == "time in session (minutes)"
    assert norm_header("所要時間（分）") == "所要時間(分)"
    assert is_bot("read.ai meeting notes", None)
    assert is_bot("Ana's Notetaker", None)
    assert is_bot("AI Companion", None)
    assert is_bot("Fred", "fred@fireflies.ai")
    assert is_bot("Otter.ai", "")
    assert not is_bot("Otto Meyer", "otto@customer.com")
    assert not is_bot("Gong Li", "gong@customer.com")


def test_load_overrides(tmp_path: Path) -> None:
    assert load_overrides(tmp_path / "missing.csv") == []
    path = tmp_path / "overrides.csv"
    path.write_text("file,event_name,event_type,event_date\n"
                    "Attendees-*.csv,Partner Day,conference,2025-06-01\n"
                    "\n"
                    "*.xlsx,,training,\n", encoding="utf-8")
    assert load_overrides(path) == [
        EventOverride("Attendees-*.csv", "Partner Day", "conference", date(2025, 6, 1)),
        EventOverride("*.xlsx", None, "training", None),
    ]
    merged = merged_override(load_overrides(path), "attendees-99.csv")
    assert merged is not None and merged.event_name == "Partner Day"
    assert merged_override(load_overrides(path), "other.csv") is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (",Name,webinar,2025-01-01", "'file' column is empty"),
        ("x.csv,Name,party,2025-01-01", "event_type 'party'"),
        ("x.csv,Name,webinar,01/02/2025", "YYYY-MM-DD"),
        ("x.csv,,,", "at least one"),
    ],
)
def test_load_overrides_bad_rows(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "overrides.csv"
    path.write_text(f"file,event_name,event_type,event_date\n{line}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_overrides(path)
