"""Unsubscribe links that cannot be forged, and the one-click receiver (RFC 8058) that honours them.

Each invitation carries `?email=…&token=HMAC(secret, email)`. The secret is per installation: the
ENGAGEMENT_UNSUBSCRIBE_SECRET variable when set (several servers share it), else a random one created
once in the data folder, so a token minted by one installation is worthless to another and nobody can
unsubscribe an address they only guessed. The receiver is a plain WSGI app: mail providers POST
`List-Unsubscribe=One-Click` to it with no user present; a person following the link with GET gets a
confirmation button instead, because link scanners pre-fetch URLs and must not unsubscribe anyone.

It faces the internet, so it is served by waitress (a production WSGI server: a thread pool, request
buffering, limits enforced while reading, unlike wsgiref's development server) behind `guarded`: bodies
over `max_body` bytes get 413 (waitress also enforces it for chunked bodies, which carry no length) and
each client address has a token bucket (`rate` requests a second, bursts of `burst`), over which it gets 429
with a Retry-After. Behind a reverse proxy, name it with `trusted_proxy` so the client address is the one
the proxy saw (X-Forwarded-For), not the proxy's own.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from pathlib import Path
from urllib.parse import parse_qs, quote

import pandas as pd
from sqlalchemy.engine import Engine

from .suppressions import add_suppressions

SECRET_ENV = "ENGAGEMENT_UNSUBSCRIBE_SECRET"
SECRET_FILE = ".unsubscribe_secret"
TOKEN_LENGTH = 32

StartResponse = Callable[[str, list[tuple[str, str]]], object]


def installation_secret(data_dir: Path, environ: dict[str, str] | None = None) -> str:
    """The configured secret, or this installation's own, created (mode 0600) on first use."""
    env = os.environ if environ is None else environ
    if env.get(SECRET_ENV):
        return env[SECRET_ENV]
    path = Path(data_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


def unsubscribe_token(secret: str, email: str) -> str:
    if not secret:
        raise ValueError("an unsubscribe secret is required to sign unsubscribe links")
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()[:TOKEN_LENGTH]


def unsubscribe_url(base_url: str, secret: str, email: str) -> str:
    address = email.strip().lower()
    return f"{base_url}?email={quote(address)}&token={unsubscribe_token(secret, address)}"


def token_is_valid(secret: str, email: str, token: str) -> bool:
    return bool(email) and hmac.compare_digest(unsubscribe_token(secret, email), token or "")


def _page(title: str, body: str) -> bytes:
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>").encode()


def unsubscribe_app(engine: Engine, secret: str) -> Callable[[dict, StartResponse], Iterable[bytes]]:
    """WSGI app: POST (one-click or the confirmation form) suppresses the address; GET asks first."""
    def app(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        email = (query.get("email") or [""])[0].strip().lower()
        token = (query.get("token") or [""])[0]
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if not token_is_valid(secret, email, token):
            start_response("403 Forbidden", [("Content-Type", "text/html; charset=utf-8")])
            return [_page("This unsubscribe link is not valid", "<p>Use the link from your latest email.</p>")]
        if method == "POST":
            with engine.begin() as conn:
                add_suppressions(conn, pd.DataFrame({"email": [email], "reason": ["unsubscribed"]}),
                                 source="one-click unsubscribe")
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [_page("You are unsubscribed", f"<p>{html.escape(email)} will get no more invitations.</p>")]
        if method == "GET":
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            form = (f"<form method='post'><p>Stop event invitations to {html.escape(email)}?</p>"
                    "<input type='hidden' name='List-Unsubscribe' value='One-Click'>"
                    "<button type='submit'>Unsubscribe</button></form>")
            return [_page("Unsubscribe", form)]
        start_response("405 Method Not Allowed", [("Allow", "GET, POST"), ("Content-Type", "text/plain")])
        return [b"GET or POST only\n"]

    return app


WsgiApp = Callable[[dict, StartResponse], Iterable[bytes]]
MAX_BODY = 4096  # a one-click POST is `List-Unsubscribe=One-Click`: 26 bytes


class TokenBucket:
    """Per-key token buckets: `rate` tokens a second up to `burst`; remembers at most `max_keys` clients."""

    def __init__(self, rate: float, burst: int, max_keys: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, burst, max_keys, clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """0 if a request may go ahead now, else the seconds until one may."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self.rate
            self._buckets[key] = (tokens - 1 if tokens >= 1 else tokens, now)
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
            return wait


def guarded(app: WsgiApp, *, max_body: int = MAX_BODY, rate: float = 2.0, burst: int = 20) -> WsgiApp:
    """`app` behind a request-size limit (413) and a per-client-address rate limit (429)."""
    bucket = TokenBucket(rate, burst)

    def wrapper(environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = max_body + 1
        if length > max_body:
            start_response("413 Payload Too Large", [("Content-Type", "text/plain"), ("Connection", "close")])
            return [f"request body over {max_body} bytes\n".encode()]
        wait = bucket.take(environ.get("REMOTE_ADDR", ""))
        if wait > 0:
            start_response("429 Too Many Requests", [("Content-Type", "text/plain"),
                                                     ("Retry-After", str(max(1, round(wait + 0.5))))])
            return [b"too many requests; try again later\n"]
        return app(environ, start_response)

    return wrapper


def unsubscribe_server(app: WsgiApp, host: str, port: int, *, max_body: int = MAX_BODY, rate: float = 2.0,
                       burst: int = 20, trusted_proxy: str | None = None, threads: int = 4):
    """A waitress server (not started: call `.run()`, stop with `.close()`) for the guarded app."""
    import waitress

    proxy = {"trusted_proxy": trusted_proxy, "trusted_proxy_headers": {"x-forwarded-for"},
             "clear_untrusted_proxy_headers": True} if trusted_proxy else {}
    return waitress.create_server(guarded(app, max_body=max_body, rate=rate, burst=burst), host=host, port=port,
                                  threads=threads, max_request_body_size=max_body, ident="unsubscribe", **proxy)
