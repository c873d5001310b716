"""Uploads through the API or the dashboard: into the same inbox the sensor watches, and their status.

An upload is identified by the sha256 of its bytes, exactly as the warehouse identifies it, so the id given
back at once (202) is the id the sensor's run registers: the status is read from the warehouse's `uploads` row
when the run has processed the file, and is `queued` while the file is still waiting in the inbox.
Event details a file lacks are written as one line of `events/overrides.csv` for exactly that file name.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
import hashlib
import io
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import Settings
from engagement_pipeline.inbox import check_plain_name, is_candidate_name
from engagement_pipeline.ingest.canonical import EVENT_TYPES
from engagement_pipeline.ingest.overrides import COLUMNS as OVERRIDE_COLUMNS

ACCEPTED_SUFFIXES = (".csv", ".xlsx", ".xls", ".txt", ".tsv")
_UNSAFE = re.compile(r"[^\w .,()+@-]+")
_GLOB_SPECIALS = re.compile(r"([*?\[])")


class UploadError(ValueError):
    """An upload refused before it reaches the inbox (a readable reason for a 422)."""


@dataclass(frozen=True)
class EventDetails:
    event_name: str | None = None
    event_type: str | None = None
    event_date: date | None = None

    def __bool__(self) -> bool:
        return bool(self.event_name or self.event_type or self.event_date)


def safe_file_name(raw: str | None) -> str:
    """The uploaded name reduced to one plain, visible file name the inbox will pick up."""
    base = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE.sub("_", base).strip(" .")[:200]
    if not base or not is_candidate_name(base):
        raise UploadError(f"the file name {raw!r} cannot be used: give the export's own name, e.g. "
                          "'Attendee Report.csv'")
    if not base.lower().endswith(ACCEPTED_SUFFIXES):
        raise UploadError(f"{base!r} is not an attendance export: expected one of {', '.join(ACCEPTED_SUFFIXES)}")
    return check_plain_name(base)


def check_details(details: EventDetails) -> None:
    if details.event_type and details.event_type not in EVENT_TYPES:
        raise UploadError(f"event_type {details.event_type!r} is not one of {', '.join(EVENT_TYPES)}")
    if details.event_name and ("\n" in details.event_name or len(details.event_name) > 300):
        raise UploadError("event_name must be one line of at most 300 characters")


def glob_literal(name: str) -> str:
    """A glob matching exactly `name` (fnmatch's specials wrapped in brackets)."""
    return _GLOB_SPECIALS.sub(r"[\1]", name)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def add_override(settings: Settings, file_name: str, details: EventDetails) -> None:
    """Appends `file_name,event_name,event_type,event_date` to events/overrides.csv (header when new)."""
    path = settings.events_dir / "overrides.csv"
    with _locked(path):
        new = not path.exists() or path.stat().st_size == 0
        prefix = ""
        if not new:
            with path.open("rb") as handle:
                handle.seek(-1, os.SEEK_END)
                prefix = "" if handle.read(1) in (b"\n", b"\r") else "\n"
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        if new:
            writer.writerow(OVERRIDE_COLUMNS)
        writer.writerow([glob_literal(file_name), details.event_name or "", details.event_type or "",
                         details.event_date.isoformat() if details.event_date else ""])
        with path.open("a", encoding="utf-8", newline="") as handle:
            handle.write(prefix + buffer.getvalue())


def inbox_name(settings: Settings, name: str, sha256: str) -> str:
    """The original name, unless a different file of that name is already waiting in the inbox."""
    if settings.inbox_url:
        return name
    target = settings.inbox_dir / name
    if not target.exists():
        return name
    if hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
        return name
    stem, dot, suffix = name.rpartition(".")
    return f"{stem}-{sha256[:8]}.{suffix}" if dot else f"{name}-{sha256[:8]}"


def deposit(settings: Settings, spooled: Path, name: str) -> str:
    """Puts the bytes into the inbox the sensor watches (folder or bucket) under `name`, atomically."""
    if settings.inbox_url:
        from engagement_pipeline.inbox.bucket import BucketInbox

        inbox = BucketInbox.from_url(settings.inbox_url, cache_dir=settings.archive_dir)
        with spooled.open("rb") as body:
            inbox.client.put_object(Bucket=inbox.bucket, Key=inbox._key("inbox", name), Body=body)
        return name
    settings.inbox_dir.mkdir(parents=True, exist_ok=True)
    # Written under a partial name the sensor ignores, then renamed: it never sees half a file.
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=settings.inbox_dir)
    with os.fdopen(fd, "wb") as out, spooled.open("rb") as source:
        while block := source.read(1 << 20):
            out.write(block)
    os.chmod(tmp, 0o644)
    os.replace(tmp, settings.inbox_dir / name)
    return name


def _in_inbox(settings: Settings, name: str, sha256: str) -> bool:
    """Whether these bytes still wait in the (folder) inbox under `name`."""
    if settings.inbox_url:
        return False
    path = settings.inbox_dir / name
    try:
        return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == sha256
    except OSError:
        return False


def _pending_path(settings: Settings) -> Path:
    return settings.data_dir / "web_uploads.jsonl"


def remember(settings: Settings, sha256: str, file_name: str, details: EventDetails) -> None:
    """Notes which name an upload id went into the inbox under, for the status while it is queued."""
    record = {"upload_id": sha256, "file_name": file_name,
              "event": {"event_name": details.event_name, "event_type": details.event_type,
                        "event_date": details.event_date.isoformat() if details.event_date else None}}
    path = _pending_path(settings)
    with _locked(path), path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\n")


def _remembered(settings: Settings, sha256: str) -> dict[str, Any] | None:
    path = _pending_path(settings)
    if not path.exists():
        return None
    found = None
    for line in path.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("upload_id") == sha256:
                found = record
    return found


def upload_status(engine: Engine, settings: Settings, sha256: str) -> dict[str, Any] | None:
    """The upload's status and ledger: from the warehouse once processed, `queued` while in the inbox."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(wh.uploads).where(wh.uploads.c.sha256 == sha256)).mappings().first()
    note = _remembered(settings, sha256)
    waiting = note is not None and _in_inbox(settings, note["file_name"], sha256)
    if row is None or waiting:
        if note is None:
            return None
        queued = waiting or bool(settings.inbox_url)
        return {"upload_id": sha256, "file_name": note["file_name"], "status": "queued" if queued else "processing",
                "reason": ("waiting in the inbox for the pipeline's sensor to pick it up"
                           + (" (the same bytes were processed before)" if row is not None else "") if queued
                           else "taken from the inbox; the pipeline run is processing it"),
                "platform": None, "rows_read": None, "rows_kept": None, "rows_excluded": None,
                "rows_quarantined": None, "records": None, "excluded_by_reason": {}, "warehouse_upload_id": None,
                "event": note.get("event")}
    detail = json.loads(row["ledger"]) if isinstance(row["ledger"], str) else {}
    status, reason = row["status"], row["reason"]
    if status == "received":  # registered by the run, not parsed yet
        status, reason = "processing", reason or "the pipeline run is reading the file"
    return {
        "upload_id": sha256, "file_name": row["file_name"], "status": status, "reason": reason,
        "platform": row["platform"], "rows_read": row["rows_read"], "rows_kept": row["rows_kept"],
        "rows_excluded": row["rows_excluded"], "rows_quarantined": row["rows_quarantined"],
        "records": row["records"], "excluded_by_reason": detail.get("excluded_by_reason", {}),
        "warehouse_upload_id": int(row["upload_id"]), "event": note.get("event") if note else None,
    }
