"""The watched folder: which files are ready, and where accepted and rejected files are kept.

A file is picked up only once it is a regular file that has stopped changing: browsers and sync clients
write partial files (`.crdownload`, `.part`), Excel leaves `~$` lock files, and a copy in progress grows.
Nothing is ever deleted: accepted originals are archived by content hash, rejected ones move to
`rejected/` with a readable `<name>.error.txt` beside them.
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
    name: str
    size: int
    mtime_ns: int

    @property
    def signature(self) -> str:
        """Changes whenever the file is replaced or rewritten, so a re-dropped file is seen again."""
        return f"{self.size}:{self.mtime_ns}"


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


def resolve_inside(directory: Path, name: str) -> Path:
    """The path of `name` in `directory`, refusing anything that would land elsewhere."""
    if not name or "/" in name or "\\" in name or name in {".", ".."} or "\x00" in name:
        raise UnsafeFileName(f"refusing file name {name!r}: it is not a plain file name")
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


def reject(source: Path, rejected_dir: Path, file_name: str, explanation: str) -> Path:
    """Copies the file into `rejected/` with `<name>.error.txt` beside it; returns the error file."""
    rejected_dir.mkdir(parents=True, exist_ok=True)
    target = resolve_inside(rejected_dir, file_name)
    if target.exists() and sha256_of(target) != sha256_of(source):
        stamp = time.strftime("%Y%m%dT%H%M%S")
        target = resolve_inside(rejected_dir, f"{Path(file_name).stem}.{stamp}{Path(file_name).suffix}")
    if not target.exists():
        shutil.copy2(source, target)
    error_file = target.with_name(target.name + ERROR_SUFFIX)
    error_file.write_text(
        f"{target.name} was not processed.\n\n{explanation.strip()}\n\n"
        "Fix the file and drop it into the inbox again; nothing from it was counted.\n",
        encoding="utf-8",
    )
    return error_file
