"""The ASGI app: the API under /api, the dashboard under /, the OpenAPI schema at /openapi.json."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from engagement_pipeline.config import Settings
from engagement_pipeline.warehouse import create_schema, make_engine
from engagement_pipeline.web.auth import Guard, load_token
from engagement_pipeline.web.data import StateCache
from engagement_pipeline.web.errors import install_error_handlers, problem

DESCRIPTION = """The CSM's window onto the engagement pipeline: upload attendance exports into the pipeline's
inbox, read a customer's engagement (score, components, trend with its reason, score and attendance history),
the leaderboard and risks, and preview or send event invitations through the send job's own gates.

Every `/api` route needs `Authorization: Bearer <token>`: the token is `ENGAGEMENT_API_TOKEN`, or the
`api_token` file that `engagement-pipeline init` writes into the data folder (mode 0600). Errors are JSON:
`{"error": "<code>", "detail": "<what went wrong>"}` with 401, 403, 404, 409 (not scored yet), 413 or 422."""

UPLOAD_PATHS = ("/api/events/attendance/upload", "/upload")
FORM_OVERHEAD = 64 * 1024  # multipart headers and the small form fields around the file


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    guard: Guard
    cache: StateCache


class BodyLimit:
    """Refuses an upload whose declared size is over the limit before reading it (413), and cuts off a body
    that grows past it without declaring its size."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit + FORM_OVERHEAD

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:  # an HTTPException: FastAPI turns anything else in a form parse into 400
                    mb = (self.limit - FORM_OVERHEAD) // (1024 * 1024)
                    raise _TooLarge(413, f"the request is larger than the upload limit of {mb} MB "
                                         "(ENGAGEMENT_MAX_UPLOAD_MB)")
            return message

        try:
            await self.app(scope, counted, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        mb = (self.limit - FORM_OVERHEAD) // (1024 * 1024)
        response = problem(413, f"the request is larger than the upload limit of {mb} MB (ENGAGEMENT_MAX_UPLOAD_MB)")
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    pass


def create_app(settings: Settings | None = None, token: str | None = None) -> FastAPI:
    from engagement_pipeline.web import api, pages

    settings = settings or Settings.from_env()
    token = token or load_token(settings)[0]
    engine = make_engine(settings.db_url)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    create_schema(engine)  # as every process that opens the warehouse: upgraded in place first
    app = FastAPI(title="Engagement pipeline API", version="1", description=DESCRIPTION, docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json", debug=False)
    app.state.ctx = AppContext(settings, engine, Guard(token), StateCache(engine, settings))
    install_error_handlers(app)

    @app.exception_handler(pages.LoginRequired)
    async def _login(_request: Request, exc: pages.LoginRequired) -> RedirectResponse:
        return RedirectResponse(f"/login?next={pages.quote(exc.next_path, safe='/')}", status_code=303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    return app
