"""The invitation outbox against a misbehaving SMTP server, on SQLite and PostgreSQL: 250 to the body is sent
whatever QUIT does, an ambiguous outcome is unknown and never re-sent by itself, temporary failures retry with
backoff up to a limit, permanent ones stop; uniqueness is by event id; and a sender killed (SIGKILL, a real
subprocess) at each step and relaunched gives every contact at most one message, each accounted for."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline.actions import outbox
from engagement_pipeline.actions.invitations import InvitationPolicy, send_invitations
from engagement_pipeline.actions.mailer import Outcome, SmtpMailer
from engagement_pipeline.warehouse import create_schema, make_engine
from engagement_pipeline.warehouse.action_tables import invitations

from .scripted_smtp import ScriptedSmtp, free_port
from .test_actions_invitations import ATTENDANCE, EVENT, recs

POLICY = InvitationPolicy(unsubscribe_secret="test-secret", holdout_share=0.0, max_attempts=3,
                          backoff_seconds=0.01, max_per_contact=5)


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    engine = make_engine(db_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def rows(engine: sa.Engine) -> dict[str, tuple[str, int]]:
    with engine.connect() as conn:
        return {r.contact_email: (r.status, r.attempts) for r in conn.execute(
            sa.select(invitations.c.contact_email, invitations.c.status, invitations.c.attempts))}


def mailer(port: int, timeout: float = 5.0) -> SmtpMailer:
    return SmtpMailer(host="127.0.0.1", port=port, timeout=timeout)


OUTCOMES = {
    "ok@acme.com": ("", "sent", 1),
    "quiterr@acme.com": ("quit_error", "sent", 1),
    "quitdrop@acme.com": ("quit_drop", "sent", 1),
    "dropped@acme.com": ("drop_after_body", "unknown", 1),
    "silent@acme.com": ("silent_after_body", "unknown", 1),
    "later@acme.com": ("temp_rcpt:2", "sent", 3),
    "gone@acme.com": ("perm_rcpt", "failed", 1),
    "busy@acme.com": ("temp_after_body", "failed", 3),
    "spam@acme.com": ("perm_after_body", "failed", 1),
}


def test_each_smtp_outcome_is_recorded_once_and_a_second_launch_resends_nothing(engine: sa.Engine) -> None:
    people = recs(*[(email.split("@")[0].title(), email) for email in OUTCOMES])
    with ScriptedSmtp({email: b for email, (b, _, _) in OUTCOMES.items()}) as smtp:
        sleeps: list[float] = []
        run = send_invitations(engine, people, EVENT, ATTENDANCE, mailer(smtp.port, timeout=1.0), POLICY,
                               sleep=sleeps.append)
        got = {r.contact_email: r.status for r in run.results.itertuples()}
        assert got == {email: status for email, (_, status, _) in OUTCOMES.items()}
        assert rows(engine) == {email: (status, attempts) for email, (_, status, attempts) in OUTCOMES.items()}
        accepted_then = dict(smtp.script.accepted)
        # each contact got at most one accepted copy; the ambiguous ones at most one body
        assert all(n <= 1 for n in smtp.script.accepted.values())
        assert smtp.script.bodies["dropped@acme.com"] == smtp.script.bodies["silent@acme.com"] == 1
        assert smtp.script.bodies["busy@acme.com"] == 3 and smtp.script.accepted["busy@acme.com"] == 0
        assert smtp.script.rcpt_attempts["gone@acme.com"] == 1  # permanent: never retried
        reasons = dict(zip(run.results["contact_email"], run.results["reason"], strict=True))
        assert reasons["busy@acme.com"].startswith("gave up after 3 attempts: message refused: 451")
        assert "may have arrived: confirm or release" in reasons["dropped@acme.com"]

        again = send_invitations(engine, people, EVENT, ATTENDANCE, mailer(smtp.port, timeout=1.0), POLICY)
        assert set(again.results["status"]) == {"skipped"}
        assert dict(smtp.script.accepted) == accepted_then
        assert smtp.script.bodies["dropped@acme.com"] == smtp.script.bodies["silent@acme.com"] == 1

        review = outbox.review_list(engine)
        assert review["status"].tolist()[:2] == ["unknown", "unknown"]
        assert set(review["contact_email"]) == {"dropped@acme.com", "silent@acme.com", "gone@acme.com",
                                                "busy@acme.com", "spam@acme.com"}
        ids = dict(zip(review["contact_email"], review["invitation_id"], strict=True))
        outbox.confirm(engine, int(ids["dropped@acme.com"]))
        smtp.script.behaviour["silent@acme.com"] = ""
        outbox.release(engine, int(ids["silent@acme.com"]))
        with pytest.raises(outbox.OutboxError, match="only unknown"):
            outbox.confirm(engine, int(ids["gone@acme.com"]))
        send_invitations(engine, people, EVENT, ATTENDANCE, mailer(smtp.port), POLICY)
        assert rows(engine)["dropped@acme.com"][0] == "sent" and rows(engine)["silent@acme.com"][0] == "sent"
        assert smtp.script.bodies["silent@acme.com"] == 2 and smtp.script.accepted["silent@acme.com"] == 1


def test_a_refused_connection_is_retried_with_backoff_then_failed(engine: sa.Engine) -> None:
    policy = InvitationPolicy(unsubscribe_secret="test-secret", holdout_share=0.0, max_attempts=3,
                              backoff_seconds=0.2)
    started = time.monotonic()
    run = send_invitations(engine, recs(("Ana", "ana@acme.com")), EVENT, ATTENDANCE,
                           SmtpMailer(host="127.0.0.1", port=free_port(), timeout=2), policy)
    assert run.results["status"].tolist() == ["failed"]
    assert run.results["reason"].iloc[0].startswith("gave up after 3 attempts: ConnectionRefusedError")
    assert rows(engine) == {"ana@acme.com": ("failed", 3)}
    assert time.monotonic() - started >= 0.2 + 0.4  # waited out the backoff between the three attempts


def test_the_mailer_alone_classifies_quit_and_lost_replies() -> None:
    raw = b"From: a@b.com\nTo: x@acme.com\nSubject: hi\n\n.leading dot\nbody\n"
    with ScriptedSmtp({"x@acme.com": "quit_error", "y@acme.com": "drop_after_body"}) as smtp:
        assert mailer(smtp.port).deliver(raw, "a@b.com", "x@acme.com").outcome == Outcome.SENT
        assert mailer(smtp.port).deliver(raw, "a@b.com", "y@acme.com").outcome == Outcome.UNKNOWN
        assert mailer(smtp.port).deliver(raw, "a@b.com", "z@acme.com").outcome == Outcome.SENT


def test_renaming_the_event_in_the_catalogue_invites_nobody_again(engine: sa.Engine) -> None:
    people = recs(("Ana", "ana@acme.com"), ("Tom", "tom@acme.com"))
    with ScriptedSmtp() as smtp:
        first = send_invitations(engine, people, EVENT, ATTENDANCE, mailer(smtp.port), POLICY)
        renamed = pd.Series({**EVENT.to_dict(), "event_name": "Analytics Summit 2026 (new venue)"})
        catalogue = pd.DataFrame([renamed])
        second = send_invitations(engine, people, renamed, ATTENDANCE, mailer(smtp.port), POLICY,
                                  catalogue=catalogue)
        assert second.event_id == first.event_id and "renamed from 'Analytics Summit'" in second.note
        assert set(second.results["status"]) == {"skipped"}
        assert sum(smtp.script.accepted.values()) == 2
        # a second event of the same type on the same day, while the first is still in the catalogue, is new
        other = pd.Series({**EVENT.to_dict(), "event_name": "Analytics Summit: Partner Day"})
        third = send_invitations(engine, people, other, ATTENDANCE, mailer(smtp.port), POLICY,
                                 catalogue=pd.DataFrame([renamed, other]))
        assert third.event_id != first.event_id and set(third.results["status"]) == {"sent"}


# ---------------------------------------------------------------- SIGKILL at each step, then relaunch

SENDER = textwrap.dedent("""
    import os, signal, sys
    import pandas as pd
    from engagement_pipeline.actions import outbox
    from engagement_pipeline.actions.invitations import InvitationPolicy, send_invitations
    from engagement_pipeline.actions.mailer import SmtpMailer
    from engagement_pipeline.warehouse import make_engine

    url, port, kill_at = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    def checkpoint(step):
        if step == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
    outbox.checkpoint = checkpoint
    people = pd.DataFrame([{"customer_id": "acme", "customer_name": "Acme", "contact_name": f"P{i}",
                            "contact_email": f"p{i}@acme.com", "rank": i} for i in range(5)])
    event = pd.Series({"event_name": "Analytics Summit", "event_type": "conference",
                       "event_date": pd.Timestamp("2026-12-01"), "topics": ("analytics",),
                       "registration_url": "https://events.example.com/a"})
    attendance = pd.DataFrame(columns=["event_id", "event_name", "attendee_email", "attended"])
    policy = InvitationPolicy(unsubscribe_secret="s", holdout_share=0.0, max_attempts=2, backoff_seconds=0.01)
    send_invitations(make_engine(url), people, event, attendance, SmtpMailer("127.0.0.1", port, timeout=5), policy)
""")


def _launch(db_url: str, port: int, kill_at: str) -> int:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    done = subprocess.run([sys.executable, "-c", SENDER, db_url, str(port), kill_at], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, -signal.SIGKILL), done.stderr[-2000:]
    return done.returncode


@pytest.mark.slow
def test_a_sender_killed_at_each_step_and_relaunched_sends_each_contact_at_most_once(engine: sa.Engine,
                                                                                      db_url: str) -> None:
    with ScriptedSmtp() as smtp:
        # 1: killed after committing its claim on p0, before connecting: p0's body never left
        assert _launch(db_url, smtp.port, "claimed") == -signal.SIGKILL
        assert rows(engine)["p0@acme.com"][0] == "sending" and sum(smtp.script.bodies.values()) == 0
        assert set(s for s, _ in rows(engine).values()) == {"pending", "sending"}  # all 5 intents committed first
        # 2: relaunch requeues p0 and sends it; killed after the server's 250, before recording it
        assert _launch(db_url, smtp.port, "accepted") == -signal.SIGKILL
        assert smtp.script.accepted["p0@acme.com"] == 1 and rows(engine)["p0@acme.com"][0] == "transmitting"
        # 3: relaunch makes p0 unknown (never re-sent); killed just before p1's body leaves
        assert _launch(db_url, smtp.port, "transmitting") == -signal.SIGKILL
        assert rows(engine)["p0@acme.com"][0] == "unknown" and smtp.script.bodies["p1@acme.com"] == 0
        # 4: killed after recording p2's outcome (the commit), before the next message
        assert _launch(db_url, smtp.port, "recorded") == -signal.SIGKILL
        # 5: an undisturbed relaunch finishes the rest
        assert _launch(db_url, smtp.port, "never") == 0
        final = rows(engine)
        assert {e: s for e, (s, _) in final.items()} == {
            "p0@acme.com": "unknown", "p1@acme.com": "unknown", "p2@acme.com": "sent", "p3@acme.com": "sent",
            "p4@acme.com": "sent"}
        assert all(n <= 1 for n in smtp.script.bodies.values())
        # accounted for: every copy at the server is a sent or unknown row; every sent row has its copy
        for email, (status, _) in final.items():
            assert smtp.script.accepted[email] == (1 if status == "sent" or email == "p0@acme.com" else 0)
        # a person settles the two unknowns: p0 arrived (confirm), p1 did not (release: sent once more)
        review = outbox.review_list(engine)
        ids = dict(zip(review["contact_email"], review["invitation_id"], strict=True))
        outbox.confirm(engine, int(ids["p0@acme.com"]))
        outbox.release(engine, int(ids["p1@acme.com"]))
        assert outbox.deliver_due(engine, mailer(smtp.port)) == {"sent": 1}
        assert {s for s, _ in rows(engine).values()} == {"sent"}
        assert dict(smtp.script.accepted) == {f"p{i}@acme.com": 1 for i in range(5)}
        with engine.connect() as conn:
            ids = conn.execute(sa.select(invitations.c.message_id)).scalars().all()
        assert len(set(ids)) == 5  # one stable Message-ID per contact, kept across the relaunches


# ---------------------------------------------------------------- a person settles the unknowns: CLI and job

def _one_unknown(engine: sa.Engine) -> int:
    with ScriptedSmtp({"tom@acme.com": "drop_after_body"}) as smtp:
        send_invitations(engine, recs(("Ana", "ana@acme.com"), ("Tom", "tom@acme.com")), EVENT, ATTENDANCE,
                         mailer(smtp.port), POLICY)
    review = outbox.review_list(engine)
    assert review["status"].tolist() == ["unknown"]
    return int(review["invitation_id"].iloc[0])


@pytest.fixture
def sqlite_only(tmp_path: Path) -> tuple[sa.Engine, str]:
    """The CLI and the job are thin wiring over the outbox (tested on both backends above): SQLite is enough."""
    url = f"sqlite:///{tmp_path / 'warehouse.sqlite'}"
    engine = make_engine(url)
    create_schema(engine)
    yield engine, url
    engine.dispose()


@pytest.mark.slow
def test_the_outbox_commands_list_confirm_and_release(sqlite_only: tuple[sa.Engine, str], tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engagement_pipeline.cli import main

    engine, db_url = sqlite_only
    unknown = _one_unknown(engine)
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_DB_URL": db_url}
    listed = CliRunner().invoke(main, ["outbox", "list"], env=env)
    assert listed.exit_code == 0 and "unknown" in listed.output and "tom@acme.com" in listed.output
    assert "ana@acme.com" not in listed.output
    refused = CliRunner().invoke(main, ["outbox", "confirm", "999"], env=env)
    assert refused.exit_code == 1 and "no invitation 999" in refused.output
    released = CliRunner().invoke(main, ["outbox", "release", str(unknown)], env=env)
    assert released.exit_code == 0 and f"invitation {unknown}: queued again" in released.output
    sent = CliRunner().invoke(main, ["outbox", "send"], env=env)  # no SMTP host: the .eml folder
    assert sent.exit_code == 0 and "1 sent" in sent.output
    assert len(list((tmp_path / "outbox").glob("*tom@acme.com.eml"))) == 1
    assert "Nothing to review" in CliRunner().invoke(main, ["outbox", "list"], env=env).output


@pytest.mark.slow
def test_the_outbox_job_confirms_from_the_ui(sqlite_only: tuple[sa.Engine, str], tmp_path: Path) -> None:
    import dagster as dg

    from engagement_pipeline.config import Settings
    from engagement_pipeline.defs import build_definitions
    from engagement_pipeline.defs.actions.resources import Mailer

    engine, db_url = sqlite_only
    unknown = _one_unknown(engine)
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_DB_URL": db_url})
    defs = build_definitions(settings=settings, resources={"mailer": Mailer()})
    job = defs.resolve_job_def("invitation_outbox_job")
    config = {"ops": {"review_invitation_outbox": {"config": {"action": "confirm", "invitation_ids": [unknown]}}}}
    with dg.instance_for_test() as instance:
        result = job.execute_in_process(run_config=config, instance=instance)
    assert result.success and result.output_for_node("review_invitation_outbox").empty
    assert rows(engine)["tom@acme.com"] == ("sent", 1)


def test_two_launches_at_once_send_each_contact_once(engine: sa.Engine) -> None:
    import threading

    people = recs(*[(f"P{i}", f"p{i}@acme.com") for i in range(8)])
    errors: list[BaseException] = []
    with ScriptedSmtp() as smtp:
        def launch() -> None:
            try:
                send_invitations(engine, people, EVENT, ATTENDANCE, mailer(smtp.port), POLICY)
            except BaseException as err:
                errors.append(err)

        threads = [threading.Thread(target=launch) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert errors == []
        assert dict(smtp.script.bodies) == {f"p{i}@acme.com": 1 for i in range(8)}
    assert {s for s, _ in rows(engine).values()} == {"sent"}
