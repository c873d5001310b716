"""Errors as clear JSON (`{"error": code, "detail": words}`), never a stack trace; the API's token check."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engagement_pipeline.actions.state import NotScoredError

log = logging.getLogger("engagement_pipeline.web")
CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
         409: "not_scored", 413: "too_large", 415: "unsupported_media_type", 422: "invalid", 500: "internal"}


class ApiProblem(Exception):
    """A refusal with a status, a stable code and a sentence for the caller."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers


def problem(status: int, detail: str, code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code or CODES.get(status, "error"), "detail": detail}, status_code=status,
                        headers=headers)


def bearer_required(request: Request) -> None:
    """Every /api route: `Authorization: Bearer <ENGAGEMENT_API_TOKEN>`."""
    header = request.headers.get("authorization", "")
    scheme, _, presented = header.partition(" ")
    if not header:
        raise ApiProblem(401, "unauthorized", "Send the API token as 'Authorization: Bearer <token>' (the token is "
                                              "ENGAGEMENT_API_TOKEN, or the api_token file `init` created).",
                         {"WWW-Authenticate": "Bearer"})
    if scheme.lower() != "bearer" or not request.app.state.ctx.guard.token_ok(presented):
        raise ApiProblem(401, "unauthorized", "The token is not valid.",
                         {"WWW-Authenticate": 'Bearer error="invalid_token"'})


def _where(loc: tuple) -> str:
    return ".".join(str(p) for p in loc if p not in ("body",)) or "request"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiProblem)
    async def _problem(_request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(exc.status, exc.detail, exc.code, exc.headers)

    @app.exception_handler(NotScoredError)
    async def _not_scored(_request: Request, exc: NotScoredError) -> JSONResponse:
        return problem(409, str(exc), "not_scored")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _where(tuple(e.get("loc", ()))), "message": str(e.get("msg", "invalid"))}
                  for e in exc.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "the request is invalid"
        return JSONResponse({"error": "invalid", "detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else CODES.get(exc.status_code, "error")
        return problem(exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        error_id = uuid.uuid4().hex[:12]
        log.error("error %s on %s %s", error_id, request.method, request.url.path, exc_info=exc)
        return problem(500, f"Something went wrong on the server (error id {error_id}); the details are in the "
                            "server's log.")
