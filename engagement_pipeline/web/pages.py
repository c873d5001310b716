"""The dashboard: server-rendered pages (jinja2, inline SVG charts, no script or CDN), behind a login.

Signing in with the token sets an HttpOnly, SameSite=Strict session cookie; every form that changes something
(upload, send, sign out) is a POST carrying the session's CSRF token, and is refused from another origin.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import jinja2
import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from engagement_pipeline.actions.state import NotScoredError
from engagement_pipeline.insights.summary import TREND_LABELS
from engagement_pipeline.report.charts import bar_svg, histogram_svg, sparkline_svg
from engagement_pipeline.web import data as views
from engagement_pipeline.web.auth import SESSION_COOKIE, SESSION_SECONDS
from engagement_pipeline.web.errors import ApiProblem
from engagement_pipeline.web.sending import send_event_invitations
from engagement_pipeline.web.uploads import EventDetails, upload_status

templates = jinja2.Environment(
    loader=jinja2.PackageLoader("engagement_pipeline.web", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["money"] = lambda v: "" if v is None or v != v else f"{float(v):,.0f}"
templates.filters["num"] = lambda v, d=1: "n/a" if v is None or v != v else f"{float(v):.{d}f}"
templates.filters["trend_label"] = lambda t: TREND_LABELS.get(t or "insufficient_data", t)
templates.filters["q"] = lambda v: quote(str(v), safe="")

router = APIRouter(include_in_schema=False)


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def session(request: Request) -> str:
    """The page's session cookie, or a redirect to the sign-in form."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not request.app.state.ctx.guard.session_ok(cookie):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return cookie


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


def checked_post(request: Request, cookie: str, csrf: str | None) -> None:
    """A state change from a page: same origin and the session's CSRF token, else 403."""
    if not _same_origin(request) or not request.app.state.ctx.guard.csrf_ok(cookie, csrf):
        raise ApiProblem(403, "forbidden", "The form's CSRF token is missing or wrong (or it came from another "
                                           "site): reload the page and try again.")


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    cookie = request.cookies.get(SESSION_COOKIE)
    guard = request.app.state.ctx.guard
    csrf = guard.csrf_for(cookie) if guard.session_ok(cookie) else ""
    html = templates.get_template(name).render(csrf=csrf, signed_in=bool(csrf), **context)
    return HTMLResponse(html, status_code=status, headers={
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"})


def _safe_next(value: str | None) -> str:
    ok = value and value.startswith("/") and not value.startswith(("//", "/\\")) and "\\" not in value
    return value if ok else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return render(request, "login.html.j2", next=_safe_next(next), error="")


@router.post("/login")
def login(request: Request, token: Annotated[str, Form(max_length=500)] = "",
          next: Annotated[str, Form(max_length=2000)] = "/") -> Response:
    if not _same_origin(request):
        raise ApiProblem(403, "forbidden", "Sign in from this site's own form.")
    guard = request.app.state.ctx.guard
    if not guard.token_ok(token):
        return render(request, "login.html.j2", status=401, next=_safe_next(next), error="That token is not valid.")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, guard.new_session(), max_age=SESSION_SECONDS, httponly=True,
                        samesite="strict", secure=request.url.scheme == "https", path="/")
    return response


@router.post("/logout")
def logout(request: Request, cookie: Annotated[str, Depends(session)],
           csrf: Annotated[str | None, Form()] = None) -> Response:
    checked_post(request, cookie, csrf)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _not_scored(request: Request, err: NotScoredError) -> HTMLResponse:
    return render(request, "message.html.j2", status=409, title="Not scored yet", message=str(err))


@router.get("/")
def dashboard(request: Request, _cookie: Annotated[str, Depends(session)],
              owner: Annotated[str | None, Query(max_length=200)] = None,
              sort: Annotated[str, Query(pattern="^(rank|score|customer|arr|users|trend|owner)$")] = "rank",
              desc: bool = False) -> HTMLResponse:
    ctx = request.app.state.ctx
    try:
        state = ctx.cache.get()
    except NotScoredError as err:
        return _not_scored(request, err)
    signals, tasks = views.open_actions(ctx.engine)
    top = views.leaderboard_rows(state, owner=owner or None)[:10]
    board = sorted(top, key=lambda r: _sort_key(r, sort), reverse=desc)
    owners = sorted({str(o) for o in state.board["csm_owner"].dropna()})
    scores = [float(s) for s in state.scores["score"].dropna()]
    types = state.event_types()
    return render(
        request, "dashboard.html.j2", state=state, risks=views.risk_rows(state), signals=signals, tasks=tasks,
        board=board, owners=owners, owner=owner or "", sort=sort, desc=desc,
        histogram=histogram_svg(scores, bins=10, title=f"Engagement scores of {len(scores)} customers"),
        by_type=bar_svg([str(t) for t in types["event_type"]], [float(n) for n in types["events"]],
                        title="Events held by type"),
        types=types.to_dict(orient="records"),
        upcoming=views.recommendation_groups(state, limit=0),
        trend_counts=state.trends["trend"].value_counts().to_dict(),
    )


def _sort_key(row: dict[str, Any], sort: str) -> Any:
    key = {"customer": "customer_name", "owner": "csm_owner"}.get(sort, sort)
    value = row.get(key)
    return (value is None, value if value is not None else 0)


@router.get("/customers/{customer_id}")
def customer_page(request: Request, customer_id: str, _cookie: Annotated[str, Depends(session)]) -> HTMLResponse:
    ctx = request.app.state.ctx
    try:
        state = ctx.cache.get()
    except NotScoredError as err:
        return _not_scored(request, err)
    found = views.customer_engagement(state, ctx.engine, customer_id)
    if found is None:
        return render(request, "message.html.j2", status=404, title="No such customer",
                      message=f"No customer with id {customer_id} in the CRM.")
    history = [(date.fromisoformat(h["as_of"]), h["score"]) for h in found["score_history"] if h["score"] is not None]
    components = found["components"]
    return render(
        request, "customer.html.j2", c=found, contacts=views.contacts_of(state, customer_id),
        advocacy=views.advocacy_status(state, ctx.engine, customer_id),
        spark=sparkline_svg(history, width=320, height=60),
        components_chart=bar_svg(list(components), [round(100 * (p["value"] or 0), 1) for p in components.values()],
                                 title="Components (0–100)"),
    )


def _event_state(request: Request, name: str) -> tuple[Any, dict[str, Any] | None]:
    state = request.app.state.ctx.cache.get()
    groups = views.recommendation_groups(state, event=name)
    return state, groups[0] if groups else None


@router.get("/event")
def event_page(request: Request, _cookie: Annotated[str, Depends(session)],
               name: Annotated[str, Query(max_length=300)]) -> HTMLResponse:
    ctx = request.app.state.ctx
    try:
        state, group = _event_state(request, name)
    except NotScoredError as err:
        return _not_scored(request, err)
    if group is None:
        return render(request, "message.html.j2", status=404, title="No such upcoming event",
                      message=f"{name!r} is not in the upcoming events catalogue.")
    preview = None
    if group["recommendations"]:
        first = group["recommendations"][0]["customer_id"]
        dry = send_event_invitations(ctx.engine, ctx.settings, state.scored, group["event_name"],
                                     customers=[first], dry_run=True)
        preview = next((r for r in dry["recipients"] if r.get("subject")), None) or \
            (dry["recipients"][0] if dry["recipients"] else None)
    return render(request, "event.html.j2", group=group, preview=preview, result=None)


@router.post("/event/send")
def event_send(request: Request, cookie: Annotated[str, Depends(session)],
               name: Annotated[str, Form(max_length=300)],
               customer_ids: Annotated[list[str] | None, Form()] = None,
               csrf: Annotated[str | None, Form()] = None) -> HTMLResponse:
    checked_post(request, cookie, csrf)
    ctx = request.app.state.ctx
    state, group = _event_state(request, name)
    if group is None:
        return render(request, "message.html.j2", status=404, title="No such upcoming event",
                      message=f"{name!r} is not in the upcoming events catalogue.")
    if not customer_ids:
        return render(request, "event.html.j2", status=422, group=group, preview=None,
                      result={"error": "Tick at least one recipient before pressing Send."})
    result = send_event_invitations(ctx.engine, ctx.settings, state.scored, group["event_name"],
                                    customers=customer_ids, dry_run=False)
    return render(request, "event.html.j2", group=group, preview=None, result=result)


@router.get("/upload")
def upload_form(request: Request, _cookie: Annotated[str, Depends(session)]) -> HTMLResponse:
    from engagement_pipeline.ingest.canonical import EVENT_TYPES

    return render(request, "upload.html.j2", event_types=EVENT_TYPES, error="")


@router.post("/upload")
async def upload_post(request: Request, cookie: Annotated[str, Depends(session)],
                      file: Annotated[UploadFile, File()],
                      csrf: Annotated[str | None, Form()] = None,
                      event_name: Annotated[str | None, Form(max_length=300)] = None,
                      event_type: Annotated[str | None, Form()] = None,
                      event_date: Annotated[str | None, Form()] = None) -> Response:
    from engagement_pipeline.ingest.canonical import EVENT_TYPES
    from engagement_pipeline.web.api import store_upload

    checked_post(request, cookie, csrf)
    try:
        day = date.fromisoformat(event_date) if event_date else None
        body = await store_upload(request, file, EventDetails(event_name or None, event_type or None, day))
    except (ApiProblem, ValueError) as err:
        message = err.detail if isinstance(err, ApiProblem) else "the event date must be written YYYY-MM-DD"
        status = err.status if isinstance(err, ApiProblem) else 422
        return render(request, "upload.html.j2", status=status, event_types=EVENT_TYPES, error=message)
    return RedirectResponse(f"/uploads/{body['upload_id']}", status_code=303)


@router.get("/uploads/{upload_id}")
def upload_page(request: Request, upload_id: str, _cookie: Annotated[str, Depends(session)]) -> HTMLResponse:
    ctx = request.app.state.ctx
    found = upload_status(ctx.engine, ctx.settings, upload_id) if len(upload_id) == 64 else None
    if found is None:
        return render(request, "message.html.j2", status=404, title="No such upload",
                      message="No upload with this id.")
    return render(request, "upload_status.html.j2", u=found,
                  ledger=json.dumps(found.get("excluded_by_reason") or {}))


def as_date(value: Any) -> str:
    return "" if value is None else pd.Timestamp(value).date().isoformat()


templates.filters["date"] = as_date
