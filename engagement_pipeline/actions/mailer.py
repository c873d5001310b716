"""Sending email: an outbox that writes `.eml` files (the default, never loses a message) or SMTP.

Messages are built with `email.message.EmailMessage` and `Address` objects, never by pasting strings into
headers: a display name is cleaned of control characters first, and the email package itself refuses a
header value with CR or LF, so a contact name cannot inject headers. SMTP sends are retried with exponential
backoff on transient failures (dropped connection, 4xx); a permanent refusal (5xx) fails at once.
"""

from __future__ import annotations

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


class Mailer(Protocol):
    """Delivers one message and returns its Message-ID, or raises MailerError with the reason."""

    def send(self, message: EmailMessage) -> str: ...


@dataclass
class OutboxMailer:
    """Writes each message as `<outbox>/<timestamp>-<recipient>.eml`; nothing leaves the machine."""

    outbox_dir: Path

    def send(self, message: EmailMessage) -> str:
        self.outbox_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        recipient = re.sub(r"[^A-Za-z0-9@._-]+", "_", str(message["To"].addresses[0].addr_spec))
        path = self.outbox_dir / f"{stamp}-{recipient}.eml"
        path.write_bytes(message.as_bytes())
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

    def _deliver(self, message: EmailMessage) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
            smtp.send_message(message)

    def send(self, message: EmailMessage) -> str:
        attempts = max(1, self.retries + 1)
        last = ""
        for attempt in range(attempts):
            try:
                self._deliver(message)
                return str(message["Message-ID"])
            except smtplib.SMTPRecipientsRefused as err:
                codes = [f"{code} {resp.decode(errors='replace') if isinstance(resp, bytes) else resp}"
                         for code, resp in err.recipients.values()]
                if all(str(c).startswith("5") for c in codes):
                    raise MailerError(f"recipient refused: {'; '.join(codes)}") from err
                last = f"recipient deferred: {'; '.join(codes)}"
            except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as err:
                last = f"{err.smtp_code} {err.smtp_error.decode(errors='replace')}"
                if 500 <= err.smtp_code < 600:
                    raise MailerError(f"refused: {last}") from err
            except (smtplib.SMTPException, OSError) as err:
                last = f"{type(err).__name__}: {err}"
            if attempt + 1 < attempts:
                self.sleep(self.backoff_seconds * (2**attempt))
        raise MailerError(f"gave up after {attempts} attempts: {last}")
