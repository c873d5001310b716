"""Settings with validated defaults, read from the environment so the CLI, the UI and tests agree.

Everything a deployment changes (where data lives, which database) comes from environment variables;
everything an analyst tunes (weights, windows, half-lives) lives in `ScoringConfig` with checked defaults.
`ScoringConfig` is declared once: the Dagster `scoring` resource (defs/engagement/resources.py) inherits its
fields, so the Launchpad, the run config and the domain functions read the same model.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engagement_pipeline.warehouse.databases import sqlalchemy_url

DEFAULT_WEIGHTS: dict[str, float] = {
    "frequency": 0.30,
    "recency": 0.25,
    "diversity": 0.20,
    "depth": 0.15,
    "consistency": 0.10,
}
COMPONENTS: tuple[str, ...] = tuple(DEFAULT_WEIGHTS)

# Bands are inclusive lower bounds: High 80–100, Good 60–79, Medium 40–59, Low 0–39.
BANDS: tuple[tuple[str, float], ...] = (("High", 80.0), ("Good", 60.0), ("Medium", 40.0), ("Low", 0.0))


class ConfigError(ValueError):
    """A setting that would make the numbers wrong; raised before anything is computed."""


class ScoringConfig(BaseModel):
    """How engagement is scored. Defaults follow the product spec and DESIGN.md; checked when built."""

    model_config = ConfigDict(frozen=True)

    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    window_days: int = 365
    recency_half_life_days: float = 90.0
    activity_half_life_days: float = 50.0  # weight of an event in frequency/diversity/depth/consistency halves
    # Frequency from each person's share of events, 1 − Π(1 − r_u) (less noisy); False: the plain share of
    # events one of its people attended (for teams that always come together, which the former reads high).
    frequency_from_people: bool = True
    trend_window_days: int = 182  # the window the report's trend wording uses ("the last 6 months")
    # Decline test (scoring/trends.py, docs/methods.md): short recent window, baseline before it, one-sided level.
    trend_recent_days: int = 56
    trend_baseline_days: int = 273
    trend_alpha: float = 0.005
    trend_min_drop: float = 0.5
    trend_drop_ratio: float = 0.35  # the CUSUM's alternative: the rate fell to about a third
    trend_cusum_threshold: float = 3.0
    trend_baseline_quantile: float = 0.2
    trend_rising_alpha: float = 0.05
    trend_min_events: int = 4
    trend_people_alpha: float = 0.02  # the account-level look (person-attendances per event); 0 turns it off
    trend_season_alpha: float = 0.05  # same weeks last year as low as now (p >= this): a seasonal lull, not news
    # Back again: attended at least `trend_recovered_attended` of the last `trend_recovered_of` events held
    # clears a decline (0 turns it off): the flag says "comes less now", and it came just now.
    trend_recovered_attended: int = 2
    trend_recovered_of: int = 3
    prior_strength: float = 4.0
    diversity_shrink_events: float = 2.0
    # Participation depth of one attended record: sub-weights of its parts (sum to 1); speaking counts 1.0.
    depth_time_weight: float = 0.40
    depth_question_weight: float = 0.25
    depth_poll_weight: float = 0.15
    depth_feedback_weight: float = 0.20

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self._check()  # here, not in a pydantic validator, so the caller sees a ConfigError

    def parameters(self) -> ScoringConfig:
        """Just the parameters, as a plain `ScoringConfig` (a subclass may carry more fields)."""
        return ScoringConfig(**{name: getattr(self, name) for name in ScoringConfig.model_fields})

    def _check(self) -> None:
        unknown = set(self.weights) - set(COMPONENTS)
        missing = set(COMPONENTS) - set(self.weights)
        if unknown or missing:
            raise ConfigError(
                f"weights must name exactly {', '.join(COMPONENTS)}; "
                f"unknown: {sorted(unknown) or 'none'}, missing: {sorted(missing) or 'none'}"
            )
        if any(w < 0 or not math.isfinite(w) for w in self.weights.values()):
            raise ConfigError(f"weights must be finite and non-negative, got {self.weights}")
        total = sum(self.weights.values())
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ConfigError(f"weights must sum to 1, they sum to {total:.4f}")
        if self.window_days < 28:
            raise ConfigError("window_days must be at least 28")
        if not 0 < self.trend_window_days <= self.window_days:
            raise ConfigError("trend_window_days must be positive and no longer than window_days")
        if self.recency_half_life_days <= 0 or self.activity_half_life_days <= 0:
            raise ConfigError("recency_half_life_days and activity_half_life_days must be positive")
        if self.trend_recent_days < 7 or self.trend_baseline_days < self.trend_recent_days:
            raise ConfigError("trend_recent_days must be >= 7 and trend_baseline_days at least as long")
        if not 0 < self.trend_min_drop <= 1:
            raise ConfigError("trend_min_drop must be in (0, 1]")
        if not 0 <= self.trend_recovered_attended <= self.trend_recovered_of:
            raise ConfigError("trend_recovered_attended must be between 0 and trend_recovered_of")
        if not 0 < self.trend_alpha < 1:
            raise ConfigError("trend_alpha must be between 0 and 1")
        if self.prior_strength < 0 or self.diversity_shrink_events < 0:
            raise ConfigError("prior_strength and diversity_shrink_events must be non-negative")
        depth = (self.depth_time_weight, self.depth_question_weight, self.depth_poll_weight,
                 self.depth_feedback_weight)
        if any(w < 0 or not math.isfinite(w) for w in depth) or not math.isclose(sum(depth), 1.0, abs_tol=1e-6):
            raise ConfigError(f"depth_*_weight must be finite, non-negative and sum to 1, got {depth}")


def band_for(score: float) -> str:
    """The band of a 0–100 score; scores are compared after rounding to whole points, as displayed."""
    shown = round(score)
    for name, lower in BANDS:
        if shown >= lower:
            return name
    return "Low"


@dataclass(frozen=True)
class Settings:
    """Where things live. `ENGAGEMENT_DATA_DIR` moves the whole data folder; `ENGAGEMENT_INBOX_URL`
    (`s3://bucket/prefix`) moves the inbox, archive and rejected files into a bucket."""

    data_dir: Path
    db_url: str
    internal_domains: frozenset[str]
    max_upload_bytes: int = 50 * 1024 * 1024
    inbox_url: str = ""  # empty: the folder `inbox_dir`

    @property
    def inbox_dir(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def crm_dir(self) -> Path:
        return self.data_dir / "crm"

    @property
    def events_dir(self) -> Path:
        return self.data_dir / "events"

    @property
    def archive_dir(self) -> Path:
        return self.data_dir / "archive"

    @property
    def rejected_dir(self) -> Path:
        return self.data_dir / "rejected"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def mappings_dir(self) -> Path:
        """Column mappings (`*.yaml`) for header layouts no platform module recognises."""
        return self.data_dir / "mappings"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("ENGAGEMENT_DATA_DIR") or Path.cwd() / "data").resolve()
        db_url = sqlalchemy_url(env.get("ENGAGEMENT_DB_URL") or f"sqlite:///{data_dir / 'warehouse.sqlite'}")
        raw_domains = env.get("ENGAGEMENT_INTERNAL_DOMAINS")
        internal = (frozenset(d.strip().lower() for d in raw_domains.split(",") if d.strip()) if raw_domains is not None
                    else domains_file(data_dir))
        max_bytes = int(env.get("ENGAGEMENT_MAX_UPLOAD_MB", "50")) * 1024 * 1024
        inbox_url = env.get("ENGAGEMENT_INBOX_URL", "").strip()
        if inbox_url and not (inbox_url.startswith("s3://") and inbox_url[len("s3://"):].split("/")[0]):
            raise ConfigError(f"ENGAGEMENT_INBOX_URL must be s3://bucket[/prefix] (or unset for the folder), "
                              f"got {inbox_url!r}")
        return cls(data_dir=data_dir, db_url=db_url, internal_domains=internal, max_upload_bytes=max_bytes,
                   inbox_url=inbox_url)


def missing_crm(settings: Settings) -> str | None:
    """One line saying which CRM file is missing and how to get it, or None when both are there. Checked before
    anything is archived or a warehouse created, so a newcomer's first command leaves nothing half-done."""
    missing = [name for name in ("customers.csv", "contacts.csv") if not (settings.crm_dir / name).is_file()]
    if not missing:
        return None
    return (f"No CRM: {' and '.join(str(settings.crm_dir / m) for m in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing. Put your CRM export there (README: The CRM format), "
            "or run `engagement-pipeline init` for the demo data.")


# The demo's organiser; its people host and present, and never count as customer engagement. The demo writes it
# to its data folder's crm/internal_domains.txt (beside the customers, so every copy of the CRM carries it); it is
# never a default: an unconfigured folder infers the organiser per upload from the file's host rows
# (ingest/organiser.py).
DEMO_ORGANISER_DOMAIN = "northwind-analytics.com"
INTERNAL_DOMAINS_FILE = "internal_domains.txt"


def domains_file(data_dir: Path) -> frozenset[str]:
    """Organiser domains from `<data_dir>/crm/internal_domains.txt` (one per line, `#` comments); empty if absent."""
    path = data_dir / "crm" / INTERNAL_DOMAINS_FILE
    if not path.is_file():
        return frozenset()
    lines = (line.split("#", 1)[0].strip().lower() for line in path.read_text(encoding="utf-8").splitlines())
    return frozenset(line for line in lines if line)
