"""One-click unsubscribe (RFC 8058) against the real receiver over HTTP (waitress, as in production): the link
in a sent invitation suppresses its address with a POST, never with a GET, a guessed or foreign token is
refused, an oversized body gets 413 and a client over its rate 429."""

from __future__ import annotations

import contextlib
import email
import os
import stat
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from engagement_pipeline.actions.invitations import InvitationPolicy, send_invitations
from engagement_pipeline.actions.mailer import OutboxMailer
from engagement_pipeline.actions.suppressions import suppressed
from engagement_pipeline.actions.unsubscribe import (
    TokenBucket,
    installation_secret,
    unsubscribe_app,
    unsubscribe_server,
    unsubscribe_url,
)
from engagement_pipeline.warehouse import create_schema, make_engine

from .test_actions_invitations import ATTENDANCE, EVENT, EVERYONE, OTHER_EVENT, statuses

SECRET = "an-installation-secret"


@contextlib.contextmanager
def serving(app, **limits: object) -> Iterator[str]:
    server = unsubscribe_server(app, "127.0.0.1", 0, **limits)

    def run() -> None:
        with contextlib.suppress(OSError, ValueError):  # the loop's select() on sockets close() just shut
            server.run()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/unsubscribe"
    finally:
        server.close()
        thread.join(timeout=5)


@pytest.fixture
def receiver(db_url: str) -> Iterator[tuple[sa.Engine, str]]:
    engine = make_engine(db_url)
    create_schema(engine)
    try:
        with serving(unsubscribe_app(engine, SECRET)) as base:
            yield engine, base
    finally:
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


def _echo(environ: dict, start_response) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["wsgi.input"].read()]


def test_an_oversized_body_gets_413_with_or_without_a_length() -> None:
    with serving(_echo, max_body=64) as base:
        assert request(base, "POST", b"List-Unsubscribe=One-Click") == (200, "List-Unsubscribe=One-Click")
        assert request(base, "POST", b"x" * 65)[0] == 413
        chunked = urllib.request.Request(base, data=iter([b"x" * 50, b"y" * 50]), method="POST",
                                         headers={"Transfer-Encoding": "chunked"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(chunked, timeout=10)  # no Content-Length: waitress counts while reading
        assert refused.value.code == 413


def test_a_client_over_its_rate_gets_429_with_retry_after() -> None:
    with serving(_echo, rate=1.0, burst=3) as base:
        codes = [request(base, "GET")[0] for _ in range(5)]
        assert codes == [200, 200, 200, 429, 429]
        try:
            urllib.request.urlopen(base, timeout=10)
        except urllib.error.HTTPError as err:
            assert err.code == 429 and int(err.headers["Retry-After"]) >= 1


def test_the_token_bucket_refills_at_its_rate_per_client() -> None:
    now = [0.0]
    bucket = TokenBucket(rate=2.0, burst=2, max_keys=2, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(0.5)
    assert bucket.take("b") == 0.0  # another client has its own bucket
    now[0] = 0.5
    assert bucket.take("a") == 0.0  # one token back after 1 / rate seconds
    bucket.take("c")  # a third client: the least recently seen ("a"... then "b") is forgotten, memory stays bounded
    assert len(bucket._buckets) == 2


@pytest.mark.slow
def test_the_unsubscribe_server_command_serves_with_the_limits(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from .scripted_smtp import free_port

    port = free_port()
    env = {**os.environ, "ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_UNSUBSCRIBE_SECRET": SECRET,
           "ENGAGEMENT_DB_URL": f"sqlite:///{tmp_path / 'w.sqlite'}"}
    create_schema(make_engine(env["ENGAGEMENT_DB_URL"]))
    process = subprocess.Popen([sys.executable, "-c", "from engagement_pipeline.cli import main; main()",
                                "unsubscribe-server", "--port", str(port), "--max-body", "100", "--burst", "3",
                                "--rate", "0.01"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}/unsubscribe"
        deadline = time.monotonic() + 60
        while True:
            try:
                status = request(base, "GET")[0]
                break
            except urllib.error.URLError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read().decode()
                time.sleep(0.2)
        assert status == 403  # no token
        assert request(unsubscribe_url(base, SECRET, "ana@acme.com"), "POST", b"x" * 101)[0] == 413
        assert request(unsubscribe_url(base, SECRET, "ana@acme.com"), "POST", b"List-Unsubscribe=One-Click")[0] \
            == 200
        assert [request(base, "GET")[0] for _ in range(2)] == [403, 429]  # the burst of 3 is spent (413: free)
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()
