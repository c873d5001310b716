"""Issue 10, points 2-5: damaged files lose exactly their damaged lines, encodings are decoded per line, limits
reject with a reason whatever the process parsed before, and nothing depends on the file system's name limit."""

from __future__ import annotations

import csv
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook

from engagement_pipeline.inbox import FolderInbox, ready_files
from engagement_pipeline.inbox.files import MAX_NAME_BYTES, FileStillChanging, fit_name, stable_copy
from engagement_pipeline.ingest.attendance import choose_exports
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.reader import ReadLimits, read_table
from engagement_pipeline.ingest.result import RejectedFile

HEADER = [
    "Attendee Report,",
    'Report Generated:,"Apr 09, 2026 8:50 PM"',
    "Topic,Webinar ID,Actual Start Time,Actual Duration (minutes),# Registered,Unique Viewers",
    'Data Deep Dive,328-972-509,"Mar 28, 2026 8:07 AM",60,20,15',
    "Host Details,",
    "Attended,User Name,Email,Join Time,Leave Time,Time in Session (minutes),Country/Region Name",
    'Yes,Hana Host,host@events.io,"Mar 28, 2026 08:07:27","Mar 28, 2026 09:07:27",60,Norway',
    "Attendee Details,",
    "Attended,First Name,Last Name,Email,Join Time,Leave Time,Time in Session (minutes),Country/Region Name",
]


def webinar_lines(attended: int = 10, no_shows: int = 5, first: str = "First") -> list[str]:
    """A Zoom webinar Attendee Report: one host, `attended` attendees, then `no_shows` registrants who never came."""
    rows = [f'Yes,{first}{i},Last{i},p{i}@acme.com,"Mar 28, 2026 08:10:00","Mar 28, 2026 09:00:00",{30 + i},Norway'
            for i in range(attended)]
    rows += [f"No,Absent{i},Person{i},n{i}@acme.com,--,--,--,--" for i in range(no_shows)]
    return HEADER + rows


def write(path: Path, lines: list[str], *, end: str = "\r\n") -> Path:
    path.write_text("\r\n".join(lines) + end, encoding="utf-8", newline="")
    return path


def quarantined(parsed) -> list[tuple[int, str]]:
    return [(int(r.source_row), r.reason) for r in parsed.quarantined.itertuples()]


# ---------------------------------------------------------------- structural integrity (point 2)

def test_an_open_quote_in_row_11_of_50_costs_one_line_not_40(tmp_path: Path) -> None:
    lines = webinar_lines(attended=41, no_shows=0)  # 9 header lines + 41 rows = 50 physical lines
    lines[10] = 'Yes,First1,Last1,"p1@acme.com,"Mar 28, 2026 08:10:00","Mar 28, 2026 09:00:00",31,Norway'
    assert len(lines) == 50
    parsed = parse_export(write(tmp_path / "webinar.csv", lines))
    ledger = parsed.ledger
    assert quarantined(parsed) == [(11, "malformed_quoting")]
    assert (ledger["rows_read"], ledger["records"], ledger["rows_quarantined"]) == (42, 40, 1)  # 41 + host
    assert (ledger["lines_read"], ledger["lines_in_records"], ledger["lines_damaged"]) == (50, 49, 1)
    assert ledger["balanced"]


def test_a_quote_that_never_closes_quarantines_its_line_and_the_rows_after_it_are_read(tmp_path: Path) -> None:
    lines = webinar_lines(attended=41, no_shows=0)
    lines[10] = 'Yes,First1,Last1,p1@acme.com,"Mar 28, 2026 08:10:00,"Mar 28, 2026 09:00:00",31,Norway"x'
    lines[-1] = lines[-1] + ',"open to the end'
    parsed = parse_export(write(tmp_path / "webinar.csv", lines))
    assert [r for r in quarantined(parsed) if r[1] in ("unterminated_quote", "malformed_quoting")] == [
        (11, "malformed_quoting"), (50, "unterminated_quote")]
    assert len(parsed.records) == 39 and parsed.ledger["balanced"]


@pytest.mark.parametrize("cut", ['Yes,First9,Last9,p9@acme.com,"Mar 28, 20', "Yes,First9,Last9,p9@ac"],
                         ids=["open-quote", "mid-cell"])
def test_a_report_cut_off_mid_row_never_reads_the_half_row_as_attended(tmp_path: Path, cut: str) -> None:
    lines = [*webinar_lines(attended=9, no_shows=0)[:-1], cut]  # the download stopped inside the 9th row
    parsed = parse_export(write(tmp_path / "cut.csv", lines, end=""))
    assert len(parsed.records) == 8
    assert "p9@acme.com" not in set(parsed.records["attendee_email"])
    assert quarantined(parsed)[-1][0] == 18
    assert quarantined(parsed)[-1][1] in ("unterminated_quote", "truncated_record")
    assert parsed.ledger["lines_damaged"] == 1 and parsed.ledger["balanced"]


def test_a_quoted_cell_with_line_breaks_is_one_record_over_several_lines(tmp_path: Path) -> None:
    lines = webinar_lines(attended=3, no_shows=0)
    lines[-1] = lines[-1].replace("Norway", '"Nor\r\nway"')
    parsed = parse_export(write(tmp_path / "multi.csv", lines))
    assert len(parsed.records) == 3 and parsed.quarantined.empty
    assert (parsed.ledger["lines_read"], parsed.ledger["lines_in_records"]) == (13, 13)


def test_a_truncated_re_export_never_replaces_the_complete_one(tmp_path: Path) -> None:
    complete = parse_export(write(tmp_path / "complete.csv", webinar_lines(10, 5)))
    cut = [*webinar_lines(10, 5)[:17], 'Yes,First8,Last8,p8@acme.com,"Mar 28, 20']
    truncated = parse_export(write(tmp_path / "complete (1).csv", cut, end=""))
    assert (len(complete.records), int((~complete.records["attended"]).sum())) == (15, 5)
    assert (len(truncated.records), int((~truncated.records["attended"]).sum())) == (8, 0)

    records = pd.concat([complete.records.assign(upload_id=1), truncated.records.assign(upload_id=2)])
    uploads = pd.DataFrame({"upload_id": [1, 2], "damaged_lines": [0, truncated.damaged_lines],
                            "shrink_confirmed": [False, False]})
    kept, decisions = choose_exports(records, uploads)
    assert (len(kept), int((~kept["attended"]).sum())) == (15, 5)
    assert decisions.set_index("upload_id")["decision"].to_dict() == {1: "in_use", 2: "ignored"}
    assert "damaged export (1 damaged lines)" in decisions.set_index("upload_id").loc[2, "reason"]


@pytest.mark.parametrize(("later", "confirmed", "expected"), [
    (14, False, {1: "superseded", 2: "in_use"}),   # 7% fewer: a normal re-export replaces the earlier one
    (8, False, {1: "in_use", 2: "held"}),          # 47% fewer: held until a person confirms it
    (8, True, {1: "superseded", 2: "in_use"}),
    (20, False, {1: "superseded", 2: "in_use"}),   # a fuller export always replaces
])
def test_a_sound_re_export_that_shrinks_by_more_than_20_percent_is_held(
    later: int, confirmed: bool, expected: dict[int, str]
) -> None:
    def records(upload_id: int, count: int) -> pd.DataFrame:
        return pd.DataFrame({"upload_id": upload_id, "event_id": "2026-03-28-deep-dive", "platform": "zoom_webinar",
                             "attendee_key": [f"p{i}@acme.com" for i in range(count)]})

    uploads = pd.DataFrame({"upload_id": [1, 2], "damaged_lines": [0, 0], "shrink_confirmed": [False, confirmed]})
    kept, decisions = choose_exports(pd.concat([records(1, 15), records(2, later)]), uploads)
    assert decisions.set_index("upload_id")["decision"].to_dict() == expected
    winner = next(u for u, d in expected.items() if d == "in_use")
    assert set(kept["upload_id"]) == {winner}
    if expected[2] == "held":
        assert "confirm-export 2" in decisions.set_index("upload_id").loc[2, "reason"]


# ---------------------------------------------------------------- encodings (point 4)

def test_one_cp1252_byte_in_a_utf8_file_costs_its_row_not_the_files_accents(tmp_path: Path) -> None:
    lines = webinar_lines(attended=4, no_shows=0, first="José Müller ")
    data = ("\r\n".join(lines) + "\r\n").encode("utf-8")
    data = data.replace(b"Last2", b"Lastn\xe9")  # one Windows-1252 byte in row 12
    path = tmp_path / "mixed.csv"
    path.write_bytes(data)
    parsed = parse_export(path)
    assert set(parsed.records["attendee_name"]) == {"José Müller 0 Last0", "José Müller 1 Last1",
                                                    "José Müller 3 Last3"}
    assert quarantined(parsed) == [(12, "bad_bytes")]
    assert "read as" not in " ".join(parsed.notes)
    assert parsed.ledger["balanced"]


CHARSET_SAMPLES = {
    "cp1250": ["Łukasz Żółkiewski;Politechnika Gdańska", "Małgorzata Wójcik;Szkoła Główna Handlowa",
               "Paweł Kołodziej;Uniwersytet Łódzki", "Zofia Brzęczyszczykiewicz;Żabka Polska"],
    "cp1251": ["Дмитрий Иванов;Газпром", "Ольга Смирнова;Сбербанк", "Алексей Кузнецов;Яндекс"],
    "cp1252": ["Jürgen Größe;Müller & Söhne", "Renée Lefèvre;Société Générale", "José Peña;Telefónica"],
}


@pytest.mark.parametrize("encoding", sorted(CHARSET_SAMPLES))
def test_a_file_without_bom_that_is_not_utf8_is_decoded_in_its_detected_charset(
    tmp_path: Path, encoding: str
) -> None:
    rows = CHARSET_SAMPLES[encoding] * 3
    body = "Name;Company;Email\n" + "".join(f"{row};p{i}@acme.com\n" for i, row in enumerate(rows))
    path = tmp_path / "export.csv"
    path.write_bytes(body.encode(encoding))
    table = read_table(path)
    assert table.encoding == encoding and not table.damaged
    assert [";".join(r[:2]) for r in table.rows[1:]] == rows


# ---------------------------------------------------------------- limits (point 5)

@pytest.mark.parametrize("earlier_limit", [sys.maxsize, 10, 131072])
def test_a_10_mb_cell_is_rejected_the_same_way_whatever_was_parsed_before(tmp_path: Path, earlier_limit: int) -> None:
    path = tmp_path / "big.csv"
    path.write_text("\n".join(webinar_lines(2, 0)) + "\nYes,x,y,z@acme.com,,,1," + "a" * 10_000_000 + "\n")
    csv.field_size_limit(earlier_limit)  # what another module in this process may have done
    with pytest.raises(RejectedFile) as err:
        parse_export(path)
    assert "has a cell that is too long" in err.value.reason
    assert "32767 characters" in err.value.expected
    normal = parse_export(write(tmp_path / "normal.csv", webinar_lines(2, 0)))
    assert len(normal.records) == 2


def test_100k_columns_are_rejected_as_too_many_cells(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(webinar_lines(2, 0)) + "\n" + ",".join("x" * 3 for _ in range(100_000)) + "\n")
    with pytest.raises(RejectedFile) as err:
        parse_export(path)
    assert "has a row with too many cells (line 12)" in err.value.reason
    assert err.value.found == "100000 cells"


def test_row_and_time_limits_reject_while_reading(tmp_path: Path) -> None:
    path = write(tmp_path / "long.csv", webinar_lines(600, 0))
    with pytest.raises(RejectedFile, match="more rows than can be processed"):
        parse_export(path, limits=ReadLimits(max_rows=100))
    with pytest.raises(RejectedFile, match="took too long to read"):
        parse_export(path, limits=ReadLimits(max_seconds=0))


def _workbook(path: Path, rows: list[list[object]]) -> Path:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def test_xlsx_limits_are_checked_row_by_row(tmp_path: Path) -> None:
    rows = [next(csv.reader([line])) for line in webinar_lines(20, 0)]
    assert len(parse_export(_workbook(tmp_path / "ok.xlsx", rows)).records) == 20
    with pytest.raises(RejectedFile, match="more rows than can be processed"):
        parse_export(_workbook(tmp_path / "rows.xlsx", rows), limits=ReadLimits(max_rows=10))
    with pytest.raises(RejectedFile, match="too many cells"):
        parse_export(_workbook(tmp_path / "wide.xlsx", [*rows, ["x"] * 1_200]))
    with pytest.raises(RejectedFile, match="cell that is too long"):  # (openpyxl itself stops at 32,767)
        parse_export(_workbook(tmp_path / "cell.xlsx", [*rows, ["Yes", "a" * 5_000]]),
                     limits=ReadLimits(max_cell_chars=1_000))


def test_a_name_too_long_to_be_a_key_is_quarantined_not_the_file(tmp_path: Path) -> None:
    lines = webinar_lines(3, 0)
    lines[-1] = f"Yes,{'Ü' * 1500},Long,,,,12,Norway"  # no email: the 3,000-byte name would be the key
    parsed = parse_export(write(tmp_path / "long-name.csv", lines))
    assert len(parsed.records) == 2 and quarantined(parsed) == [(12, "value_too_long")]
    assert parsed.ledger["balanced"]


# ---------------------------------------------------------------- file names and files still being written

def test_fit_name_keeps_short_names_and_fits_long_ones_stably() -> None:
    assert fit_name("webinar.csv") == "webinar.csv"
    long = "ü" * 125 + ".csv"  # 254 bytes
    fitted = fit_name(long, reserve=len(".error.txt"))
    assert len(fitted.encode()) <= MAX_NAME_BYTES - 10 and fitted.endswith(".csv")
    assert fitted == fit_name(long, reserve=10) and fitted != fit_name("ü" * 124 + "x.csv", reserve=10)


def test_a_250_byte_file_name_is_archived_and_rejected_with_its_error_file(tmp_path: Path) -> None:
    name = "a" * 246 + ".csv"
    inbox = FolderInbox(tmp_path / "inbox", tmp_path / "archive", tmp_path / "rejected", settle_seconds=0)
    inbox.directory.mkdir()
    (inbox.directory / name).write_text("not,an,export\n1,2,3\n")
    fetched = inbox.fetch(name)
    assert fetched is not None and fetched.local_path.read_text() == "not,an,export\n1,2,3\n"
    error_file = Path(inbox.reject(fetched.local_path, name, "Not an attendance export."))
    assert error_file.is_file() and "Not an attendance export." in error_file.read_text()
    assert len(error_file.name.encode()) <= MAX_NAME_BYTES


@pytest.mark.parametrize("name", ["export.csv.part", "export.csv.crdownload", "export.tmp", "~$export.xlsx",
                                  "export.csv.filepart"])
def test_partial_and_lock_files_are_never_ready(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("Attended,Email\n")
    assert ready_files(tmp_path, settle_seconds=0, now=time.time() + 60) == []


def test_a_file_that_grows_between_the_two_looks_is_not_ready(tmp_path: Path) -> None:
    growing = tmp_path / "webinar.csv"
    write(growing, webinar_lines(3, 0))
    (tmp_path / "done.csv").write_text("ready\n")

    def append() -> None:
        time.sleep(0.05)
        with growing.open("a") as handle:
            handle.write("Yes,Late,Row,late@acme.com,")

    writer = threading.Thread(target=append)
    writer.start()
    names = [f.name for f in ready_files(tmp_path, settle_seconds=0, now=time.time() + 60, recheck_seconds=0.3)]
    writer.join()
    assert names == ["done.csv"]


def test_a_file_written_during_the_archive_copy_is_not_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = write(tmp_path / "webinar.csv", webinar_lines(3, 0))
    import engagement_pipeline.inbox.files as files

    real_copy = files._copy_hashing  # the one pass that copies (and hashes) the live file

    def copy_while_writing(src: Path, dst: Path) -> str:
        sha256 = real_copy(src, dst)
        with Path(src).open("a") as handle:
            handle.write("Yes,Late,Row,late@acme.com,\r\n")
        return sha256

    monkeypatch.setattr(files, "_copy_hashing", copy_while_writing)
    with pytest.raises(FileStillChanging):
        stable_copy(source, tmp_path / "archive", source.name)
    assert not any((tmp_path / "archive").glob("*/webinar.csv"))
