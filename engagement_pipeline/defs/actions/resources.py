"""The `Mailer` resource: an outbox folder by default, SMTP when ENGAGEMENT_SMTP_HOST is set."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from engagement_pipeline.actions.invitations import InvitationPolicy
from engagement_pipeline.actions.mailer import Mailer as MailerClient
from engagement_pipeline.actions.mailer import OutboxMailer, SmtpMailer

_TRUE = {"1", "true", "yes", "on"}


class Mailer(dg.ConfigurableResource):
    """Where invitations go. `smtp_host` empty: `.eml` files in `outbox_dir` (default `<data>/outbox`)."""

    smtp_host: str = ""
    smtp_port: int = 587
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = True
    mail_from: str = "events@northwind-analytics.com"
    from_name: str = "Northwind Analytics Events"
    unsubscribe_url: str = "https://events.northwind-analytics.com/unsubscribe"
    outbox_dir: str = ""
    retries: int = 3
    backoff_seconds: float = 2.0

    def client(self, default_outbox: Path) -> MailerClient:
        if self.smtp_host:
            return SmtpMailer(host=self.smtp_host, port=self.smtp_port, user=self.smtp_user,
                              password=self.smtp_password, starttls=self.smtp_starttls, retries=self.retries,
                              backoff_seconds=self.backoff_seconds)
        return OutboxMailer(Path(self.outbox_dir) if self.outbox_dir else default_outbox)

    def describe(self, default_outbox: Path) -> str:
        return f"SMTP {self.smtp_host}:{self.smtp_port}" if self.smtp_host else \
            f"outbox {self.outbox_dir or default_outbox}"

    def policy(self, max_per_contact: int, cap_days: int, unsubscribe_secret: str,
               holdout_share: float | None = None) -> InvitationPolicy:
        """`retries` and `backoff_seconds` govern the outbox's retries of temporary failures (4xx, refused)."""
        return InvitationPolicy(sender=self.mail_from, sender_name=self.from_name,
                                unsubscribe_url=self.unsubscribe_url, unsubscribe_secret=unsubscribe_secret,
                                max_per_contact=max_per_contact, cap_days=cap_days, holdout_share=holdout_share,
                                max_attempts=self.retries + 1, backoff_seconds=self.backoff_seconds)


def mailer_from_env(environ: Mapping[str, str] | None = None) -> Mailer:
    """The mailer from ENGAGEMENT_SMTP_*, ENGAGEMENT_MAIL_FROM and ENGAGEMENT_UNSUBSCRIBE_URL (`environ`, else the
    process environment). Called when the code location's `mailer` resource is set up, or by the CLI and the web
    app when they send: the values (the password too) live in the made resource, never in a config the UI shows."""
    env = os.environ if environ is None else environ
    values: dict = {}
    if env.get("ENGAGEMENT_SMTP_HOST"):
        values["smtp_host"] = env["ENGAGEMENT_SMTP_HOST"]
    if env.get("ENGAGEMENT_SMTP_PORT"):
        values["smtp_port"] = int(env["ENGAGEMENT_SMTP_PORT"])
    if env.get("ENGAGEMENT_SMTP_USER"):
        values["smtp_user"] = env["ENGAGEMENT_SMTP_USER"]
    if env.get("ENGAGEMENT_SMTP_PASSWORD"):
        values["smtp_password"] = env["ENGAGEMENT_SMTP_PASSWORD"]
    if env.get("ENGAGEMENT_SMTP_STARTTLS"):
        values["smtp_starttls"] = env["ENGAGEMENT_SMTP_STARTTLS"].strip().lower() in _TRUE
    if env.get("ENGAGEMENT_UNSUBSCRIBE_URL"):
        values["unsubscribe_url"] = env["ENGAGEMENT_UNSUBSCRIBE_URL"]
    if env.get("ENGAGEMENT_MAIL_FROM"):
        values["mail_from"] = env["ENGAGEMENT_MAIL_FROM"]
    return Mailer(**values)
