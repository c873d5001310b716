"""The inbox interface the sensor and the ingestion asset talk to (`open_inbox` in the package picks the one).

Two implementations keep the same promises: a local folder (`folder.py`, the default) and an S3-compatible
bucket (`bucket.py`, when `ENGAGEMENT_INBOX_URL=s3://bucket/prefix`). Either way the sensor only lists, a run
fetches one file into a local content-addressed copy it can parse, a processed file leaves the inbox only
if it is still the version that was read, and a rejected file is kept with a readable reason beside it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .files import InboxFile


@dataclass(frozen=True)
class FetchedFile:
    """One file's bytes, safely archived, with a local copy to parse in this run."""

    name: str
    sha256: str
    size: int
    archive_ref: str  # the durable archived copy: a path (folder) or an s3:// URL (bucket)
    local_path: Path  # a local copy of exactly the hashed bytes
    version: str = ""  # what was read (size:mtime or ETag); consume() removes only this version
    from_inbox: bool = True  # False when brought back from the archive for a re-run


class InboxStore(Protocol):
    """Where dropped files arrive, and where accepted and rejected files are kept."""

    @property
    def location(self) -> str:
        """Where the inbox is, for people: a folder path or an s3:// URL."""
        ...

    def ready(self, now: float | None = None) -> list[InboxFile]:
        """Complete, visible files that have not changed for the settle time, oldest first."""
        ...

    def fetch(self, name: str) -> FetchedFile | None:
        """Hashes and archives `name` and returns a local copy; None when it is no longer in the inbox."""
        ...

    def fetch_archived(self, archive_ref: str, name: str) -> FetchedFile:
        """A local copy of an earlier archived file (a re-run after the file left the inbox)."""
        ...

    def consume(self, fetched: FetchedFile) -> bool:
        """Removes a processed file from the inbox if it is still the version fetched; True when removed."""
        ...

    def reject(self, local_path: Path, name: str, explanation: str) -> str:
        """Keeps the file in `rejected/` with `<name>.error.txt` beside it; returns where the reason is."""
        ...
