"""The rules every inbox shares, and the local folder's own file operations.

A file is picked up only once it is a regular file that has stopped changing: browsers and sync clients
write partial files (`.crdownload`, `.part`), Excel leaves `~$` lock files, and a copy in progress grows.
"Stopped changing" takes two looks: untouched for the settle time, and the same size and mtime when looked at
again a moment later (a copy that stalls, then resumes, changes between the looks). Names are fitted to the
file system's 255-byte limit wherever this module writes one (archive copies, rejected copies, error files).
Nothing is ever deleted: accepted originals are archived by content hash, rejected ones move to
`rejected/` with a readable `<name>.error.txt` beside them. The bucket inbox applies the same name rules
and the same error text (see `bucket.py`).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PARTIAL_SUFFIXES: tuple[str, ...] = (".crdownload", ".part", ".partial", ".download", ".tmp", ".swp", ".filepart",
                                     ".opdownload", ".!ut", ".aria2", ".lock")
IGNORED_PREFIXES: tuple[str, ...] = (".", "~$", "~")
ERROR_SUFFIX = ".error.txt"
MAX_NAME_BYTES = 255  # one path component on ext4, XFS, APFS, NTFS (in UTF-16 units there; bytes are stricter)
RECHECK_SECONDS = 0.2  # the pause between the two looks at a settled file


class UnsafeFileName(ValueError):
    """A name that would resolve outside the inbox (path separators, '..')."""


class FileStillChanging(RuntimeError):
    """The file changed while it was being copied: it is still being written and is read once it is stable."""


def fit_name(name: str, reserve: int = 0) -> str:
    """`name` if it fits the file system with `reserve` bytes to spare (for a suffix such as `.error.txt`);
    else its start cut at a character boundary + `~` + a hash of the full name + its extension. Stable, so the
    same long name always maps to the same short one."""
    limit = MAX_NAME_BYTES - reserve
    if len(name.encode("utf-8")) <= limit:
        return name
    suffix = Path(name).suffix if len(Path(name).suffix.encode("utf-8")) <= 16 else ""
    digest = hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]
    budget = limit - len(suffix.encode("utf-8")) - len(digest) - 1
    stem = name[: len(name) - len(suffix)].encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return f"{stem}~{digest}{suffix}"


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


def ready_files(directory: Path, settle_seconds: float = 2.0, now: float | None = None,
                recheck_seconds: float = RECHECK_SECONDS) -> list[InboxFile]:
    """Regular, non-hidden, complete files untouched for `settle_seconds` and unchanged (size and mtime)
    across two looks `recheck_seconds` apart, oldest first."""
    if not directory.is_dir():
        return []
    current = time.time() if now is None else now
    first: list[InboxFile] = []
    for entry in directory.iterdir():
        if entry.is_symlink() or not entry.is_file() or not is_candidate_name(entry.name):
            continue
        stat = entry.stat()
        if current - stat.st_mtime < settle_seconds:
            continue
        first.append(InboxFile(entry.name, stat.st_size, stat.st_mtime_ns))
    if first and recheck_seconds > 0:
        time.sleep(recheck_seconds)
    found = [f for f in first if _look(directory / f.name) == (f.size, f.mtime_ns)]
    return sorted(found, key=lambda f: (f.mtime_ns, f.name))


def _look(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_size, stat.st_mtime_ns


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


def archive_copy(path: Path, archive_dir: Path, sha256: str, name: str | None = None) -> Path:
    """Content-addressed copy (`archive/<sha256>/<name>`), so any result can be rebuilt from it; the temporary
    copy has a short name of its own, and a name too long for the file system is fitted (`fit_name`)."""
    target = _archive_target(archive_dir, sha256, name or path.name)
    if not target.exists():
        with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".copy-", delete=False) as handle:
            tmp = Path(handle.name)
        shutil.copy2(path, tmp)
        tmp.replace(target)
    return target


def _archive_target(archive_dir: Path, sha256: str, name: str) -> Path:
    """`archive/<sha256>/<name>` (its folder made), the name fitted to the file system."""
    target_dir = archive_dir / sha256
    target_dir.mkdir(parents=True, exist_ok=True)
    return target_dir / fit_name(name)


def _copy_hashing(source: Path, target: Path) -> str:
    """Copies `source` over `target` with its mode and times (as `shutil.copy2`), returning the sha256 of the
    bytes written: the copy's hash without reading the copy back."""
    digest = hashlib.sha256()
    with source.open("rb") as reader, target.open("wb") as writer:
        for block in iter(lambda: reader.read(1 << 20), b""):
            digest.update(block)
            writer.write(block)
    shutil.copystat(source, target)
    return digest.hexdigest()


def stable_copy(path: Path, archive_dir: Path, name: str) -> tuple[Path, str, str]:
    """Copies a file that may still be written into the archive, hashing the copy (not the live file):
    (archived path, sha256, version). FileStillChanging if the file's size or mtime moved during the copy."""
    before = _look(path)
    staging = archive_dir / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=staging, prefix=".copy-", delete=False) as handle:
        tmp = Path(handle.name)
    try:
        sha256 = _copy_hashing(path, tmp)  # one pass: hashing the copy afterwards, then copying it again, read it
        if _look(path) != before or before is None:  # three times more (~2.6% of a 100k run with its archiving)
            raise FileStillChanging(f"{name} changed while it was being read; it is read again once it is stable")
        archived = _archive_target(archive_dir, sha256, name)
        if not archived.exists():  # the staged copy moves into place, as `archive_copy`'s own temporary one does
            tmp.replace(archived)
    finally:
        tmp.unlink(missing_ok=True)
    return archived, sha256, f"{before[0]}:{before[1]}"


def error_text(rejected_name: str, explanation: str) -> str:
    """What `<name>.error.txt` says, in a folder or a bucket alike."""
    return (f"{rejected_name} was not processed.\n\n{explanation.strip()}\n\n"
            "Fix the file and drop it into the inbox again; nothing from it was counted.\n")


def stamped_name(file_name: str) -> str:
    """`<stem>.<local time stamp><suffix>`, for when a different file already holds the rejected name."""
    return fit_name(f"{Path(file_name).stem}.{time.strftime('%Y%m%dT%H%M%S')}{Path(file_name).suffix}",
                    reserve=len(ERROR_SUFFIX))


def reject(source: Path, rejected_dir: Path, file_name: str, explanation: str) -> Path:
    """Copies the file into `rejected/` with `<name>.error.txt` beside it; returns the error file."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = resolve_inside(rejected_dir, fit_name(file_name, reserve=len(ERROR_SUFFIX)))
    if target.exists() and sha256_of(target) != sha256_of(source):
        target = resolve_inside(rejected_dir, stamped_name(file_name))
    if not target.exists():
        shutil.copy2(source, target)
    error_file = target.with_name(target.name + ERROR_SUFFIX)
    error_file.write_text(error_text(target.name, explanation), encoding="utf-8")
    return error_file
