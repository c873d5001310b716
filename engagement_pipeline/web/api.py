"""The API under /api: the requirement's four endpoints, plus the leaderboard and risks the dashboard reads."""

from __future__ import annotations

import hashlib
import tempfile
from datetime import date
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from engagement_pipeline.web import data as views
from engagement_pipeline.web.errors import ApiProblem, bearer_required
from engagement_pipeline.web.models import (
    ApiError,
    Engagement,
    EventRecommendations,
    InvitationRequest,
    InvitationResult,
    Leaderboard,
    Risks,
    Uplift,
    UpliftRow,
    UploadAccepted,
    UploadStatus,
)
from engagement_pipeline.web.sending import send_event_invitations
from engagement_pipeline.web.uploads import (
    EventDetails,
    UploadError,
    add_override,
    check_details,
    deposit,
    inbox_name,
    remember,
    safe_file_name,
    upload_status,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ApiError, "description": "No or wrong token"},
    409: {"model": ApiError, "description": "Nothing scored yet: the pipeline has not run"},
    422: {"model": ApiError, "description": "A parameter is invalid"},
}

router = APIRouter(prefix="/api", dependencies=[Depends(bearer_required)], responses=ERRORS)


def _ctx(request: Request) -> Any:
    return request.app.state.ctx


async def store_upload(request: Request, upload: UploadFile, details: EventDetails) -> dict[str, Any]:
    """Checks, sizes and hashes the upload, puts it into the inbox and notes its overrides; the 202 body."""
    ctx = _ctx(request)
    try:
        name = safe_file_name(upload.filename)
        check_details(details)
    except UploadError as err:
        raise ApiProblem(422, "invalid", str(err)) from err
    limit = ctx.settings.max_upload_bytes
    digest, size = hashlib.sha256(), 0
    with tempfile.TemporaryDirectory(prefix="engagement-upload-") as tmp:
        spooled = FilePath(tmp) / "upload.bin"
        with spooled.open("wb") as out:
            while block := await upload.read(1 << 20):
                size += len(block)
                if size > limit:
                    raise ApiProblem(413, "too_large", f"the file is larger than the upload limit of "
                                                       f"{limit // (1024 * 1024)} MB (ENGAGEMENT_MAX_UPLOAD_MB)")
                digest.update(block)
                out.write(block)
        if size == 0:
            raise ApiProblem(422, "invalid", f"{name} is empty")
        sha256 = digest.hexdigest()
        name = inbox_name(ctx.settings, name, sha256)
        if details:  # before the file is visible, so the sensor's run already reads the line
            add_override(ctx.settings, name, details)
        remember(ctx.settings, sha256, name, details)
        deposit(ctx.settings, spooled, name)
    return {"upload_id": sha256, "file_name": name, "status": "queued",
            "status_url": f"/api/events/attendance/uploads/{sha256}", "overrides_written": bool(details)}


@router.post("/events/attendance/upload", status_code=202, response_model=UploadAccepted,
             responses={413: {"model": ApiError, "description": "Larger than the upload limit"}},
             summary="Upload an attendance export into the pipeline's inbox")
async def upload_attendance(
    request: Request,
    file: Annotated[UploadFile, File(description="The export: Zoom, Eventbrite, Hopin, ... (CSV or Excel)")],
    event_name: Annotated[str | None, Form(max_length=300, description="For files that lack it")] = None,
    event_type: Annotated[str | None, Form(description="webinar | user_group | training | conference")] = None,
    event_date: Annotated[date | None, Form(description="YYYY-MM-DD, for files that lack it")] = None,
) -> JSONResponse:
    """The file enters the same inbox the sensor watches, so the same run processes it. Event details given
    here are written as an `events/overrides.csv` line for exactly this file. Poll `status_url`."""
    details = EventDetails(event_name or None, (event_type or "").strip().lower() or None, event_date)
    body = await store_upload(request, file, details)
    return JSONResponse(body, status_code=202, headers={"Location": body["status_url"]})


@router.get("/events/attendance/uploads/{upload_id}", response_model=UploadStatus,
            responses={404: {"model": ApiError, "description": "No upload with this id"}},
            summary="An upload's status and row ledger")
def get_upload(request: Request, upload_id: Annotated[str, Path(
        pattern="^[0-9a-f]{64}$", description="The id the upload returned (sha256 of the file)")]) -> dict[str, Any]:
    ctx = _ctx(request)
    found = upload_status(ctx.engine, ctx.settings, upload_id)
    if found is None:
        raise ApiProblem(404, "not_found", f"no upload with id {upload_id}")
    return found


@router.get("/events/recommendations", response_model=list[EventRecommendations],
            summary="Recommended contacts per upcoming event, with reasons")
def get_recommendations(
    request: Request,
    event: Annotated[str | None, Query(max_length=300, description="Only this upcoming event (exact name)")] = None,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="At most this many contacts per event")] = None,
) -> list[dict[str, Any]]:
    state = _ctx(request).cache.get()
    return views.recommendation_groups(state, event=event, limit=limit)


@router.post("/events/invitations", response_model=InvitationResult,
             responses={404: {"model": ApiError, "description": "No single upcoming event matches"}},
             summary="Invite an event's recommended contacts (dry run by default)")
def post_invitations(request: Request, body: InvitationRequest) -> dict[str, Any]:
    """Per recipient its status and, for a dry run, the rendered subject and text. A real send goes through the
    same gates as the send job: never twice for one event, suppression list, frequency cap."""
    ctx = _ctx(request)
    state = ctx.cache.get()
    try:
        return send_event_invitations(ctx.engine, ctx.settings, state.scored, body.event,
                                      customers=body.customer_ids or (), top=body.top, dry_run=body.dry_run)
    except ValueError as err:
        raise ApiProblem(404, "not_found", str(err)) from err


@router.get("/events/leaderboard", response_model=Leaderboard, summary="Customers by engagement score")
def get_leaderboard(
    request: Request,
    owner: Annotated[str | None, Query(max_length=200, description="Only this CSM owner's customers")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10000)] = None,
    sort: Annotated[str, Query(pattern="^(rank|score|customer|arr|users|trend|owner)$")] = "rank",
    descending: bool = False,
) -> dict[str, Any]:
    state = _ctx(request).cache.get()
    return {"as_of": state.as_of.isoformat(),
            "customers": views.leaderboard_rows(state, owner=owner, limit=limit, sort=sort, descending=descending)}


@router.get("/events/risks", response_model=Risks, summary="Declining customers by ARR at stake, open signals")
def get_risks(request: Request) -> dict[str, Any]:
    ctx = _ctx(request)
    state = ctx.cache.get()
    signals, tasks = views.open_actions(ctx.engine)
    return {"as_of": state.as_of.isoformat(), "risks": views.risk_rows(state), "open_signals": signals,
            "open_outreach": tasks}


@router.get("/events/{customer_id}/engagement", response_model=Engagement,
            responses={404: {"model": ApiError, "description": "No customer with this id"}},
            summary="One customer's score, components, trend, score history and attendance history")
def get_engagement(request: Request, customer_id: str) -> dict[str, Any]:
    ctx = _ctx(request)
    state = ctx.cache.get()
    found = views.customer_engagement(state, ctx.engine, customer_id)
    if found is None:
        raise ApiProblem(404, "not_found", f"no customer with id {customer_id!r} in the CRM")
    return found


@router.get("/events/uplift", response_model=Uplift,
            summary="Did invitations raise attendance? Invited vs randomly held-out contacts, with 95% intervals")
def get_uplift(request: Request) -> dict[str, Any]:
    from engagement_pipeline.actions.report import uplift_table
    from engagement_pipeline.actions.uplift import markdown_section, metrics

    ctx = _ctx(request)
    state = ctx.cache.get()
    with ctx.engine.connect() as conn:
        table = uplift_table(conn, state.scored.attendance)
    fields = UpliftRow.model_fields
    rows = [{k: views.plain(v) for k, v in row.items() if k in fields} for row in table.to_dict("records")]
    return {"answer": markdown_section(table), "metrics": metrics(table), "rows": rows}

