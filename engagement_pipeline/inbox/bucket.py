"""The inbox as an S3-compatible bucket (AWS S3, MinIO, GCS's S3 API, ...), for when runs leave one machine.

`ENGAGEMENT_INBOX_URL=s3://bucket/prefix` names the root; under it, the same three places as the data folder:
- `inbox/<name>`: dropped files. Listed with ListObjectsV2 (direct children only, the folder's name rules);
  a file is ready once its LastModified is `settle_seconds` old; its signature is ETag + size + LastModified.
- `archive/<sha256>/<name>`: every accepted original, content-addressed and durable (a run's pod is not).
  A run also keeps a local copy under the data folder's `archive/` to parse, the same layout as the folder.
- `rejected/<name>` and `rejected/<name>.error.txt`: a file that could not be used and why.
A processed file is deleted from `inbox/` only if its ETag is still the one the run read.

Credentials and endpoint come from the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a role,
IRSA / workload identity, AWS_REGION, AWS_ENDPOINT_URL / AWS_ENDPOINT_URL_S3), never from this config.
With a custom endpoint (MinIO and friends) requests use path-style addressing.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .files import (
    ERROR_SUFFIX,
    InboxFile,
    check_plain_name,
    error_text,
    fit_name,
    is_candidate_name,
    sha256_of,
    stamped_name,
)
from .store import FetchedFile

CHUNK = 1 << 20


def parse_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> ("bucket", "some/prefix/"); `s3://bucket` -> ("bucket", "")."""
    if not url.startswith("s3://"):
        raise ValueError(f"an inbox URL must look like s3://bucket/prefix, got {url!r}")
    bucket, _, prefix = url[len("s3://"):].partition("/")
    if not bucket:
        raise ValueError(f"the inbox URL {url!r} names no bucket")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def make_client(endpoint_url: str = "", region_name: str = "") -> Any:
    """A boto3 S3 client; path-style addressing whenever the endpoint is not AWS's own."""
    try:
        import boto3
        from botocore.config import Config
    except ImportError as err:  # pragma: no cover - depends on the install
        raise ImportError("the bucket inbox needs boto3: pip install 'engagement_pipeline[s3]'") from err
    custom = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    config = Config(connect_timeout=5, read_timeout=60, retries={"max_attempts": 5, "mode": "standard"},
                    s3={"addressing_style": "path"} if custom else None)
    return boto3.client("s3", endpoint_url=endpoint_url or None, region_name=region_name or None, config=config)


def _missing(err: Exception) -> bool:
    code = getattr(err, "response", {}).get("Error", {}).get("Code", "")
    return code in {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class BucketInbox:
    client: Any
    bucket: str
    root: str = ""  # "" or "some/prefix/"
    cache_dir: Path | None = None  # local archive copies (the data folder's archive/); a temp folder if None
    settle_seconds: float = 2.0

    @classmethod
    def from_url(cls, url: str, *, cache_dir: Path | None = None, settle_seconds: float = 2.0,
                 endpoint_url: str = "", region_name: str = "", client: Any = None) -> BucketInbox:
        bucket, root = parse_s3_url(url)
        return cls(client or make_client(endpoint_url, region_name), bucket, root, cache_dir, settle_seconds)

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.root}inbox/"

    def _key(self, area: str, *parts: str) -> str:
        return self.root + "/".join((area, *parts))

    def _head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as err:
            if _missing(err):
                return None
            raise

    @property
    def _cache(self) -> Path:
        return self.cache_dir or Path(tempfile.gettempdir()) / "engagement-inbox-cache"

    def ready(self, now: float | None = None) -> list[InboxFile]:
        current = time.time() if now is None else now
        prefix = self._key("inbox", "")
        found: list[InboxFile] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix,
                                                                       Delimiter="/")
        for page in pages:  # Delimiter: "sub-folders" come back as CommonPrefixes and are skipped
            for obj in page.get("Contents", []):
                name = obj["Key"][len(prefix):]
                if not name or not is_candidate_name(name):
                    continue
                modified = obj["LastModified"].timestamp()
                if current - modified < self.settle_seconds:
                    continue
                found.append(InboxFile(name, int(obj["Size"]), round(modified * 1_000_000) * 1000,
                                       etag=obj["ETag"].strip('"')))
        return sorted(found, key=lambda f: (f.mtime_ns, f.name))

    def _staging(self) -> Path:
        base = self._cache / ".staging"
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=base))

    def _download(self, key: str, name: str, bucket: str = "") -> tuple[Path, str, str] | None:
        """Streams the object into a staging file named `name`, hashing on the way: (path, sha256, etag)."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=bucket or self.bucket, Key=key)
        except ClientError as err:
            if _missing(err):
                return None
            raise
        target = self._staging() / fit_name(name)
        digest = hashlib.sha256()
        with target.open("wb") as out:
            for block in response["Body"].iter_chunks(CHUNK):
                digest.update(block)
                out.write(block)
        return target, digest.hexdigest(), response["ETag"].strip('"')

    def _keep(self, staged: Path, name: str, sha256: str) -> tuple[str, Path]:
        """Archives the staged bytes in the bucket (once) and moves them into the local cache."""
        key = self._key("archive", sha256, name)
        if self._head(key) is None:
            with staged.open("rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, Metadata={"sha256": sha256})
        local = self._cache / sha256 / fit_name(name)
        local.parent.mkdir(parents=True, exist_ok=True)
        if local.is_file():
            staged.unlink()
        else:
            staged.replace(local)
        shutil.rmtree(staged.parent, ignore_errors=True)
        return f"s3://{self.bucket}/{key}", local

    def fetch(self, name: str) -> FetchedFile | None:
        check_plain_name(name)
        downloaded = self._download(self._key("inbox", name), name)
        if downloaded is None:
            return None
        staged, sha256, etag = downloaded
        size = staged.stat().st_size
        ref, local = self._keep(staged, name, sha256)
        return FetchedFile(name, sha256, size, ref, local, version=etag)

    def fetch_archived(self, archive_ref: str, name: str) -> FetchedFile:
        check_plain_name(name)
        if not archive_ref.startswith("s3://"):  # archived by the folder inbox before the switch to a bucket
            path = Path(archive_ref)
            if not path.is_file():
                raise FileNotFoundError(f"the archived copy of {name} is missing: {archive_ref}")
            staged = self._staging() / fit_name(name)
            shutil.copyfile(path, staged)
            sha256 = sha256_of(staged)
            size = staged.stat().st_size
            ref, local = self._keep(staged, name, sha256)
            return FetchedFile(name, sha256, size, ref, local, from_inbox=False)
        bucket, key = parse_s3_url(archive_ref)
        key = key.rstrip("/")
        sha256 = key.split("/")[-2]
        local = self._cache / sha256 / fit_name(name)
        if not (local.is_file() and sha256_of(local) == sha256):
            downloaded = self._download(key, name, bucket=bucket)
            if downloaded is None:
                raise FileNotFoundError(f"the archived copy of {name} is missing: {archive_ref}")
            staged, got, _ = downloaded
            if got != sha256:
                raise ValueError(f"the archived copy {archive_ref} does not hash to its name ({got})")
            local.parent.mkdir(parents=True, exist_ok=True)
            staged.replace(local)
            shutil.rmtree(staged.parent, ignore_errors=True)
        return FetchedFile(name, sha256, local.stat().st_size, archive_ref, local, from_inbox=False)

    def consume(self, fetched: FetchedFile) -> bool:
        if not fetched.from_inbox:
            return False
        key = self._key("inbox", check_plain_name(fetched.name))
        head = self._head(key)
        if head is None or head["ETag"].strip('"') != fetched.version:
            return False  # gone, or replaced while the run read it: the sensor requests the new version
        self.client.delete_object(Bucket=self.bucket, Key=key)
        return True

    def reject(self, local_path: Path, name: str, explanation: str) -> str:
        check_plain_name(name)
        sha256 = sha256_of(local_path)
        target = name
        head = self._head(self._key("rejected", target))
        if head is not None and head.get("Metadata", {}).get("sha256") != sha256:
            target = stamped_name(name)
            head = None
        if head is None:
            with local_path.open("rb") as body:
                self.client.put_object(Bucket=self.bucket, Key=self._key("rejected", target), Body=body,
                                       Metadata={"sha256": sha256})
        error_key = self._key("rejected", target + ERROR_SUFFIX)
        self.client.put_object(Bucket=self.bucket, Key=error_key, Body=error_text(target, explanation).encode(),
                               ContentType="text/plain; charset=utf-8")
        return f"s3://{self.bucket}/{error_key}"
