"""Invitations end to end against a real SMTP server (aiosmtpd) and the warehouse (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline.actions.invitations import InvitationPolicy, send_invitations
from engagement_pipeline.actions.mailer import OutboxMailer, SmtpMailer
from engagement_pipeline.actions.suppressions import add_suppressions, read_suppression_file
from engagement_pipeline.warehouse import create_schema, make_engine
from engagement_pipeline.warehouse.action_tables import invitations

from .test_mailer import SmtpRecorder, smtp_server  # noqa: F401  (the fixture)

EVENT = pd.Series({"event_name": "Analytics Summit", "event_type": "conference",
                   "event_date": pd.Timestamp("2026-12-01"), "topics": ("analytics", "dashboards"),
                   "registration_url": "https://events.example.com/analytics-summit"})
OTHER_EVENT = pd.Series({**EVENT.to_dict(), "event_name": "Security Webinar", "topics": ("security",)})
ATTENDANCE = pd.DataFrame({
    "event_id": ["e1", "e2"], "event_name": ["Analytics Deep Dive", "Quarterly Town Hall"],
    "attendee_email": ["ana@acme.com", "carl@beta.com"], "attended": [True, True],
})
POLICY = InvitationPolicy(sender="events@northwind-analytics.com", unsubscribe_secret="test-secret",
                          max_per_contact=2, cap_days=30, holdout_share=0.0, backoff_seconds=0.001)


def recs(*people: tuple[str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"customer_id": email.split("@")[1], "customer_name": email.split("@")[1].title(),
                          "contact_name": name, "contact_email": email, "rank": i}
                         for i, (name, email) in enumerate(people, start=1)])


EVERYONE = recs(("Ana Keller", "ana@acme.com"), ("<b>Tom & Jerry</b>", "tom@acme.com"),
                ("Bob Stone", "bob@acme.com"), ("Rita Refused", "refused@acme.com"), ("Carl Beta", "carl@beta.com"))


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    engine = make_engine(db_url)
    create_schema(engine)
    return engine


def statuses(run) -> dict[str, tuple[str, str | None]]:
    return {r.contact_email: (r.status, r.reason if isinstance(r.reason, str) else None)
            for r in run.results.itertuples()}


def test_one_personalised_mail_each_suppressed_skipped_refused_failed_and_a_second_launch_sends_nothing(
        engine: sa.Engine, smtp_server) -> None:  # noqa: F811
    recorder, port = smtp_server
    recorder.refuse = {"refused@acme.com"}
    with engine.begin() as conn:
        add_suppressions(conn, pd.DataFrame({"email": ["BOB@acme.com"], "reason": ["unsubscribed"]}), "test")
    mailer = SmtpMailer(host="127.0.0.1", port=port, retries=1, backoff_seconds=0.001)
    run = send_invitations(engine, EVERYONE, EVENT, ATTENDANCE, mailer, POLICY)
    assert statuses(run) == {
        "ana@acme.com": ("sent", None), "tom@acme.com": ("sent", None),
        "bob@acme.com": ("skipped", "suppressed (unsubscribed)"),
        "refused@acme.com": ("failed", "recipient refused: 550 5.1.1 mailbox unavailable"),
        "carl@beta.com": ("sent", None),
    }
    assert [rcpts for _, rcpts in recorder.envelopes] == [["ana@acme.com"], ["tom@acme.com"], ["carl@beta.com"]]
    ana, tom, carl = recorder.received
    assert ana["Subject"] == "You're Invited: Analytics Summit"
    assert ana["List-Unsubscribe"].startswith("<https://events.northwind-analytics.com/unsubscribe?email=ana%40acme.com&token=")
    assert ana["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = ana.get_body(("plain",)).get_content()
    html = ana.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Hi Ana," in part
        assert "Based on your interest in analytics, we think this event is a great fit for you." in part
        assert "Tuesday, 01 December 2026" in part
        assert "https://events.example.com/analytics-summit" in part
        assert "unsubscribe?email=ana%40acme.com" in part
    assert "Hi &lt;b&gt;Tom," in tom.get_body(("html",)).get_content()
    assert "<b>Tom" not in tom.get_body(("html",)).get_content()
    assert "Hi <b>Tom," in tom.get_body(("plain",)).get_content()
    assert "Thank you for joining 1 of our events" in carl.get_body(("plain",)).get_content()

    again = send_invitations(engine, EVERYONE, EVENT, ATTENDANCE, mailer, POLICY)
    assert len(recorder.received) == 3
    assert [s for s, _ in statuses(again).values()] == ["skipped"] * 5  # a permanent refusal is not retried
    assert statuses(again)["ana@acme.com"][1].startswith("already invited on ")
    assert statuses(again)["refused@acme.com"][1].startswith("failed earlier (recipient refused: 550")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(invitations.c.contact_email, invitations.c.status, invitations.c.attempts)
                            .order_by(invitations.c.contact_email)).all()
    assert [tuple(r) for r in rows] == [("ana@acme.com", "sent", 1), ("bob@acme.com", "skipped", 0),
                                        ("carl@beta.com", "sent", 1), ("refused@acme.com", "failed", 1),
                                        ("tom@acme.com", "sent", 1)]


def test_a_connection_dropped_after_the_body_is_unknown_not_resent_and_the_others_are_sent(
        engine: sa.Engine, smtp_server) -> None:  # noqa: F811
    recorder, port = smtp_server
    recorder.drop = {"tom@acme.com"}
    mailer = SmtpMailer(host="127.0.0.1", port=port, retries=2, backoff_seconds=0.001)
    run = send_invitations(engine, EVERYONE.iloc[[0, 1, 4]], EVENT, ATTENDANCE, mailer, POLICY)
    result = statuses(run)
    assert result["ana@acme.com"] == ("sent", None) and result["carl@beta.com"] == ("sent", None)
    assert result["tom@acme.com"][0] == "unknown"
    assert result["tom@acme.com"][1].startswith("no reply to the message body: SMTPServerDisconnected")
    assert recorder.data_attempts == 3 and len(recorder.received) == 2


def test_a_name_with_cr_lf_reaches_one_recipient_and_injects_no_header(
        engine: sa.Engine, smtp_server) -> None:  # noqa: F811
    recorder, port = smtp_server
    evil = recs(("Eve\r\nBcc: spy@evil.example\r\nX-Injected: yes", "eve@acme.com"))
    run = send_invitations(engine, evil, EVENT, ATTENDANCE, SmtpMailer(host="127.0.0.1", port=port), POLICY)
    assert statuses(run) == {"eve@acme.com": ("sent", None)}
    assert recorder.envelopes[0][1] == ["eve@acme.com"]
    got = recorder.received[0]
    assert got["Bcc"] is None and got["X-Injected"] is None
    assert str(got["To"]) == '"Eve Bcc: spy@evil.example X-Injected: yes" <eve@acme.com>'


def test_the_frequency_cap_skips_with_the_reason_until_the_window_passes(engine: sa.Engine, tmp_path: Path) -> None:
    policy = InvitationPolicy(unsubscribe_secret="test-secret", max_per_contact=1, cap_days=30, holdout_share=0)
    mailer = OutboxMailer(tmp_path / "outbox")
    now = datetime(2026, 11, 3, 9, tzinfo=UTC)
    send_invitations(engine, EVERYONE.iloc[[0]], EVENT, ATTENDANCE, mailer, policy, now=now)
    capped = send_invitations(engine, EVERYONE.iloc[[0]], OTHER_EVENT, ATTENDANCE, mailer, policy, now=now)
    assert statuses(capped) == {"ana@acme.com": ("skipped", "frequency cap: 1 invitation in the last 30 days (max 1)")}
    later = send_invitations(engine, EVERYONE.iloc[[0]], OTHER_EVENT, ATTENDANCE, mailer, policy,
                             now=datetime.now(UTC) + timedelta(days=31))
    assert statuses(later) == {"ana@acme.com": ("sent", None)}
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


def test_a_dry_run_renders_and_records_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    run = send_invitations(engine, EVERYONE.iloc[[0, 4]], EVENT, ATTENDANCE, OutboxMailer(tmp_path / "out"),
                           POLICY, dry_run=True)
    assert statuses(run) == {"ana@acme.com": ("dry_run", "rendered, not sent"),
                             "carl@beta.com": ("dry_run", "rendered, not sent")}
    assert run.previews[0]["subject"] == "You're Invited: Analytics Summit"
    assert not (tmp_path / "out").exists()
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(invitations)).scalar() == 0


def test_a_suppression_file_is_imported_with_reasons(engine: sa.Engine, tmp_path: Path) -> None:
    csv = tmp_path / "suppressions.csv"
    csv.write_text("Email,Reason\nANA@acme.com,bounced\ntom@acme.com,\nnot-an-email,unsubscribed\n")
    plain = tmp_path / "plain.txt"
    plain.write_text("carl@beta.com\n")
    with engine.begin() as conn:
        assert add_suppressions(conn, read_suppression_file(csv), "suppressions.csv") == 2
        assert add_suppressions(conn, read_suppression_file(plain), "plain.txt") == 1
    run = send_invitations(engine, EVERYONE.iloc[[0, 1, 4]], EVENT, ATTENDANCE, OutboxMailer(tmp_path / "o"), POLICY)
    assert statuses(run) == {"ana@acme.com": ("skipped", "suppressed (bounced)"),
                             "tom@acme.com": ("skipped", "suppressed (unsubscribed)"),
                             "carl@beta.com": ("skipped", "suppressed (unsubscribed)")}
    bad = tmp_path / "bad.csv"
    bad.write_text("email,reason\nx@y.com,angry\n")
    with pytest.raises(ValueError, match="unknown reason"):
        read_suppression_file(bad)
