"""The mailer against a real SMTP server (aiosmtpd on 127.0.0.1, a free port), and the outbox."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.policy import default as default_policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from engagement_pipeline.actions.mailer import (
    MailerError,
    OutboxMailer,
    SmtpMailer,
    address,
    build_message,
    clean_display_name,
)


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler that keeps what it receives, refuses some recipients (550) and drops the
    connection (no reply) when a message is for one of `drop`."""

    refuse: set[str] = field(default_factory=set)
    drop: set[str] = field(default_factory=set)
    received: list[email.message.EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    data_attempts: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.data_attempts += 1
        if set(envelope.rcpt_tos) & self.drop:
            server.transport.close()
            return "421 closing connection"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.received.append(email.message_from_bytes(envelope.content, policy=default_policy))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpRecorder, int]]:
    recorder = SmtpRecorder()
    port = free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield recorder, port
    finally:
        controller.stop()


def _message(to_name: str = "Ana Keller", to_email: str = "ana.keller@fjordmedia.com"):
    return build_message(
        sender="events@northwind-analytics.com", sender_name="Northwind Events", to_name=to_name,
        to_email=to_email, subject="You're Invited: Data Summit", text="Hi Ana,\nplain part\n",
        html="<p>Hi Ana, <b>html part</b></p>",
        headers={"List-Unsubscribe": "<https://example.com/unsub?e=ana>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"},
    )


def test_a_real_smtp_server_receives_both_parts_and_the_one_click_headers(smtp_server) -> None:
    recorder, port = smtp_server
    message_id = SmtpMailer(host="127.0.0.1", port=port, backoff_seconds=0.001).send(_message())
    assert recorder.envelopes == [("events@northwind-analytics.com", ["ana.keller@fjordmedia.com"])]
    got = recorder.received[0]
    assert got["Subject"] == "You're Invited: Data Summit"
    assert got["To"] == "Ana Keller <ana.keller@fjordmedia.com>"
    assert got["Message-ID"] == message_id
    assert got["List-Unsubscribe"] == "<https://example.com/unsub?e=ana>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert got.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hi Ana,\nplain part\n"
    assert got.get_body(("html",)).get_content().strip() == "<p>Hi Ana, <b>html part</b></p>"


def test_a_name_with_cr_lf_cannot_inject_headers(smtp_server) -> None:
    recorder, port = smtp_server
    evil = "Ana\r\nBcc: spy@evil.example\r\nX-Injected: yes"
    assert clean_display_name(evil) == "Ana Bcc: spy@evil.example X-Injected: yes"
    SmtpMailer(host="127.0.0.1", port=port).send(_message(to_name=evil))
    assert recorder.envelopes[0][1] == ["ana.keller@fjordmedia.com"]
    got = recorder.received[0]
    assert got["Bcc"] is None and got["X-Injected"] is None
    assert got["To"].addresses[0].addr_spec == "ana.keller@fjordmedia.com"
    with pytest.raises(ValueError, match=r"linefeed|carriage"):
        _message()["X-Test"] = "a\r\nBcc: spy@evil.example"
    with pytest.raises(ValueError, match="not a valid email"):
        address("Ana", "ana@fjordmedia.com\r\nBcc: spy@evil.example")


def test_a_refused_recipient_fails_at_once_without_retrying(smtp_server) -> None:
    recorder, port = smtp_server
    recorder.refuse = {"gone@fjordmedia.com"}
    sleeps: list[float] = []
    mailer = SmtpMailer(host="127.0.0.1", port=port, retries=2, backoff_seconds=0.001, sleep=sleeps.append)
    with pytest.raises(MailerError, match=r"recipient refused: 550 5\.1\.1 mailbox unavailable"):
        mailer.send(_message(to_email="gone@fjordmedia.com"))
    assert sleeps == [] and recorder.received == []


def test_a_connection_dropped_after_the_body_is_unknown_and_never_retried(smtp_server) -> None:
    recorder, port = smtp_server
    recorder.drop = {"ana.keller@fjordmedia.com"}
    sleeps: list[float] = []
    mailer = SmtpMailer(host="127.0.0.1", port=port, retries=2, backoff_seconds=0.01, sleep=sleeps.append)
    with pytest.raises(MailerError, match="outcome unknown \\(not retried\\): no reply to the message body"):
        mailer.send(_message())
    assert sleeps == []  # the server may have the message: sending it again could make a second copy
    assert recorder.data_attempts == 1 and recorder.received == []


def test_no_server_listening_is_a_failure_after_retries() -> None:
    mailer = SmtpMailer(host="127.0.0.1", port=free_port(), retries=1, backoff_seconds=0.001, timeout=2)
    with pytest.raises(MailerError, match="gave up after 2 attempts: ConnectionRefusedError"):
        mailer.send(_message())


def test_the_outbox_writes_one_eml_file_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    message_id = OutboxMailer(outbox).send(_message())
    files = list(outbox.glob("*.eml"))
    assert len(files) == 1 and files[0].name.endswith("-ana.keller@fjordmedia.com.eml")
    parsed = email.message_from_bytes(files[0].read_bytes(), policy=default_policy)
    assert parsed["Message-ID"] == message_id
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_body(("plain",)).get_content() == "Hi Ana,\nplain part\n"
