"""The resources every domain uses: the deployment's settings, the warehouse, the inbox (and the mailer,
`actions/resources.py`), and how they reach a run.

There is one settings model, `config.Settings`, and one reader of the environment, `Settings.from_env`. The
code location (`defs`) binds resources that call it when they are set up (each run, each sensor tick), never
when the definitions are imported or loaded: `environment_resources`. The CLI and the tests, which already
hold a `Settings`, bind the same resources made from it: `default_resources(settings)`. Both go through
`resources_for`, so the two ways cannot drift apart. The warehouse URL (it may hold a password) is therefore
never part of a config the UI shows.

The `scoring` resource (the run's date and parameters) lives in `engagement/resources.py`.
"""

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from sqlalchemy.engine import Engine

from engagement_pipeline.config import Settings
from engagement_pipeline.inbox import InboxFile, InboxStore, open_inbox
from engagement_pipeline.warehouse import create_schema, make_engine

from .engagement.resources import Scoring
from .io import batch_io_manager

# What an asset or sensor declares as `data_folder: DataFolder`: the deployment's `Settings` itself (folders,
# organiser domains, upload limit), the object the CLI and the web app use too. No copy, no round trip.
DataFolder = dg.ResourceParam[Settings]


@cache
def _engine(url: str) -> Engine:
    engine = make_engine(url)
    create_schema(engine)
    return engine


class Warehouse(dg.ConfigurableResource):
    """The SQLAlchemy warehouse: `Settings.db_url` (SQLite file by default, any URL from ENGAGEMENT_DB_URL)."""

    url: str

    def engine(self) -> Engine:
        return _engine(self.url)


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


def resources_for(settings: Settings) -> dict[str, Any]:
    """The deployment's resources made from `settings`: the one place that says which resource takes what."""
    return {
        "data_folder": settings,
        "warehouse": Warehouse(url=settings.db_url),
        "inbox": Inbox(directory=str(settings.inbox_dir), url=settings.inbox_url),
    }


def at_setup(make: Callable[[], object], description: str) -> dg.ResourceDefinition:
    """A resource `make` builds when it is set up (each run, each sensor tick): what it reads from the
    environment is read then, never at import. It has no config: the Launchpad shows nothing to edit."""
    return dg.ResourceDefinition(resource_fn=lambda _context: make(), description=description)


def environment_resources() -> dict[str, Any]:
    """The code location's resources, each made from `Settings.from_env()` (ENGAGEMENT_DATA_DIR,
    ENGAGEMENT_DB_URL, ENGAGEMENT_INBOX_URL, ...) when it is set up. Calling this reads nothing."""
    what = {"data_folder": "The data folder's settings", "warehouse": "The warehouse",
            "inbox": "The inbox (folder or bucket)"}
    return {
        **{key: at_setup(lambda key=key: resources_for(Settings.from_env())[key],
                         f"{text}, from the environment when set up") for key, text in what.items()},
        "scoring": Scoring(),
        # The filesystem IO manager, able to store a run that covers a batch of files (see defs/io.py).
        "io_manager": batch_io_manager,
    }


def default_resources(settings: Settings) -> dict[str, Any]:
    """The same resources for an in-process run (the CLI, tests) on `settings`, which the caller already holds."""
    made = resources_for(settings)
    return {
        **made,
        "data_folder": dg.ResourceDefinition.hardcoded_resource(made["data_folder"], "The data folder's settings"),
        "scoring": Scoring(),
        "io_manager": batch_io_manager,
    }
