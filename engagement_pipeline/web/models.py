"""The API's request and response shapes, with the examples the OpenAPI schema shows."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ApiError(BaseModel):
    error: str = Field(description="A stable code: unauthorized, forbidden, not_found, too_large, invalid, "
                                   "not_scored, internal")
    detail: str = Field(description="What went wrong, in words")

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"error": "unauthorized", "detail": "Send the API token as 'Authorization: Bearer <token>'."}]})


class UploadAccepted(BaseModel):
    upload_id: str = Field(description="sha256 of the file's bytes; the same id the warehouse gives the upload")
    file_name: str = Field(description="The name the file was put into the inbox under")
    status: Literal["queued"] = "queued"
    status_url: str
    overrides_written: bool = Field(description="Whether an events/overrides.csv line was added for this file")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "upload_id": "9f2c0c3e5b1d4a7e8f6a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
        "file_name": "85240563680 - Attendee Report.csv", "status": "queued",
        "status_url": "/api/events/attendance/uploads/9f2c0c3e5b1d4a7e8f6a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
        "overrides_written": False}]})


class UploadStatus(BaseModel):
    upload_id: str
    file_name: str
    status: str = Field(description="queued (in the inbox) | processing (a run has it) | accepted | rejected "
                                    "(| waiting, for files held for event details)")
    reason: str | None = Field(description="Why the file was rejected or is waiting")
    platform: str | None
    rows_read: int | None
    rows_kept: int | None
    rows_excluded: int | None
    rows_quarantined: int | None
    records: int | None
    excluded_by_reason: dict[str, int]
    warehouse_upload_id: int | None
    event: dict[str, Any] | None = Field(description="Event details given with the upload, if any")

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "upload_id": "9f2c0c3e5b1d4a7e8f6a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70",
        "file_name": "85240563680 - Attendee Report.csv", "status": "accepted", "reason": None,
        "platform": "zoom_webinar", "rows_read": 61, "rows_kept": 45, "rows_excluded": 16, "rows_quarantined": 0,
        "records": 45, "excluded_by_reason": {"host": 2, "internal": 3, "waiting_room": 11},
        "warehouse_upload_id": 7, "event": None}]})


class Component(BaseModel):
    value: float | None = Field(description="0–1; null when the component cannot be measured")
    status: str | None
    points: float | None = Field(description="Points of the 0–100 score this component contributes")
    weight: float


class Trend(BaseModel):
    state: str = Field(description="rising | stable | declining | insufficient_data")
    reason: str = Field(description="The trend in plain words, from the test's own figures")
    events_current: int | None
    events_previous: int | None
    held_current: int | None
    held_previous: int | None
    rate_ratio: float | None
    p_value: float | None
    p_text: str
    events_missed: int | None


class ScorePoint(BaseModel):
    as_of: str
    score: float | None
    band: str
    trend: str | None


class AttendanceRow(BaseModel):
    event_id: str
    event_name: str
    event_type: str
    event_date: str
    attendee_name: str | None
    attendee_email: str | None
    registered: bool
    attended: bool
    role: str
    minutes: float
    questions: int
    polls: int
    feedback: bool
    platform: str


class Engagement(BaseModel):
    customer_id: str
    customer_name: str
    csm_owner: str | None
    arr: float | None
    as_of: str = Field(description="The scoring date of the score and components")
    score: float | None
    band: str
    rank: int | None
    components: dict[str, Component]
    weakest_component: str | None = Field(description="The component pulling the score down most")
    events_attended: int | None
    events_held: int | None
    users: int | None
    trend: Trend
    score_history: list[ScorePoint]
    attendance: list[AttendanceRow]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "customer_id": "C012", "customer_name": "Acme Robotics", "csm_owner": "Dana Kim", "arr": 240000.0,
        "as_of": "2026-11-02", "score": 41.3, "band": "Medium", "rank": 37,
        "components": {"frequency": {"value": 0.35, "status": "measured", "points": 10.5, "weight": 0.3}},
        "weakest_component": "recency", "events_attended": 10, "events_held": 18, "users": 3,
        "trend": {"state": "declining", "reason": "attended 2 of 9 events in the last 6 months vs 8 of 9 in the "
                  "6 before (p=0.055); missed the last 4 events in a row", "events_current": 2,
                  "events_previous": 8, "held_current": 9, "held_previous": 9, "rate_ratio": 0.25,
                  "p_value": 0.055, "p_text": "p=0.055", "events_missed": 4},
        "score_history": [{"as_of": "2026-11-02", "score": 41.3, "band": "Medium", "trend": "declining"}],
        "attendance": [{"event_id": "zoom-85240563680", "event_name": "Product Roadmap Webinar",
                        "event_type": "webinar", "event_date": "2026-06-10", "attendee_name": "Ana Lopez",
                        "attendee_email": "ana@acme.example", "registered": True, "attended": True,
                        "role": "attendee", "minutes": 52.0, "questions": 1, "polls": 2, "feedback": True,
                        "platform": "zoom_webinar"}]}]})


class Recommendation(BaseModel):
    rank: int
    customer_id: str
    customer_name: str
    contact_name: str | None
    contact_email: str
    reason: str
    relevance: float | None


class EventRecommendations(BaseModel):
    event_name: str
    event_type: str
    event_date: str
    topics: list[str]
    registration_url: str | None
    recommendations: list[Recommendation]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "event_name": "Data Quality Summit", "event_type": "conference", "event_date": "2026-12-03",
        "topics": ["data quality"], "registration_url": "https://events.example/dq",
        "recommendations": [{"rank": 1, "customer_id": "C030", "customer_name": "Tango Foods",
                             "contact_name": "Jamal Ortega", "contact_email": "jamal.ortega@tangofoods.co.uk",
                             "reason": "attended 3 data quality sessions", "relevance": 0.92}]}]})


class InvitationRequest(BaseModel):
    event: str = Field(min_length=1, max_length=300, description="An upcoming event's name (a unique prefix is "
                                                                 "enough)")
    top: int | None = Field(default=None, ge=1, le=500, description="The N best recommended contacts")
    customer_ids: list[str] | None = Field(default=None, max_length=500,
                                           description="Only these customers (ids or names); wins over top")
    dry_run: bool = Field(default=True, description="Render and show, send and record nothing (the default)")

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"event": "Data Quality Summit", "top": 5, "dry_run": True},
        {"event": "Data Quality Summit", "customer_ids": ["C030", "C075"], "dry_run": False}]})

    @model_validator(mode="after")
    def _one_selection(self) -> InvitationRequest:
        if self.top is None and not self.customer_ids:
            raise ValueError("give either top (the N best recommendations) or customer_ids")
        return self


class Recipient(BaseModel):
    customer_id: str | None
    customer_name: str | None
    contact_name: str | None
    contact_email: str
    status: str = Field(description="dry_run | sent | skipped | failed")
    reason: str | None = Field(description="Why skipped or failed (already invited, suppressed, frequency cap…)")
    message_id: str | None
    subject: str | None = Field(default=None, description="Dry run: the rendered subject")
    text: str | None = Field(default=None, description="Dry run: the rendered plain-text body")


class InvitationResult(BaseModel):
    event_name: str
    event_date: str
    dry_run: bool
    counts: dict[str, int]
    recipients: list[Recipient]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "event_name": "Data Quality Summit", "event_date": "2026-12-03", "dry_run": True, "counts": {"dry_run": 1},
        "recipients": [{"customer_id": "C030", "customer_name": "Tango Foods", "contact_name": "Jamal Ortega",
                        "contact_email": "jamal.ortega@tangofoods.co.uk", "status": "dry_run",
                        "reason": "rendered, not sent", "message_id": None,
                        "subject": "You're Invited: Data Quality Summit", "text": "Hi Jamal, ..."}]}]})


class LeaderboardRow(BaseModel):
    rank: int
    customer_id: str
    customer_name: str
    score: float | None
    band: str
    events_attended: int
    events_held: int
    users: int
    trend: str
    csm_owner: str | None
    arr: float | None


class Leaderboard(BaseModel):
    as_of: str
    customers: list[LeaderboardRow]

    model_config = ConfigDict(json_schema_extra={"examples": [{"as_of": "2026-11-02", "customers": [
        {"rank": 1, "customer_id": "C030", "customer_name": "Tango Foods", "score": 88.4, "band": "High",
         "events_attended": 15, "events_held": 18, "users": 6, "trend": "stable", "csm_owner": "Dana Kim",
         "arr": 180000.0}]}]})


class Risk(BaseModel):
    customer_id: str
    customer_name: str | None
    score: float | None
    band: str | None
    events_current: int
    events_previous: int
    events_missed: int
    rate_ratio: float | None
    p_value: float | None
    csm_owner: str | None
    arr: float | None
    reason: str


class Risks(BaseModel):
    as_of: str
    risks: list[Risk]
    open_signals: list[dict[str, Any]] = Field(description="Open risk signals recorded by the action assets")
    open_outreach: list[dict[str, Any]] = Field(description="Open outreach tasks (outreach due)")

    model_config = ConfigDict(json_schema_extra={"examples": [{"as_of": "2026-11-02", "risks": [
        {"customer_id": "C012", "customer_name": "Acme Robotics", "score": 41.3, "band": "Medium",
         "events_current": 2, "events_previous": 8, "events_missed": 4, "rate_ratio": 0.25, "p_value": 0.055,
         "csm_owner": "Dana Kim", "arr": 240000.0,
         "reason": "attended 2 of 9 events in the last 6 months vs 8 of 9 in the 6 before (p=0.055)"}],
        "open_signals": [], "open_outreach": []}]})


class UpliftRow(BaseModel):
    event: str = Field(description="An invited event, 'All events' (pooled), or the observational advocacy row")
    invited: int | None = None
    invited_attended: int | None = None
    held_out: int | None = None
    held_out_attended: int | None = None
    invited_rate: float | None = None
    held_out_rate: float | None = None
    uplift: float | None = Field(None, description="Absolute uplift (invited rate − held-out rate)")
    uplift_low: float | None = Field(None, description="95% interval, low end (Newcombe; Mantel-Haenszel pooled)")
    uplift_high: float | None = None
    verdict: str | None = Field(None, description="In words, or 'not enough data yet' with the reason")


class Uplift(BaseModel):
    answer: str = Field(description="Did invitations raise attendance? The report's section, as Markdown")
    metrics: dict[str, float] = Field(description="The numbers the Dagster metadata plots over time")
    rows: list[UpliftRow]

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "answer": "## Did invitations raise attendance?\n\nNot enough data yet: ...", "metrics": {},
        "rows": [{"event": "Analytics Summit", "invited": 32, "invited_attended": 14, "held_out": 8,
                  "held_out_attended": 2, "invited_rate": 0.4375, "held_out_rate": 0.25, "uplift": 0.1875,
                  "uplift_low": -0.17, "uplift_high": 0.43,
                  "verdict": "not enough data yet: fewer than 10 held out"}]}]})
