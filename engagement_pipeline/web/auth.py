"""Who may see personal data: one shared token, as a Bearer header for the API and a session cookie for pages.

The token comes from `ENGAGEMENT_API_TOKEN`, else from `<data folder>/api_token` (created by `init`, mode
0600). A page session is an HMAC of a random nonce under the token (so changing the token logs everyone out),
carried in an HttpOnly, SameSite=Strict cookie that expires; the CSRF token of a session is a second HMAC of
the same nonce, sent back by every form, and state-changing requests from another origin are refused.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from engagement_pipeline.config import Settings

TOKEN_FILE_NAME = "api_token"
TOKEN_ENV = "ENGAGEMENT_API_TOKEN"
SESSION_COOKIE = "engagement_session"
SESSION_SECONDS = 12 * 3600


def token_path(settings: Settings) -> Path:
    return settings.data_dir / TOKEN_FILE_NAME


def ensure_token_file(settings: Settings) -> tuple[Path, bool]:
    """Creates `<data>/api_token` (0600, 32 random bytes, URL-safe) unless it exists; returns (path, created)."""
    path = token_path(settings)
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    return path, True


def load_token(settings: Settings, environ: dict[str, str] | None = None) -> tuple[str, str]:
    """The token and where it came from; creates the token file when neither is set."""
    env = os.environ if environ is None else environ
    if env.get(TOKEN_ENV, "").strip():
        return env[TOKEN_ENV].strip(), TOKEN_ENV
    path, _ = ensure_token_file(settings)
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < 16:
        raise ValueError(f"{path} holds a token shorter than 16 characters; delete it and run `init` again")
    return token, str(path)


class Guard:
    """Checks tokens, issues and checks session cookies and CSRF tokens, all keyed on the one token."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def _mac(self, purpose: str, value: str) -> str:
        return hmac.new(self._token, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    def token_ok(self, presented: str | None) -> bool:
        return bool(presented) and hmac.compare_digest(presented.strip().encode(), self._token)

    def new_session(self, now: float | None = None) -> str:
        issued = int(now or time.time())
        nonce = secrets.token_urlsafe(18)
        body = f"{issued}.{nonce}"
        return f"{body}.{self._mac('session', body)}"

    def session_ok(self, cookie: str | None, now: float | None = None) -> bool:
        if not cookie or cookie.count(".") != 2:
            return False
        issued, nonce, mac = cookie.split(".")
        if not hmac.compare_digest(mac, self._mac("session", f"{issued}.{nonce}")):
            return False
        try:
            age = (now or time.time()) - int(issued)
        except ValueError:
            return False
        return 0 <= age <= SESSION_SECONDS

    def csrf_for(self, cookie: str) -> str:
        return self._mac("csrf", cookie.rsplit(".", 1)[0])

    def csrf_ok(self, cookie: str | None, presented: str | None) -> bool:
        if not cookie or not presented or not self.session_ok(cookie):
            return False
        return hmac.compare_digest(presented, self.csrf_for(cookie))
