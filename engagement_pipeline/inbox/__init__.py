"""The inbox: where dropped exports arrive, which are ready, and where accepted and rejected files are kept.

One interface (`store.InboxStore`), two implementations: the local folder (`folder.py`, the default) and an
S3-compatible bucket (`bucket.py`, `ENGAGEMENT_INBOX_URL=s3://bucket/prefix`). The name rules, the archive
layout and the rejection text they share live in `files.py`. Nothing here imports Dagster.

`open_inbox` lives here, above the three modules, because choosing an implementation needs both of them while
each of them needs the interface: kept in `store.py` it made store -> folder -> store a circle.
"""

from __future__ import annotations

from pathlib import Path

from .files import (
    ERROR_SUFFIX,
    IGNORED_PREFIXES,
    PARTIAL_SUFFIXES,
    InboxFile,
    UnsafeFileName,
    archive_copy,
    check_plain_name,
    error_text,
    is_candidate_name,
    ready_files,
    reject,
    resolve_inside,
    sha256_of,
)
from .folder import FolderInbox
from .store import FetchedFile, InboxStore


def open_inbox(
    url: str, *, directory: Path, archive_dir: Path, rejected_dir: Path, settle_seconds: float = 2.0,
    endpoint_url: str = "", region_name: str = "",
) -> InboxStore:
    """The bucket inbox when `url` is `s3://...`, else the local folder `directory`."""
    if url:
        from .bucket import BucketInbox

        return BucketInbox.from_url(url, cache_dir=archive_dir, settle_seconds=settle_seconds,
                                    endpoint_url=endpoint_url, region_name=region_name)
    return FolderInbox(directory, archive_dir=archive_dir, rejected_dir=rejected_dir, settle_seconds=settle_seconds)


__all__ = [
    "ERROR_SUFFIX",
    "IGNORED_PREFIXES",
    "PARTIAL_SUFFIXES",
    "FetchedFile",
    "FolderInbox",
    "InboxFile",
    "InboxStore",
    "UnsafeFileName",
    "archive_copy",
    "check_plain_name",
    "error_text",
    "is_candidate_name",
    "open_inbox",
    "ready_files",
    "reject",
    "resolve_inside",
    "sha256_of",
]
