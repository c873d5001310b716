"""Sending email: a folder that collects `.eml` files (the default, never loses a message) or SMTP.

Messages are built with `email.message.EmailMessage` and `Address` objects, never by pasting strings into
headers: a display name is cleaned of control characters first, and the email package itself refuses a
header value with CR or LF, so a contact name cannot inject headers.

`deliver` makes ONE attempt and says what is known about it (`Delivery`): SMTP is driven command by command
(smtplib's `data()` cannot tell a refused DATA command, where nothing was sent, from a connection lost while
waiting for the reply to the body, where the server may have the message): 250 to the body is *sent* whatever
QUIT does; a failure before the body is *temporary* (4xx, refused connection, dropped before DATA) or
*permanent* (5xx); a connection lost or a timeout after the body went out is *unknown*. Retrying, backoff and
bookkeeping belong to the transactional outbox (`outbox.py`), never to the mailer, so an ambiguous send is
never repeated behind the caller's back.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy as email_policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from enum import StrEnum
from pathlib import Path
from typing import Protocol

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class MailerError(RuntimeError):
    """A message that could not be delivered; the text is the reason recorded on the invitation."""


def clean_display_name(name: object, limit: int = 120) -> str:
    """'Ana\\r\\nBcc: x@evil' -> 'Ana Bcc: x@evil': control characters become spaces, whitespace collapses."""
    if not isinstance(name, str):
        return ""
    return " ".join(_CONTROL.sub(" ", name).split())[:limit]


def valid_email(email: object) -> bool:
    return isinstance(email, str) and len(email) <= 254 and bool(_EMAIL.match(email))


def address(name: object, email: str) -> Address:
    """A header-safe address; raises ValueError for an address that is not a plain email."""
    if not valid_email(email):
        raise ValueError(f"{email!r} is not a valid email address")
    local, domain = email.rsplit("@", 1)
    return Address(display_name=clean_display_name(name), username=local, domain=domain)


# RFC 5322's line limit, not the 78-character default: folding a long List-Unsubscribe URL (it has no
# spaces) would turn it into RFC 2047 encoded-words, which no mail client reads as a URL.
MESSAGE_POLICY = email_policy.default.clone(max_line_length=998)


def build_message(*, sender: str, sender_name: str, to_name: object, to_email: str, subject: str,
                  text: str, html: str, headers: dict[str, str] | None = None) -> EmailMessage:
    """A multipart/alternative message (plain text first, then HTML), with a Message-ID and Date."""
    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["From"] = address(sender_name, sender)
    msg["To"] = address(to_name, to_email)
    msg["Subject"] = clean_display_name(subject, limit=200)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[1])
    for key, value in (headers or {}).items():
        msg[key] = value  # EmailMessage raises ValueError on CR/LF in a value
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    return msg


class Outcome(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary"  # nothing was accepted; may be retried
    PERMANENT = "permanent"  # refused for good (5xx); never retried automatically
    UNKNOWN = "unknown"  # the body went out and no verdict came back: a person must decide


@dataclass(frozen=True)
class Delivery:
    outcome: Outcome
    detail: str = ""


def _no_op() -> None:
    return None


class Mailer(Protocol):
    """One delivery attempt of a serialised message; `on_transmit` is called just before the body leaves."""

    def deliver(self, raw: bytes, sender: str, recipient: str,
                on_transmit: Callable[[], None] = _no_op) -> Delivery: ...


def message_bytes(message: EmailMessage) -> bytes:
    return message.as_bytes(policy=MESSAGE_POLICY)


def _reply_text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def _by_code(code: int, reply: bytes | str, stage: str) -> Delivery:
    text = f"{stage}: {code} {_reply_text(reply)}".strip()
    return Delivery(Outcome.PERMANENT if 500 <= code < 600 else Outcome.TEMPORARY, text)


@dataclass
class OutboxMailer:
    """Writes each message as `<outbox>/<timestamp>-<recipient>.eml`; nothing leaves the machine."""

    outbox_dir: Path

    def deliver(self, raw: bytes, sender: str, recipient: str,
                on_transmit: Callable[[], None] = _no_op) -> Delivery:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        safe = re.sub(r"[^A-Za-z0-9@._-]+", "_", recipient)[:120]
        path = self.outbox_dir / f"{stamp}-{safe}.eml"
        on_transmit()
        temporary = path.with_name(f".{path.name}.part")
        temporary.write_bytes(raw)
        temporary.replace(path)  # a file in the folder is a whole message
        return Delivery(Outcome.SENT, str(path))

    def send(self, message: EmailMessage) -> str:
        delivery = self.deliver(message_bytes(message), str(message["From"].addresses[0].addr_spec),
                                str(message["To"].addresses[0].addr_spec))
        if delivery.outcome != Outcome.SENT:
            raise MailerError(delivery.detail)
        return str(message["Message-ID"])


@dataclass
class SmtpMailer:
    """SMTP with optional STARTTLS and login; one connection per message, so a drop affects one send."""

    host: str
    port: int = 25
    user: str = ""
    password: str = ""
    starttls: bool = False
    timeout: float = 30.0
    retries: int = 3
    backoff_seconds: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def deliver(self, raw: bytes, sender: str, recipient: str,
                on_transmit: Callable[[], None] = _no_op) -> Delivery:
        smtp = smtplib.SMTP(timeout=self.timeout)
        try:
            try:
                code, reply = smtp.connect(self.host, self.port)
                if code != 220:
                    return _by_code(code, reply, "greeting")
                smtp.ehlo_or_helo_if_needed()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.user:
                    smtp.login(self.user, self.password)
                options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") and not raw.isascii() else []
                code, reply = smtp.mail(sender, options)
                if code != 250:
                    return _by_code(code, reply, "sender refused")
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    return _by_code(code, reply, "recipient refused")
                smtp.putcmd("data")
                code, reply = smtp.getreply()
                if code != 354:
                    return _by_code(code, reply, "DATA refused")
            except smtplib.SMTPResponseException as err:
                return _by_code(err.smtp_code, err.smtp_error, "refused")
            except (smtplib.SMTPException, OSError) as err:  # refused connection, dropped before the body
                return Delivery(Outcome.TEMPORARY, f"{type(err).__name__}: {err}")
            on_transmit()
            try:
                crlf = re.sub(rb"\r\n|\n|\r(?!\n)", b"\r\n", raw)
                body = smtplib._quote_periods(crlf)  # type: ignore[attr-defined]  (what smtplib.data does)
                body = body if body.endswith(b"\r\n") else body + b"\r\n"
                smtp.send(body + b".\r\n")
                code, reply = smtp.getreply()
            except (smtplib.SMTPException, OSError) as err:
                return Delivery(Outcome.UNKNOWN, f"no reply to the message body: {type(err).__name__}: {err}")
            if code == 250:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()  # the message is accepted; whatever QUIT does changes nothing
                return Delivery(Outcome.SENT, f"250 {_reply_text(reply)}")
            if code < 0:
                return Delivery(Outcome.UNKNOWN, f"unreadable reply to the message body: {_reply_text(reply)}")
            return _by_code(code, reply, "message refused")
        finally:
            with contextlib.suppress(Exception):
                smtp.close()

    def send(self, message: EmailMessage) -> str:
        """Delivers one message now, retrying only what is certainly not sent (temporary failures)."""
        raw = message_bytes(message)
        sender = str(message["From"].addresses[0].addr_spec)
        recipient = str(message["To"].addresses[0].addr_spec)
        attempts = max(1, self.retries + 1)
        last = ""
        for attempt in range(attempts):
            delivery = self.deliver(raw, sender, recipient)
            if delivery.outcome == Outcome.SENT:
                return str(message["Message-ID"])
            if delivery.outcome == Outcome.PERMANENT:
                raise MailerError(delivery.detail)
            if delivery.outcome == Outcome.UNKNOWN:
                raise MailerError(f"outcome unknown (not retried): {delivery.detail}")
            last = delivery.detail
            if attempt + 1 < attempts:
                self.sleep(self.backoff_seconds * (2**attempt))
        raise MailerError(f"gave up after {attempts} attempts: {last}")
