"""Hostile and broken files dropped next to good ones: the good ones are scored, every bad one is rejected with
a readable reason beside it, no accepted upload loses a row, and nothing written back can run in Excel.

The XLSX attacks are hand-written workbooks (a DTD in `sheet1.xml` or `sharedStrings.xml`), because no
spreadsheet program writes one: that is exactly what makes them safe to refuse outright.
"""

from __future__ import annotations

import csv
import io
import shutil
import time
import zipfile
from datetime import date
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import openpyxl.xml
import pandas as pd
import pytest

from engagement_pipeline.config import Settings
from engagement_pipeline.defs.runner import PipelineRun, run_pipeline
from engagement_pipeline.ingest import reader
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import RejectedFile
from engagement_pipeline.report.safe_export import FORMULA_TRIGGERS, neutralise, neutralise_frame

from .conftest import DEMO_ANCHOR

HOSTILE_NAME = "=cmd|' /C calc'!A0"

# ---------------------------------------------------------------- hand-written workbooks

_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    f'{_DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_CT}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_CT}.sharedStrings+xml"/></Types>'
)
PARTS = {
    "_rels/.rels": f'{_DECL}<Relationships xmlns="{_PKG}"><Relationship Id="rId1" '
                   f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
    "xl/workbook.xml": f'{_DECL}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
                       '<sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>',
    "xl/_rels/workbook.xml.rels": f'{_DECL}<Relationships xmlns="{_PKG}">'
                                  f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                                  f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
                                  '</Relationships>',
}
BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
                  + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)) + "]>")
EXTERNAL_ENTITY = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def workbook(rows: list[list[str]], *, sheet_dtd: str = "", strings_dtd: str = "", entity: str = "") -> bytes:
    """A minimal .xlsx, every cell a shared string; `entity` (e.g. `&lol9;`) is referenced from cell A2 in the
    part that carries the DTD."""
    strings: list[str] = []
    body = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{chr(ord('A') + c)}{r}"
            if (r, c) == (2, 0) and entity and sheet_dtd:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{entity}</t></is></c>')
                continue
            strings.append(entity if (r, c) == (2, 0) and entity else escape(value))
            cells.append(f'<c r="{ref}" t="s"><v>{len(strings) - 1}</v></c>')
        body.append(f'<row r="{r}">{"".join(cells)}</row>')
    sheet = f'{_DECL}{sheet_dtd}<worksheet xmlns="{_MAIN}"><sheetData>{"".join(body)}</sheetData></worksheet>'
    shared = (f'{_DECL}{strings_dtd}<sst xmlns="{_MAIN}" count="{len(strings)}" uniqueCount="{len(strings)}">'
              + "".join(f"<si><t>{s}</t></si>" for s in strings) + "</sst>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        for part, xml in PARTS.items():
            archive.writestr(part, xml)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        archive.writestr("xl/sharedStrings.xml", shared)
    return out.getvalue()


def zip_bomb(megabytes: int = 20) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (megabytes * 1024 * 1024))
    return out.getvalue()


HOPIN_ROWS = [["Name", "Email", "Headline", "Ticket type", "Time in event (minutes)", "Event", "Event start"],
              ["Ann Lee", "ann@granitemedia.com", "CTO", "General", "40", "Hostile Summit", "2026-10-01"]]


# ---------------------------------------------------------------- XLSX parsing is provably safe

def test_openpyxl_parses_through_defusedxml() -> None:
    assert openpyxl.xml.DEFUSEDXML is True


@pytest.mark.parametrize(("part", "dtd", "entity"), [
    ("sheet", BILLION_LAUGHS, "&lol9;"), ("strings", BILLION_LAUGHS, "&lol9;"),
    ("sheet", EXTERNAL_ENTITY, "&xxe;"), ("strings", EXTERNAL_ENTITY, "&xxe;"),
])
def test_entity_workbooks_are_refused_not_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   part: str, dtd: str, entity: str) -> None:
    data = workbook(HOPIN_ROWS, **{f"{part}_dtd": dtd}, entity=entity)
    assert workbook(HOPIN_ROWS) != data
    path = tmp_path / "attack.xlsx"
    path.write_bytes(data)
    # Guard 1: openpyxl itself (through defusedxml) refuses the DTD instead of expanding it.
    with pytest.raises(Exception) as raised:
        openpyxl.load_workbook(path, read_only=True).worksheets[0].cell(2, 1)
    assert reader._defused(raised.value) is not None
    # Guard 2: the reader's own DTD scan; and with the scan switched off, guard 1 gives the same reason.
    for markers in (reader.ENTITY_MARKERS, ()):
        monkeypatch.setattr(reader, "ENTITY_MARKERS", markers)
        started = time.perf_counter()
        with pytest.raises(RejectedFile) as rejected:
            parse_export(path)
        assert time.perf_counter() - started < 2
        assert "entity" in rejected.value.reason
        assert "lol" * 20 not in rejected.value.explanation()


def test_the_hand_written_workbook_is_a_real_workbook(tmp_path: Path) -> None:
    path = tmp_path / "people.xlsx"
    path.write_bytes(workbook(HOPIN_ROWS))
    parsed = parse_export(path)
    assert parsed.records["attendee_email"].tolist() == ["ann@granitemedia.com"]


# ---------------------------------------------------------------- the formula neutraliser

@pytest.mark.parametrize("text", ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=x", "\r=x", HOSTILE_NAME,
                                  '=HYPERLINK("http://evil","x")'])
def test_neutralise_quotes_formula_text(text: str) -> None:
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("value", ["Acme", "", None, -1.5, 3, 0.0, float("nan"), date(2026, 1, 1), "a=b"])
def test_neutralise_leaves_other_values(value: object) -> None:
    result = neutralise(value)
    assert result is value or result == value


def test_neutralise_frame_touches_text_only() -> None:
    frame = pd.DataFrame({"name": ["=evil()", "Acme", None], "score": [-5.0, 1.0, float("nan")],
                          "@col": ["+1", "x", "y"]})
    out = neutralise_frame(frame)
    assert out["name"].tolist()[:2] == ["'=evil()", "Acme"] and pd.isna(out["name"].iloc[2])
    assert out["score"].tolist()[:2] == [-5.0, 1.0]
    assert list(out.columns) == ["name", "score", "'@col"]
    assert out["'@col"].tolist() == ["'+1", "x", "y"]
    assert frame["name"].iloc[0] == "=evil()"  # the input is not modified


# ---------------------------------------------------------------- a hostile inbox through the whole pipeline

def _demo_file(demo_dir: Path, prefix: str, suffix: str = ".csv") -> Path:
    return next(p for p in sorted((demo_dir / "inbox").iterdir()) if p.name.startswith(prefix)
                and p.suffix == suffix)


def _formula_csv(source: Path) -> bytes:
    """A real Zoom participants export whose attendee cells carry formulas (valid data: it is accepted)."""
    rows = list(csv.reader(io.StringIO(source.read_text(encoding="utf-8-sig"))))
    header = next(i for i, r in enumerate(rows) if r and r[0].lower().startswith("name (original name)"))
    width = len(rows[header])
    rows.append(['=HYPERLINK("http://evil.example/x","Click")', "mallory@gmail.com", *[""] * (width - 2)])
    rows.append(["+cmd|' /C calc'!A0", "", *[""] * (width - 2)])
    rows.append(["@SUM(1+1)*cmd|' /C calc'!A0", "trudy@yahoo.com", *[""] * (width - 2)])
    duration = [c.lower() for c in rows[header]].index("duration (minutes)")
    for row in rows[-3:]:
        row[duration] = "12"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode("utf-8")


# name -> (content builder, words the error file must contain)
BAD_FILES = {
    "empty.csv": (lambda d: b"", ["is empty", "Expected: an attendee export", "Found: no content"]),
    "header_only.csv": (lambda d: _demo_file(d, "hopin-people").read_bytes().splitlines()[0] + b"\r\n",
                        ["no data rows", "Found: header rows only"]),
    "truncated.xlsx": (lambda d: _demo_file(d, "hopin-people", ".xlsx").read_bytes()[:1500],
                       ["damaged or incomplete", "Found: an unreadable zip container"]),
    "unknown_format.csv": (lambda d: b"product,price,stock\r\nwidget,9.99,4\r\ngadget,19.99,0\r\n",
                           ["not a recognised attendance export", "Found: first header row: product, price"]),
    "wrong_columns.csv": (lambda d: b"Order #,Email,First Name\r\n1,ann@granitemedia.com,Ann\r\n",
                          ["no attendee status or check-in column", "Expected: the Attendee report",
                           "Found: Order #, Email, First Name"]),
    "not_a_workbook.xlsx": (lambda d: b"Name,Email\r\nAnn,ann@granitemedia.com\r\n",
                            ["not an Excel workbook", "Expected: a real .xlsx file", "Found: content starting"]),
    "legacy.xls": (lambda d: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512,
                   ["old-style Excel", "Found: a legacy .xls file"]),
    "oversize.csv": (lambda d: (HOPIN_ROWS[0][0] + "," + "x" * 2_000_000 + "\r\n").encode(),
                     ["too large", "Expected: a file of at most 1 MB", "Found: 2000007 bytes"]),
    "billion_laughs.xlsx": (lambda d: workbook(HOPIN_ROWS, strings_dtd=BILLION_LAUGHS, entity="&lol9;"),
                            ["entity", "billion laughs", "Found: a DOCTYPE/ENTITY in xl/sharedStrings.xml"]),
    "billion_laughs_sheet.xlsx": (lambda d: workbook(HOPIN_ROWS, sheet_dtd=BILLION_LAUGHS, entity="&lol9;"),
                                  ["entity", "Found: a DOCTYPE/ENTITY in xl/worksheets/sheet1.xml"]),
    "external_entity.xlsx": (lambda d: workbook(HOPIN_ROWS, strings_dtd=EXTERNAL_ENTITY, entity="&xxe;"),
                             ["external-entity", "Found: a DOCTYPE/ENTITY in xl/sharedStrings.xml"]),
    "zip_bomb.xlsx": (lambda d: zip_bomb(), ["zip bomb", "Expected: an .xlsx workbook that unpacks to under",
                                             "compression ratio up to"]),
    "..%2f..%2fescape..csv": (lambda d: b"just,some\r\ntext,here\r\n",
                              ["not a recognised attendance export", "Found: first header row: just, some"]),
}


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path,
                module_db_url: str) -> tuple[PipelineRun, Path, dict]:
    data = tmp_path_factory.mktemp("hostile") / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    customers = pd.read_csv(data / "crm" / "customers.csv", dtype=str)
    customers.loc[0, "name"] = HOSTILE_NAME  # a CRM name Excel would run as a command
    customers.to_csv(data / "crm" / "customers.csv", index=False)
    inbox = data / "inbox"
    inbox.mkdir()
    good = {
        "webinar.csv": _demo_file(demo_dir, "8").read_bytes(),
        "eventbrite.csv": _demo_file(demo_dir, "Attendees-").read_bytes(),
        "hopin.xlsx": _demo_file(demo_dir, "hopin-people", ".xlsx").read_bytes(),
        "formulas.csv": _formula_csv(_demo_file(demo_dir, "participants_")),
    }
    for name, content in good.items():
        (inbox / name).write_bytes(content)
    for name, (build, _) in BAD_FILES.items():
        (inbox / name).write_bytes(build(demo_dir))
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_MAX_UPLOAD_MB": "1",
                                  "ENGAGEMENT_DB_URL": module_db_url})
    files = sorted(inbox.iterdir())
    run = run_pipeline(files, settings=settings, as_of=DEMO_ANCHOR)
    return run, data, good


@pytest.mark.slow  # the hostile inbox runs through the whole pipeline (`hostile_run`)
def test_good_files_are_scored(hostile_run) -> None:
    run, _, good = hostile_run
    by_name = {Path(u["file"]).name: u for u in run.uploads}
    for name in good:
        assert by_name[name]["reason"] is None, by_name[name]
        assert by_name[name]["platform"] is not None
    scores = run.outputs["engagement_scores"]
    assert scores["score"].notna().sum() > 10
    assert set(run.outputs["attendance"]["source_file"]) <= set(good)


@pytest.mark.slow  # the hostile inbox runs through the whole pipeline (`hostile_run`)
@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_every_bad_file_is_rejected_with_a_readable_reason(hostile_run, name: str) -> None:
    run, data, _ = hostile_run
    upload = next(u for u in run.uploads if Path(u["file"]).name == name)
    assert upload["reason"], upload
    rejected = data / "rejected" / name
    assert rejected.is_file()
    text = (data / "rejected" / f"{name}.error.txt").read_text(encoding="utf-8")
    for words in BAD_FILES[name][1]:
        assert words in text, text
    assert "Expected:" in text and "Found:" in text
    assert not any(marker in text for marker in ("Traceback", 'File "')), text


@pytest.mark.slow  # the hostile inbox runs through the whole pipeline (`hostile_run`)
def test_nothing_is_written_outside_the_data_folder(hostile_run) -> None:
    _, data, _ = hostile_run
    outside = data.parent
    assert sorted(p.name for p in outside.iterdir()) == ["data"]
    assert not (data.parent / "escape..csv").exists()


@pytest.mark.slow  # the hostile inbox runs through the whole pipeline (`hostile_run`)
def test_every_accepted_ledger_balances_and_no_reason_holds_a_stack_trace(hostile_run) -> None:
    run, _, good = hostile_run
    ledger = run.outputs["upload_ledger"]
    accepted = ledger[ledger["status"] == "accepted"]
    assert set(accepted["file_name"]) == set(good)
    assert (accepted["rows_read"] == accepted["rows_kept"] + accepted["rows_excluded"]
            + accepted["rows_quarantined"]).all()
    assert (accepted["rows_read"] > 0).all()
    rejected = ledger[ledger["status"] == "rejected"]
    assert set(rejected["file_name"]) == set(BAD_FILES)
    for reason in rejected["reason"]:
        assert reason.strip()
        assert not any(marker in reason for marker in ("Traceback", 'File "')), reason


@pytest.mark.slow  # the hostile inbox runs through the whole pipeline (`hostile_run`)
def test_the_report_workbook_neutralises_formulas(hostile_run) -> None:
    run, _, _ = hostile_run
    book = openpyxl.load_workbook(run.outputs["report_paths"]["excel_path"])
    texts = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [t for t in texts if t.startswith(FORMULA_TRIGGERS)]
    assert not [c for ws in book.worksheets for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert "'" + HOSTILE_NAME in texts  # the CRM customer, e.g. on the leaderboard
    assert any(t.startswith("'=HYPERLINK(") for t in texts)  # the attendee from formulas.csv, unmatched
