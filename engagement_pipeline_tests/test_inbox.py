"""The watched folder: which files are ready, and that nothing is lost or written outside the data folder."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from engagement_pipeline.inbox import (
    UnsafeFileName,
    archive_copy,
    ready_files,
    reject,
    resolve_inside,
    sha256_of,
)


def _write(path: Path, text: str, age_seconds: float = 60) -> Path:
    path.write_text(text)
    stamp = time.time() - age_seconds
    os.utime(path, (stamp, stamp))
    return path


def test_only_settled_regular_visible_files_are_ready(tmp_path: Path) -> None:
    _write(tmp_path / "88478605779 - Attendee Report.csv", "a")
    _write(tmp_path / "Attendees-77.csv", "b")
    _write(tmp_path / "~$Attendees-77.xlsx", "lock")
    _write(tmp_path / ".hidden.csv", "h")
    _write(tmp_path / "download.csv.crdownload", "partial")
    _write(tmp_path / "export.part", "partial")
    _write(tmp_path / "still-copying.csv", "growing", age_seconds=0)
    _write(tmp_path / "old.csv.error.txt", "reason")
    (tmp_path / "link.csv").symlink_to(tmp_path / "Attendees-77.csv")
    (tmp_path / "subfolder").mkdir()

    names = [f.name for f in ready_files(tmp_path, settle_seconds=2)]

    assert sorted(names) == ["88478605779 - Attendee Report.csv", "Attendees-77.csv"]


def test_signature_changes_when_a_file_is_replaced(tmp_path: Path) -> None:
    path = _write(tmp_path / "a.csv", "first", age_seconds=100)
    before = ready_files(tmp_path)[0].signature
    _write(path, "second version", age_seconds=50)
    assert ready_files(tmp_path)[0].signature != before


@pytest.mark.parametrize("name", ["../escape.csv", "a/b.csv", "..", "", "x\x00.csv", "..\\win.csv"])
def test_names_that_would_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafeFileName):
        resolve_inside(tmp_path, name)


def test_archive_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    source = _write(tmp_path / "in.csv", "Email\nx@y.com\n")
    sha = sha256_of(source)
    first = archive_copy(source, tmp_path / "archive", sha)
    second = archive_copy(source, tmp_path / "archive", sha)
    assert first == second == tmp_path / "archive" / sha / "in.csv"
    assert first.read_text() == "Email\nx@y.com\n"
    assert sha == hashlib.sha256(b"Email\nx@y.com\n").hexdigest()


def test_rejected_file_is_kept_with_a_readable_reason(tmp_path: Path) -> None:
    source = _write(tmp_path / "broken.csv", "nothing useful")
    error_file = reject(source, tmp_path / "rejected", "broken.csv", "Unknown format.\nExpected: Zoom")
    assert (tmp_path / "rejected" / "broken.csv").read_text() == "nothing useful"
    assert error_file == tmp_path / "rejected" / "broken.csv.error.txt"
    text = error_file.read_text()
    assert "broken.csv was not processed." in text
    assert "Unknown format.\nExpected: Zoom" in text
