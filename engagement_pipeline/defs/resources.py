"""Configurable resources every domain uses: where the data folder is, which warehouse, the inbox.

The `scoring` resource (the run's date and parameters) lives in `engagement/resources.py`.
"""

import os
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Engine

from engagement_pipeline.config import Settings
from engagement_pipeline.inbox import InboxFile, InboxStore, open_inbox
from engagement_pipeline.warehouse import create_schema, make_engine

from .engagement.resources import Scoring
from .io import batch_io_manager


@cache
def _engine(url: str) -> Engine:
    engine = make_engine(url)
    create_schema(engine)
    return engine


class Warehouse(dg.ConfigurableResource):
    """The SQLAlchemy warehouse; SQLite file by default, any URL from ENGAGEMENT_DB_URL."""

    url: str

    def engine(self) -> Engine:
        return _engine(self.url)


class DataFolder(dg.ConfigurableResource):
    """The data folder (CRM, events, archive, rejected, reports) and the organiser's own domains."""

    path: str
    internal_domains: list[str] = Field(default_factory=list)
    max_upload_mb: int = 50

    @property
    def settings(self) -> Settings:
        return Settings(
            data_dir=Path(self.path),
            db_url="",
            internal_domains=frozenset(d.lower() for d in self.internal_domains),
            max_upload_bytes=self.max_upload_mb * 1024 * 1024,
        )


class Inbox(dg.ConfigurableResource):
    """Where dropped files arrive: the folder `directory`, or the bucket `url` (`s3://bucket/prefix`, files under
    `<prefix>/inbox/`). `consume` removes processed files (the sensor's inbox); the CLI reads its files in place.
    Bucket credentials come from the standard AWS chain, never from this config."""

    directory: str = ""
    url: str = ""
    endpoint_url: str = ""  # empty: boto3's own resolution (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)
    region_name: str = ""  # empty: AWS_REGION / AWS_DEFAULT_REGION
    consume: bool = True
    settle_seconds: float = 2.0

    def store(self, settings: Settings | None = None) -> InboxStore:
        """The inbox; archived and rejected files go to the data folder's `archive/` and `rejected/` (folder) or
        beside the inbox in the bucket. Without `settings`, the folders beside `directory`."""
        if not (self.url or self.directory):
            raise ValueError("the inbox needs a folder (`directory`) or a bucket (`url`: s3://bucket/prefix)")
        base = Path(self.directory)
        return open_inbox(
            self.url, directory=base,
            archive_dir=settings.archive_dir if settings else base.parent / "archive",
            rejected_dir=settings.rejected_dir if settings else base.parent / "rejected",
            settle_seconds=self.settle_seconds, endpoint_url=self.endpoint_url, region_name=self.region_name,
        )

    def ready(self) -> list[InboxFile]:
        return self.store().ready()


def default_resources(settings: Settings | None = None) -> dict[str, Any]:
    """Resources for the embedded defaults, read from the environment at load time."""
    s = settings or Settings.from_env()
    # From the environment, the URL (it may hold a password) is resolved at run time and never shown in the UI.
    from_env = settings is None and bool(os.environ.get("ENGAGEMENT_DB_URL"))
    return {
        "warehouse": Warehouse(url=dg.EnvVar("ENGAGEMENT_DB_URL") if from_env else s.db_url),
        "data_folder": DataFolder(
            path=str(s.data_dir),
            internal_domains=sorted(s.internal_domains),
            max_upload_mb=max(1, s.max_upload_bytes // (1024 * 1024)),
        ),
        "inbox": Inbox(directory=str(s.inbox_dir), url=s.inbox_url),
        "scoring": Scoring(),
        # The filesystem IO manager, able to store a run that covers a batch of files (see defs/io.py).
        "io_manager": batch_io_manager,
    }
