"""The inbox: where dropped exports arrive, which are ready, and where accepted and rejected files are kept.

One interface (`store.InboxStore`), two implementations: the local folder (`folder.py`, the default) and an
S3-compatible bucket (`bucket.py`, `ENGAGEMENT_INBOX_URL=s3://bucket/prefix`). The name rules, the archive
layout and the rejection text they share live in `files.py`. Nothing here imports Dagster.
"""

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
from .store import FetchedFile, InboxStore, open_inbox

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
