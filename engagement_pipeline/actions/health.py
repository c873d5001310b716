"""Customer health: the CRM's usage-based health blended with the engagement score, kept per scoring date.

`health = (1 - w) * usage_health + w * engagement_score` (both 0–100, w = `engagement_weight`, default 0.3);
when one side is missing the other stands alone, so no customer silently drops out. Re-scoring the same date
replaces that date's rows; other dates stay as history.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from engagement_pipeline.warehouse.action_tables import customer_health, read_table
from engagement_pipeline.warehouse.store import insert_frame, write_lock

DEFAULT_ENGAGEMENT_WEIGHT = 0.3
HEALTH_COLUMNS: tuple[str, ...] = ("customer_id", "customer_name", "usage_health", "engagement_score",
                                   "engagement_weight", "health_score")


def blend_health(scores: pd.DataFrame, customers: pd.DataFrame,
                 engagement_weight: float = DEFAULT_ENGAGEMENT_WEIGHT) -> pd.DataFrame:
    if not 0 <= engagement_weight <= 1:
        raise ValueError(f"engagement_weight must be between 0 and 1, got {engagement_weight}")
    merged = customers[["customer_id", "name", "usage_health"]].merge(
        scores[["customer_id", "score"]], on="customer_id", how="left")
    usage = pd.to_numeric(merged["usage_health"], errors="coerce")
    engagement = pd.to_numeric(merged["score"], errors="coerce")
    blended = (1 - engagement_weight) * usage + engagement_weight * engagement
    merged["health_score"] = blended.fillna(usage).fillna(engagement).round(1)
    return pd.DataFrame({
        "customer_id": merged["customer_id"], "customer_name": merged["name"], "usage_health": usage,
        "engagement_score": engagement.round(1), "engagement_weight": engagement_weight,
        "health_score": merged["health_score"],
    })[list(HEALTH_COLUMNS)]


def store_health(conn: Connection, as_of: date, health: pd.DataFrame) -> int:
    write_lock(conn)  # a concurrent run deleting the same date's rows would otherwise collide on the key
    conn.execute(sa.delete(customer_health).where(customer_health.c.as_of == as_of))
    return insert_frame(conn, customer_health, health, HEALTH_COLUMNS, as_of=as_of, computed_at=datetime.now(UTC))


def health_history(conn: Connection, customer_id: str | None = None) -> pd.DataFrame:
    where = [customer_health.c.customer_id == customer_id] if customer_id else []
    return read_table(conn, customer_health, *where)


def health_update_sentence(customers: int, signals_created: int) -> str:
    """The report's closing line."""
    return (f"Updated engagement in the health score for all {customers} customer{'s' * (customers != 1)}; "
            f"{signals_created} risk signal{'s' * (signals_created != 1)} created.")
