"""The watched folder: which files are ready, and that nothing is lost or written outside the data folder."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from engagement_pipeline.inbox import (
    FolderInbox,
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


def _folder_inbox(tmp_path: Path) -> FolderInbox:
    (tmp_path / "inbox").mkdir()
    return FolderInbox(tmp_path / "inbox", archive_dir=tmp_path / "archive", rejected_dir=tmp_path / "rejected")


def test_folder_inbox_archives_then_consumes_the_version_it_read(tmp_path: Path) -> None:
    inbox = _folder_inbox(tmp_path)
    _write(tmp_path / "inbox" / "a.csv", "Email\nx@y.com\n")
    fetched = inbox.fetch("a.csv")
    sha = hashlib.sha256(b"Email\nx@y.com\n").hexdigest()
    assert (fetched.sha256, fetched.size, fetched.from_inbox) == (sha, 14, True)
    assert fetched.archive_ref == str(tmp_path / "archive" / sha / "a.csv") and fetched.local_path.read_bytes()
    assert inbox.consume(fetched) is True
    assert not (tmp_path / "inbox" / "a.csv").exists() and inbox.fetch("a.csv") is None

    again = inbox.fetch_archived(fetched.archive_ref, "a.csv")
    assert (again.sha256, again.from_inbox, inbox.consume(again)) == (sha, False, False)


def test_folder_inbox_keeps_a_file_replaced_while_it_was_read(tmp_path: Path) -> None:
    inbox = _folder_inbox(tmp_path)
    path = _write(tmp_path / "inbox" / "a.csv", "first", age_seconds=100)
    fetched = inbox.fetch("a.csv")
    _write(path, "second version", age_seconds=50)
    assert inbox.consume(fetched) is False
    assert path.read_text() == "second version"


def test_folder_inbox_rejects_beside_the_data_folder_with_the_shared_text(tmp_path: Path) -> None:
    inbox = _folder_inbox(tmp_path)
    source = _write(tmp_path / "inbox" / "broken.csv", "nothing useful")
    where = inbox.reject(source, "broken.csv", "Unknown format.")
    assert where == str(tmp_path / "rejected" / "broken.csv.error.txt")
    assert Path(where).read_text().startswith("broken.csv was not processed.\n\nUnknown format.\n")
    with pytest.raises(UnsafeFileName):
        inbox.fetch("../escape.csv")
