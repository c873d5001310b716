"""The inbox as a local folder (the default): `data/inbox/`, archived to `data/archive/<sha256>/<name>`,
rejected files to `data/rejected/` with `<name>.error.txt` beside them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .files import InboxFile, archive_copy, ready_files, reject, resolve_inside, sha256_of, stable_copy
from .store import FetchedFile


def _version(path: Path) -> str:
    stat = path.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}"


@dataclass(frozen=True)
class FolderInbox:
    directory: Path
    archive_dir: Path
    rejected_dir: Path
    settle_seconds: float = 2.0

    @property
    def location(self) -> str:
        return str(self.directory)

    def ready(self, now: float | None = None) -> list[InboxFile]:
        return ready_files(self.directory, self.settle_seconds, now)

    def fetch(self, name: str) -> FetchedFile | None:
        path = resolve_inside(self.directory, name)
        if not path.is_file():
            return None
        # hash the archived copy, not the live file: a file still being written cannot pass as another version
        archived, sha256, version = stable_copy(path, self.archive_dir, name)
        return FetchedFile(name, sha256, archived.stat().st_size, str(archived), archived, version)

    def fetch_archived(self, archive_ref: str, name: str) -> FetchedFile:
        path = Path(archive_ref)
        if not path.is_file():
            raise FileNotFoundError(f"the archived copy of {name} is missing: {archive_ref}")
        sha256 = sha256_of(path)
        archived = archive_copy(path, self.archive_dir, sha256, name=name)
        return FetchedFile(name, sha256, archived.stat().st_size, str(archived), archived, from_inbox=False)

    def consume(self, fetched: FetchedFile) -> bool:
        if not fetched.from_inbox:
            return False
        path = resolve_inside(self.directory, fetched.name)
        try:
            if _version(path) != fetched.version:
                return False  # replaced while the run read it: the sensor requests the new version
            path.unlink()
        except FileNotFoundError:
            return False
        return True

    def reject(self, local_path: Path, name: str, explanation: str) -> str:
        return str(reject(local_path, self.rejected_dir, name, explanation))
