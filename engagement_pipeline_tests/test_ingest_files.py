"""Whole-file handling: encodings, delimiters, containers, and the rejections a CSM reads."""

from __future__ import annotations

import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from engagement_pipeline.ingest.parse import detect_platform, parse_export
from engagement_pipeline.ingest.reader import read_table
from engagement_pipeline.ingest.result import RejectedFile

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
HOPIN_TEXT = (EXPORTS / "hopin.csv").read_text(encoding="utf-8")


def test_bom_fixture_is_read_as_utf8_sig_with_clean_first_header() -> None:
    table = read_table(EXPORTS / "zoom_webinar_2025.csv")
    assert table.encoding == "utf-8-sig"
    assert table.rows[0] == ["Attendee Report"]  # BOM gone and right padding stripped


def test_utf16_tab_separated_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    text = HOPIN_TEXT.replace(",", "\t").replace("Vera Wu", "Véra Wu")
    path.write_bytes(b"\xff\xfe" + text.encode("utf-16-le"))
    table = read_table(path)
    assert (table.encoding, table.delimiter) == ("utf-16-le", "\t")
    parsed = parse_export(path)
    assert parsed.records["attendee_name"].iloc[0] == "Véra Wu"
    assert parsed.rows_kept == 3


def test_cp1252_semicolon_file(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(HOPIN_TEXT.replace(",", ";").replace("Vera Wu", "Véra Wu").encode("cp1252"))
    parsed = parse_export(path)
    assert parsed.records["attendee_name"].iloc[0] == "Véra Wu"
    assert "read as cp1252" in parsed.notes


def test_quoted_fields_with_newlines_and_commas(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    lines = HOPIN_TEXT.splitlines()
    lines[1] = lines[1].replace("Customer V", '"Customer V, Inc.\nEMEA"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed = parse_export(path)
    assert parsed.records["company"].iloc[0] == "Customer V, Inc.\nEMEA"
    assert parsed.records["source_row"].tolist() == [2, 3, 4]


def test_header_case_and_whitespace_variants(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    lines = HOPIN_TEXT.splitlines()
    lines[0] = ",".join(f"  {h.upper()}  " for h in lines[0].split(","))
    path.write_text("\n".join(lines), encoding="utf-8")
    parsed = parse_export(path)
    assert parsed.platform == "hopin"
    assert parsed.records["minutes_attended"].tolist() == [52.0, 30.0, 0.0]


def test_fullwidth_japanese_zoom_headers(tmp_path: Path) -> None:
    path = tmp_path / "participants.csv"
    path.write_text("名前 (元の名前),ユーザーメール,参加時刻,退出時刻,所要時間（分）\n"
                    "太郎1,taro1@example.jp,2020/12/8 8:35,2020/12/8 12:39,245\n", encoding="utf-8")
    assert detect_platform(path) == "zoom_meeting"
    with pytest.raises(RejectedFile, match=r"overrides\.csv"):  # no topic/date in this layout
        parse_export(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"  \r\n\r\n", "is empty"),
        (b"Name,First name,Last name,Email,Headline,Ticket type,Registered at\n", "no data rows"),
        (b"Foo,Bar,Baz\n1,2,3\n", "not a recognised attendance export"),
    ],
)
def test_rejected_files(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    with pytest.raises(RejectedFile, match=message):
        parse_export(path)


def test_unknown_format_message_lists_platforms_and_found_headers(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    path.write_text("Foo,Bar,Baz\n1,2,3\n", encoding="utf-8")
    with pytest.raises(RejectedFile) as caught:
        detect_platform(path)
    text = caught.value.explanation()
    for label in ("Zoom webinar", "Zoom meeting", "Eventbrite", "Hopin", "Webinar ID", "Name (Original Name)",
                  "Foo, Bar, Baz"):
        assert label in text


def test_fake_xlsx_and_oversize_and_zip_bomb(tmp_path: Path) -> None:
    fake = tmp_path / "report.xlsx"
    fake.write_text("Topic,Webinar ID\n", encoding="utf-8")
    with pytest.raises(RejectedFile, match="not an Excel workbook"):
        parse_export(fake)
    with pytest.raises(RejectedFile, match="too large"):
        parse_export(EXPORTS / "hopin.csv", max_bytes=100)
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (20 * 1024 * 1024))
    with pytest.raises(RejectedFile, match="zip bomb"):
        parse_export(bomb)
    not_office = tmp_path / "data.xlsx"
    with zipfile.ZipFile(not_office, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(RejectedFile, match="not an Excel workbook"):
        parse_export(not_office)


def test_wrong_columns_in_a_recognised_export(tmp_path: Path) -> None:
    path = tmp_path / "upload.csv"
    path.write_text("Attendee Report\nTopic,Webinar ID,Actual Start Time\nX,1,2025-01-01 10:00:00\n"
                    "Attendee Details\nAttended,Phone\nYes,123\n", encoding="utf-8")
    with pytest.raises(RejectedFile, match="missing required columns") as caught:
        parse_export(path)
    assert "'email'" in caught.value.expected and "Attended, Phone" in caught.value.found


def test_lone_cells_are_the_rows_with_one_non_blank_cell_and_a_replaced_table_finds_its_own(tmp_path: Path) -> None:
    path = tmp_path / "sections.csv"
    path.write_text("1. Summary\nMeeting title,Weekly sync\n,  2. Participants ,\nName,Email\nAda,\n , \n",
                    encoding="utf-8")
    table = read_table(path)
    assert table.lone_cells() == [(0, 0, "1. Summary"), (2, 1, "2. Participants"), (4, 0, "Ada")]
    assert table.lone_cells() is table.lone_cells()  # found once per table
    other = replace(table, rows=[["a", "b"], ["", "Section"]])
    assert other.lone_cells() == [(1, 1, "Section")]
