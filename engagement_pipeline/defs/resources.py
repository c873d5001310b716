"""Configurable resources: where the data folder is, which warehouse, how to score, the inbox."""


from datetime import date
from functools import cache
from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy.engine import Engine

from engagement_pipeline.config import DEFAULT_WEIGHTS, ConfigError, ScoringConfig, Settings
from engagement_pipeline.inbox import InboxFile, ready_files, resolve_inside
from engagement_pipeline.warehouse import create_schema, make_engine


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
    """The watched folder. `consume` moves processed files out (the sensor's inbox); the CLI reads in place."""

    directory: str
    consume: bool = True
    settle_seconds: float = 2.0

    def ready(self) -> list[InboxFile]:
        return ready_files(Path(self.directory), self.settle_seconds)

    def locate(self, file_name: str) -> Path:
        return resolve_inside(Path(self.directory), file_name)


class Scoring(dg.ConfigurableResource):
    """Scoring date and parameters; `as_of` empty means today. Validated before anything is computed."""

    as_of: str = ""
    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    window_days: int = 365
    recency_half_life_days: float = 60.0
    trend_window_days: int = 182
    trend_alpha: float = 0.10
    trend_min_events: int = 4
    prior_strength: float = 4.0
    diversity_shrink_events: float = 2.0
    depth_time_weight: float = 0.40
    depth_question_weight: float = 0.25
    depth_poll_weight: float = 0.15
    depth_feedback_weight: float = 0.20

    def as_of_date(self) -> date:
        return date.fromisoformat(self.as_of) if self.as_of else date.today()

    def config(self) -> ScoringConfig:
        try:
            fields = {name: getattr(self, name) for name in ScoringConfig.__dataclass_fields__}
            return ScoringConfig(**{**fields, "weights": dict(self.weights)})
        except ConfigError as err:
            raise dg.Failure(description=f"Scoring configuration is invalid: {err}") from err


def default_resources(settings: Settings | None = None) -> dict[str, dg.ConfigurableResource]:
    """Resources for the embedded defaults, read from the environment at load time."""
    s = settings or Settings.from_env()
    return {
        "warehouse": Warehouse(url=s.db_url),
        "data_folder": DataFolder(
            path=str(s.data_dir),
            internal_domains=sorted(s.internal_domains),
            max_upload_mb=max(1, s.max_upload_bytes // (1024 * 1024)),
        ),
        "inbox": Inbox(directory=str(s.inbox_dir)),
        "scoring": Scoring(),
    }
