"""One-click unsubscribe (RFC 8058) against the real receiver over HTTP: the link in a sent invitation
suppresses its address with a POST, never with a GET, and a guessed or foreign token is refused."""

from __future__ import annotations

import email
import os
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest
import sqlalchemy as sa

from engagement_pipeline.actions.invitations import InvitationPolicy, send_invitations, suppressed
from engagement_pipeline.actions.mailer import OutboxMailer
from engagement_pipeline.actions.unsubscribe import installation_secret, unsubscribe_app, unsubscribe_url
from engagement_pipeline.warehouse import create_schema, make_engine

from .test_actions_invitations import ATTENDANCE, EVENT, EVERYONE, OTHER_EVENT, statuses

SECRET = "an-installation-secret"


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver(db_url: str) -> Iterator[tuple[sa.Engine, str]]:
    engine = make_engine(db_url)
    create_schema(engine)
    server = make_server("127.0.0.1", 0, unsubscribe_app(engine, SECRET), handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine, f"http://127.0.0.1:{server.server_port}/unsubscribe"
    finally:
        server.shutdown()
        engine.dispose()


def request(url: str, method: str, body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"} if body else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_the_one_click_post_from_a_sent_invitation_suppresses_and_the_next_launch_skips(
        receiver: tuple[sa.Engine, str], tmp_path: Path) -> None:
    engine, base = receiver
    policy = InvitationPolicy(unsubscribe_url=base, unsubscribe_secret=SECRET, holdout_share=0)
    ana = EVERYONE.iloc[[0]]
    send_invitations(engine, ana, EVENT, ATTENDANCE, OutboxMailer(tmp_path / "outbox"), policy)
    message = email.message_from_bytes(next((tmp_path / "outbox").glob("*.eml")).read_bytes())
    link = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    status, page = request(link, "GET")  # a link scanner or a person's first click
    assert status == 200 and "<form method='post'>" in page
    with engine.connect() as conn:
        assert suppressed(conn) == {}

    status, page = request(link, "POST", b"List-Unsubscribe=One-Click")
    assert status == 200 and "ana@acme.com will get no more invitations" in page
    with engine.connect() as conn:
        assert suppressed(conn) == {"ana@acme.com": "unsubscribed"}
    again = send_invitations(engine, ana, OTHER_EVENT, ATTENDANCE, OutboxMailer(tmp_path / "outbox"), policy)
    assert statuses(again) == {"ana@acme.com": ("skipped", "suppressed (unsubscribed)")}


def test_a_guessed_or_foreign_token_is_refused(receiver: tuple[sa.Engine, str]) -> None:
    engine, base = receiver
    forged = unsubscribe_url(base, "another-installation", "bob@acme.com")
    assert request(forged, "POST", b"List-Unsubscribe=One-Click")[0] == 403
    assert request(f"{base}?email=bob%40acme.com&token=", "POST", b"List-Unsubscribe=One-Click")[0] == 403
    assert request(unsubscribe_url(base, SECRET, "bob@acme.com"), "DELETE")[0] == 405
    with engine.connect() as conn:
        assert suppressed(conn) == {}


def test_each_installation_creates_its_own_secret_once_readable_only_by_its_owner(tmp_path: Path) -> None:
    first = installation_secret(tmp_path, environ={})
    assert len(first) == 64 and installation_secret(tmp_path, environ={}) == first
    assert installation_secret(tmp_path / "other", environ={}) != first
    assert stat.S_IMODE(os.stat(tmp_path / ".unsubscribe_secret").st_mode) == 0o600
    assert installation_secret(tmp_path, environ={"ENGAGEMENT_UNSUBSCRIBE_SECRET": "shared"}) == "shared"
