"""The rules every inbox shares, and the local folder's own file operations.

A file is picked up only once it is a regular file that has stopped changing: browsers and sync clients
write partial files (`.crdownload`, `.part`), Excel leaves `~$` lock files, and a copy in progress grows.
Nothing is ever deleted: accepted originals are archived by content hash, rejected ones move to
`rejected/` with a readable `<name>.error.txt` beside them. The bucket inbox applies the same name rules
and the same error text (see `bucket.py`).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

PARTIAL_SUFFIXES: tuple[str, ...] = (".crdownload", ".part", ".partial", ".download", ".tmp", ".swp")
IGNORED_PREFIXES: tuple[str, ...] = (".", "~$", "~")
ERROR_SUFFIX = ".error.txt"


class UnsafeFileName(ValueError):
    """A name that would resolve outside the inbox (path separators, '..')."""


@dataclass(frozen=True)
class InboxFile:
    """One ready file: its plain name, size and modification time (and, in a bucket, its ETag)."""

    name: str
    size: int
    mtime_ns: int
    etag: str = ""

    @property
    def signature(self) -> str:
        """Changes whenever the file is replaced or rewritten, so a re-dropped file is seen again."""
        return f"{self.etag}:{self.size}:{self.mtime_ns}" if self.etag else f"{self.size}:{self.mtime_ns}"


def is_candidate_name(name: str) -> bool:
    lowered = name.lower()
    if lowered.startswith(IGNORED_PREFIXES) or lowered.endswith(ERROR_SUFFIX):
        return False
    return not lowered.endswith(PARTIAL_SUFFIXES)


def ready_files(directory: Path, settle_seconds: float = 2.0, now: float | None = None) -> list[InboxFile]:
    """Regular, non-hidden, complete files untouched for `settle_seconds`, oldest first."""
    if not directory.is_dir():
        return []
    current = time.time() if now is None else now
    found: list[InboxFile] = []
    for entry in directory.iterdir():
        if entry.is_symlink() or not entry.is_file() or not is_candidate_name(entry.name):
            continue
        stat = entry.stat()
        if current - stat.st_mtime < settle_seconds:
            continue
        found.append(InboxFile(entry.name, stat.st_size, stat.st_mtime_ns))
    return sorted(found, key=lambda f: (f.mtime_ns, f.name))


def check_plain_name(name: str) -> str:
    """`name` itself when it is one plain file name (no separators, no '..', no NUL); raises otherwise."""
    if not name or "/" in name or "\\" in name or name in {".", ".."} or "\x00" in name:
        raise UnsafeFileName(f"refusing file name {name!r}: it is not a plain file name")
    return name


def resolve_inside(directory: Path, name: str) -> Path:
    """The path of `name` in `directory`, refusing anything that would land elsewhere."""
    check_plain_name(name)
    base = directory.resolve()
    path = (base / name).resolve()
    if path.parent != base:
        raise UnsafeFileName(f"refusing file name {name!r}: it resolves outside {base}")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archive_copy(path: Path, archive_dir: Path, sha256: str) -> Path:
    """Content-addressed copy (`archive/<sha256>/<name>`), so any result can be rebuilt from it."""
    target_dir = archive_dir / sha256
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    if not target.exists():
        tmp = target.with_name(target.name + ".partial")
        shutil.copy2(path, tmp)
        tmp.replace(target)
    return target


def error_text(rejected_name: str, explanation: str) -> str:
    """What `<name>.error.txt` says, in a folder or a bucket alike."""
    return (f"{rejected_name} was not processed.\n\n{explanation.strip()}\n\n"
            "Fix the file and drop it into the inbox again; nothing from it was counted.\n")


def stamped_name(file_name: str) -> str:
    """`<stem>.<local time stamp><suffix>`, for when a different file already holds the rejected name."""
    return f"{Path(file_name).stem}.{time.strftime('%Y%m%dT%H%M%S')}{Path(file_name).suffix}"


def reject(source: Path, rejected_dir: Path, file_name: str, explanation: str) -> Path:
    """Copies the file into `rejected/` with `<name>.error.txt` beside it; returns the error file."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = resolve_inside(rejected_dir, file_name)
    if target.exists() and sha256_of(target) != sha256_of(source):
        target = resolve_inside(rejected_dir, stamped_name(file_name))
    if not target.exists():
        shutil.copy2(source, target)
    error_file = target.with_name(target.name + ERROR_SUFFIX)
    error_file.write_text(error_text(target.name, explanation), encoding="utf-8")
    return error_file
