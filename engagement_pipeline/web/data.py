"""What the API and the pages show, rebuilt from the warehouse with the same functions the assets use.

The engagement job stores the scores (with their components) and the merged attendance; the trends' figures,
risks, leaderboard and recommendations are recomputed from those here exactly as `actions/state.py` does for
the action jobs, so every figure equals what `score --json` reports for the same run. The state is cached
until the warehouse's newest scoring changes (one cheap query per request).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date
from types import SimpleNamespace
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from engagement_pipeline import warehouse as wh
from engagement_pipeline.actions.risks import open_signals, open_tasks
from engagement_pipeline.actions.state import NotScoredError, ScoredState, load_scored_state
from engagement_pipeline.config import COMPONENTS, DEFAULT_WEIGHTS, ScoringConfig, Settings
from engagement_pipeline.ingest.attendance import events_held as build_events_held
from engagement_pipeline.insights import engagement_risks, event_summary, leaderboard
from engagement_pipeline.insights.risks import decline_reason, format_p, risk_reason, trend_words
from engagement_pipeline.report.json_output import _plain
from engagement_pipeline.scoring import engagement_trends as compute_trends

ATTENDANCE_HISTORY_FIELDS: dict[str, str] = {
    # response field: warehouse column
    "event_id": "event_id", "event_name": "event_name", "event_type": "event_type", "event_date": "event_date",
    "attendee_name": "attendee_name", "attendee_email": "attendee_email", "registered": "registered",
    "attended": "attended", "role": "role", "minutes": "minutes_attended", "questions": "questions_asked",
    "polls": "polls_answered", "feedback": "feedback_submitted", "platform": "platform",
}


def plain(value: Any) -> Any:
    """JSON-ready values (dates as ISO text, NaN as null), the same conversion `score --json` uses."""
    return _plain(value)


def trend_reason(row: pd.Series | dict, months: int, min_events: int, as_of: date | None = None) -> str:
    """The trend in plain words from the test's own figures (a decline: the report's own reason, word for word)."""
    trend = row.get("trend") or "insufficient_data"
    expected = row.get("expected_current")
    if trend == "declining" and expected is not None and pd.notna(expected):
        fields = {**dict(row), **({"as_of": as_of} if as_of is not None else {})}
        return decline_reason(SimpleNamespace(**fields))
    if "window_days" in row and pd.notna(row.get("window_days")):
        return trend_words(SimpleNamespace(**dict(row)), min_events)
    cur, prev = int(row.get("events_current") or 0), int(row.get("events_previous") or 0)
    held_cur, held_prev = row.get("held_current"), row.get("held_previous")
    missed = int(row.get("events_missed") or 0)
    if trend == "insufficient_data":
        return f"too little history to judge a trend yet: at least {min_events} events are needed"
    sentence = risk_reason(cur, prev, row.get("p_value"), missed, months,
                           None if held_cur is None else int(held_cur), None if held_prev is None else int(held_prev))
    return f"{sentence}; " + ("coming more often than before" if trend == "rising" else "about as often as before")


@dataclass
class DashboardState:
    """Everything derived from one scoring date, built once per change of the warehouse."""

    scored: ScoredState
    trends: pd.DataFrame
    events: pd.DataFrame
    risks: pd.DataFrame
    board: pd.DataFrame
    months: int
    config: ScoringConfig
    _recommendations: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def as_of(self) -> date:
        return self.scored.as_of

    @property
    def scores(self) -> pd.DataFrame:
        return self.scored.scores

    @property
    def customers(self) -> pd.DataFrame:
        return self.scored.crm.customers

    def recommendations(self) -> pd.DataFrame:
        if self._recommendations is None:
            self._recommendations = self.scored.invitation_recommendations()
        return self._recommendations

    def customer_row(self, customer_id: str) -> pd.Series | None:
        found = self.customers.loc[self.customers["customer_id"] == customer_id]
        return None if found.empty else found.iloc[0]

    def event_types(self) -> pd.DataFrame:
        return event_summary(self.scored.attendance, self.events)


def build_state(engine: Engine, settings: Settings, config: ScoringConfig | None = None) -> DashboardState:
    config = config or ScoringConfig()
    scored = load_scored_state(engine, settings)
    events = build_events_held(scored.attendance)
    trends = compute_trends(scored.attendance, events, scored.crm.customers, scored.as_of, config)
    risks = engagement_risks(scored.scores, trends, scored.crm.customers, trend_window_days=config.trend_window_days)
    owners = scored.crm.customers[["customer_id", "csm_owner", "arr"]]
    board = leaderboard(scored.scores, trends)
    ids = scored.scores.loc[scored.scores["score"].notna()]
    ids = ids.assign(rank=ids["rank"].fillna(ids["score"].rank(ascending=False, method="min")))
    ids = ids.sort_values(["rank", "customer_name"], ignore_index=True)
    board.insert(1, "customer_id", ids["customer_id"].to_numpy())
    board["band"] = ids["band"].to_numpy()
    board = board.merge(owners, on="customer_id", how="left")
    months = max(1, round(config.trend_window_days / 30.44))
    return DashboardState(scored, trends, events, risks, board, months, config)


class StateCache:
    """Rebuilds the state only when the warehouse's scores change (newest scoring date or write time)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._state: DashboardState | None = None

    def _fingerprint(self) -> tuple:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(sa.func.max(wh.engagement_scores.c.as_of),
                                         sa.func.max(wh.engagement_scores.c.computed_at),
                                         sa.func.count())).one()
        return tuple(row)

    def get(self) -> DashboardState:
        """The current state; raises NotScoredError before the first scoring."""
        key = self._fingerprint()
        with self._lock:
            if self._state is None or key != self._key:
                if key[0] is None:
                    raise NotScoredError("No engagement scores in the warehouse yet: drop exports into the inbox "
                                         "(or upload one) and let the pipeline run.")
                self._state, self._key = build_state(self.engine, self.settings), key
            return self._state


def components_of(row: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], str | None]:
    """The five components (value 0–1, status, points, weight) and the one pulling the score down most."""
    parts: dict[str, dict[str, Any]] = {}
    for name in COMPONENTS:
        parts[name] = {
            "value": plain(row.get(name)), "status": plain(row.get(f"{name}_status")),
            "points": plain(row.get(f"contrib_{name}")), "weight": DEFAULT_WEIGHTS[name],
        }
    weakest = plain(row.get("weakest_component"))
    return parts, weakest


def customer_engagement(state: DashboardState, engine: Engine, customer_id: str) -> dict[str, Any] | None:
    """The engagement document of one customer, or None when the CRM does not know the id."""
    crm_row = state.customer_row(customer_id)
    if crm_row is None:
        return None
    found = state.scores.loc[state.scores["customer_id"] == customer_id]
    row = found.iloc[0].to_dict() if len(found) else {}
    components, weakest = components_of(row)
    trend_row = state.trends.loc[state.trends["customer_id"] == customer_id]
    trend = trend_row.iloc[0].to_dict() if len(trend_row) else {"trend": "insufficient_data"}
    with engine.connect() as conn:
        history = wh.load_score_history(conn, customer_id)
        rows = conn.execute(sa.select(wh.attendance).where(wh.attendance.c.customer_id == customer_id)
                            .order_by(wh.attendance.c.event_date.desc(), wh.attendance.c.event_name,
                                      wh.attendance.c.attendee_key)).mappings().all()
    attendance = [{field: plain(r[column]) for field, column in ATTENDANCE_HISTORY_FIELDS.items()} for r in rows]
    for item in attendance:
        item["event_date"] = str(item["event_date"])[:10]
    return {
        "customer_id": customer_id,
        "customer_name": str(crm_row["name"]),
        "csm_owner": plain(crm_row.get("csm_owner")),
        "arr": plain(crm_row.get("arr")),
        "as_of": state.as_of.isoformat(),
        "score": plain(row.get("score")),
        "band": plain(row.get("band")) or "Not scored",
        "rank": plain(row.get("rank")),
        "components": components,
        "weakest_component": weakest,
        "events_attended": plain(row.get("events_attended")),
        "events_held": plain(row.get("events_held")),
        "users": plain(row.get("users")),
        "trend": {
            "state": trend.get("trend") or "insufficient_data",
            "reason": trend_reason(trend, state.months, state.config.trend_min_events, state.as_of),
            "events_current": plain(trend.get("events_current")),
            "events_previous": plain(trend.get("events_previous")),
            "held_current": plain(trend.get("held_current")),
            "held_previous": plain(trend.get("held_previous")),
            "rate_ratio": _finite(trend.get("rate_ratio")),
            "p_value": plain(trend.get("p_value")),
            "p_text": format_p(trend.get("p_value")),
            "events_missed": plain(trend.get("events_missed")),
        },
        "score_history": [
            {"as_of": pd.Timestamp(h.as_of).date().isoformat(), "score": plain(h.score), "band": h.band,
             "trend": plain(h.trend)} for h in history.itertuples()
        ],
        "attendance": attendance,
    }


def _finite(value: Any) -> float | None:
    """JSON has no infinity: a rate ratio of +inf (nothing attended before) is reported as null."""
    value = plain(value)
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return None
    return value


def leaderboard_rows(state: DashboardState, *, owner: str | None = None, limit: int | None = None,
                     sort: str = "rank", descending: bool = False) -> list[dict[str, Any]]:
    board = state.board
    if owner:
        board = board.loc[board["csm_owner"].fillna("").str.lower() == owner.strip().lower()]
    keys = {"rank": "rank", "score": "score", "customer": "customer", "arr": "arr", "users": "users",
            "trend": "trend", "owner": "csm_owner"}
    column = keys.get(sort, "rank")
    board = board.sort_values([column, "rank"], ascending=[not descending, True], na_position="last", kind="stable")
    if limit:
        board = board.head(limit)
    out = []
    for r in board.to_dict(orient="records"):
        attended, held = str(r["events attended / events held"]).split("/")
        out.append({"rank": int(r["rank"]), "customer_id": r["customer_id"], "customer_name": r["customer"],
                    "score": plain(r["score"]), "band": r["band"], "events_attended": int(attended),
                    "events_held": int(held), "users": int(r["users"]), "trend": r["trend"],
                    "csm_owner": plain(r["csm_owner"]), "arr": plain(r["arr"])})
    return out


def risk_rows(state: DashboardState) -> list[dict[str, Any]]:
    return [{k: (_finite(v) if k == "rate_ratio" else plain(v)) for k, v in r.items()}
            for r in state.risks.to_dict(orient="records")]


def open_actions(engine: Engine) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Open risk signals and open outreach tasks (written by the action assets), newest first."""
    with engine.connect() as conn:
        signals, tasks = open_signals(conn), open_tasks(conn)
    return ([plain(r) for r in signals.to_dict(orient="records")],
            [plain(r) for r in tasks.to_dict(orient="records")])


def recommendation_groups(state: DashboardState, *, event: str | None = None,
                          limit: int | None = None) -> list[dict[str, Any]]:
    """Per upcoming event (soonest first), its recommended contacts best rank first, with the reasons."""
    recs = state.recommendations()
    upcoming = state.scored.upcoming
    groups = []
    for ev in upcoming.to_dict(orient="records"):
        name = str(ev["event_name"])
        if event and name.lower() != event.strip().lower():
            continue
        chosen = recs.loc[recs["event_name"] == name].sort_values("rank")
        if limit:
            chosen = chosen.head(limit)
        groups.append({
            "event_name": name, "event_type": ev["event_type"],
            "event_date": pd.Timestamp(ev["event_date"]).date().isoformat(),
            "topics": list(ev.get("topics") or ()), "registration_url": plain(ev.get("registration_url")),
            "recommendations": [
                {"rank": int(r["rank"]), "customer_id": r["customer_id"], "customer_name": r["customer_name"],
                 "contact_name": plain(r["contact_name"]), "contact_email": r["contact_email"],
                 "reason": r["reason"], "relevance": plain(r["relevance"])}
                for r in chosen.to_dict(orient="records")
            ],
        })
    return groups


def contacts_of(state: DashboardState, customer_id: str) -> list[dict[str, Any]]:
    contacts = state.scored.crm.contacts
    rows = contacts.loc[contacts["customer_id"] == customer_id]
    return [{"name": plain(r.get("name")), "email": plain(r.get("email")), "role": plain(r.get("role")),
             "is_champion": bool(r.get("is_champion"))} for r in rows.to_dict(orient="records")]


def advocacy_status(state: DashboardState, engine: Engine, customer_id: str) -> dict[str, Any]:
    """Whether the customer is an advocacy candidate now, and its advocacy opportunities so far."""
    from engagement_pipeline.actions.advocacy import load_opportunities

    candidates = state.scored.advocacy_candidates()
    mine = candidates.loc[candidates["customer_id"] == customer_id]
    opportunities = load_opportunities(engine)
    opportunities = opportunities.loc[opportunities["customer_id"] == customer_id]
    return {
        "candidate": not mine.empty,
        "notable": str(mine.iloc[0]["notable_text"]) if len(mine) else "",
        "suggested": str(mine.iloc[0]["suggested_types_text"]) if len(mine) else "",
        "opportunities": [plain(r) for r in opportunities.to_dict(orient="records")],
    }

