"""The dashboard/API token (environment or a 0600 file `init` writes), the session and CSRF guard, and the app on a
new warehouse: fast, no server (the HTTP behaviour is in test_api.py and test_dashboard.py)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize("env_token", [None, "from-the-environment-0123456789"])
def test_token_comes_from_the_environment_or_a_0600_file(tmp_path: Path, env_token: str | None) -> None:
    from engagement_pipeline.config import Settings
    from engagement_pipeline.web.auth import load_token, token_path

    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path)})
    environ = {"ENGAGEMENT_API_TOKEN": env_token} if env_token else {}
    token, where = load_token(settings, environ)
    if env_token:
        assert (token, where) == (env_token, "ENGAGEMENT_API_TOKEN") and not token_path(settings).exists()
        return
    path = token_path(settings)
    assert where == str(path) and path.stat().st_mode & 0o777 == 0o600 and len(token) >= 40
    assert load_token(settings, environ)[0] == token, "the file is kept, not rewritten"


def test_init_prints_where_the_token_is(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engagement_pipeline.cli import main

    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "customers.csv").write_text("customer_id,name\n")  # skips the demo data
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_DB_URL": f"sqlite:///{tmp_path / 'w.sqlite'}",
           "ENGAGEMENT_API_TOKEN": "", "DAGSTER_HOME": ""}
    result = CliRunner().invoke(main, ["init"], env=env)
    assert result.exit_code == 0, result.output
    assert f"Created the dashboard/API token (mode 0600): {tmp_path / 'api_token'}" in result.output
    assert (tmp_path / "api_token").stat().st_mode & 0o777 == 0o600


def test_sessions_and_csrf_tokens_are_bound_to_the_token_and_expire() -> None:
    from engagement_pipeline.web.auth import SESSION_SECONDS, Guard

    guard, other = Guard("a" * 32), Guard("b" * 32)
    cookie = guard.new_session(now=1_000_000)
    assert guard.session_ok(cookie, now=1_000_060)
    assert not guard.session_ok(cookie, now=1_000_000 + SESSION_SECONDS + 1)
    assert not other.session_ok(cookie, now=1_000_060), "a new token signs everyone out"
    issued, nonce, mac = cookie.split(".")
    assert not guard.session_ok(f"{int(issued) + 1}.{nonce}.{mac}", now=1_000_060)
    assert guard.csrf_for(cookie) != other.csrf_for(cookie)
    assert not guard.token_ok("a" * 31) and guard.token_ok("a" * 32) and not guard.token_ok(None)


@pytest.mark.parametrize(("given", "expected"), [
    ("/customers/C001", "/customers/C001"), ("/event?name=a%20b", "/event?name=a%20b"), (None, "/"),
    ("https://evil.example/", "/"), ("//evil.example/", "/"), ("/\\evil.example/", "/"), ("", "/"),
])
def test_login_only_returns_to_a_page_of_this_site(given: str | None, expected: str) -> None:
    from engagement_pipeline.web.pages import _safe_next

    assert _safe_next(given) == expected


def _call(app, method: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    """One request straight through the ASGI interface (no server, no HTTP client library)."""
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "http",
             "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
             "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, body


def test_a_new_warehouse_is_migrated_and_answers_not_scored_yet(tmp_path: Path) -> None:
    import json

    from engagement_pipeline.config import Settings
    from engagement_pipeline.web import create_app

    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path / "new"),
                                  "ENGAGEMENT_DB_URL": f"sqlite:///{tmp_path / 'new' / 'w.sqlite'}"})
    app = create_app(settings, token="t" * 32)
    bearer = {"Authorization": "Bearer " + "t" * 32}
    status, _, body = _call(app, "GET", "/api/events/leaderboard", bearer)
    assert status == 409 and json.loads(body)["error"] == "not_scored"
    status, _, body = _call(app, "GET", "/api/events/attendance/uploads/" + "a" * 64, bearer)
    assert status == 404
    status, headers, _ = _call(app, "GET", "/")
    assert status == 303 and headers["location"] == "/login?next=/"
    assert _call(app, "GET", "/healthz")[0] == 200
