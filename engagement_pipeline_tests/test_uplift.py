"""The holdout and the uplift: intervals checked on a simulation whose true effect is known (none, +10 and +30
points), published values of the Newcombe interval, and the holdout stored, stable and never sent to, on both
warehouse backends."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline.actions import uplift
from engagement_pipeline.actions.conversion import advocacy_conversion, holdout_outcomes, invitation_conversion
from engagement_pipeline.actions.health import health_history
from engagement_pipeline.actions.holdout import assign_arms
from engagement_pipeline.actions.invitations import InvitationPolicy, send_invitations
from engagement_pipeline.actions.mailer import OutboxMailer
from engagement_pipeline.actions.report import UPLIFT_ATTR, report_sections, uplift_report, uplift_table
from engagement_pipeline.actions.risks import open_signals, open_tasks
from engagement_pipeline.actions.suppressions import add_suppressions
from engagement_pipeline.warehouse import make_engine
from engagement_pipeline.warehouse.action_tables import invitation_events, invitations

from .test_actions_invitations import ATTENDANCE, EVENT, recs
from .test_outbox import engine  # noqa: F401  (the fixture)


@pytest.mark.parametrize(("x1", "n1", "x0", "n0", "expected"), [
    (56, 70, 48, 80, (0.2, 0.0524, 0.3339)),  # Newcombe (1998), Table II, example (a), method 10
    (9, 10, 3, 10, (0.6, 0.1705, 0.8090)),  # example (b)
    (5, 56, 0, 29, (0.0893, -0.0381, 0.1926)),  # example (e): a zero cell
])
def test_the_newcombe_interval_matches_the_published_values(x1, n1, x0, n0, expected) -> None:
    got = uplift.newcombe_difference(x1, n1, x0, n0)
    assert got == pytest.approx(expected, abs=6e-4)


def test_wilson_interval_known_value() -> None:
    assert uplift.wilson(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-4)  # Newcombe (1998a) example


def _simulate(effect: float, seed: int, events: int = 4, contacts: int = 150, share: float = 0.2) -> pd.DataFrame:
    """Contacts drawn with the product's own draw; attendance ~ Bernoulli(base + effect if invited)."""
    rng = np.random.default_rng(seed)
    rows = []
    for e in range(events):
        base = rng.uniform(0.15, 0.5)
        event_id = f"evt-sim-{seed}-{e}"
        arms = assign_arms(event_id, [f"c{c}@sim{seed}.com" for c in range(contacts)], share)
        for arm in arms.values():
            rate = base + (effect if arm == "invite" else 0.0)
            rows.append({"event": event_id, "arm": arm, "attended": bool(rng.random() < rate)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize("effect", [0.0, 0.10, 0.30])
def test_the_interval_covers_the_true_effect_in_most_seeds(effect: float) -> None:
    pooled_hits = event_hits = 0
    for seed in range(20):
        table = uplift.attendance_uplift(_simulate(effect, seed))
        pooled = table.iloc[-1]
        assert pooled["event"] == "All events"
        pooled_hits += pooled["uplift_low"] <= effect <= pooled["uplift_high"]
        first = table.iloc[0]
        event_hits += first["uplift_low"] <= effect <= first["uplift_high"]
    assert pooled_hits >= 17 and event_hits >= 17, (pooled_hits, event_hits)


def test_a_large_effect_is_detected_and_none_is_not_claimed() -> None:
    strong = uplift.attendance_uplift(_simulate(0.30, seed=1)).iloc[-1]
    assert strong["verdict"] == "raised attendance" and strong["uplift_low"] > 0.1
    assert strong["relative_uplift"] > 0.5


def test_small_groups_say_not_enough_data_yet() -> None:
    table = uplift.attendance_uplift(_simulate(0.3, seed=2, events=1, contacts=30))
    assert table.iloc[-1]["verdict"].startswith("not enough data yet: needs at least 10 contacts in each group")
    assert pd.isna(table.iloc[-1]["uplift"])
    assert "Not enough data yet" in uplift.markdown_section(table)
    assert uplift.metrics(table)["attendance_held_out"] < 10


def test_advocacy_is_labelled_observational() -> None:
    row = uplift.advocacy_association(pd.Series([True] * 8 + [False] * 4), pd.Series([True] * 3 + [False] * 9))
    assert row["event"] == "Advocacy (observational, not causal)" and row["uplift"] == pytest.approx(0.417, abs=1e-3)


# ---------------------------------------------------------------- the holdout in the warehouse

POLICY = InvitationPolicy(unsubscribe_secret="test-secret", max_per_contact=5, holdout_share=0.3)
PEOPLE = recs(*[(f"Person {i}", f"p{i}@acme.com") for i in range(60)])


def _arms(engine: sa.Engine) -> dict[str, tuple[str | None, str]]:  # noqa: F811
    with engine.connect() as conn:
        return {r.contact_email: (r.arm, r.status) for r in conn.execute(
            sa.select(invitations.c.contact_email, invitations.c.arm, invitations.c.status))}


@pytest.mark.slow
def test_the_holdout_is_recorded_stable_across_reruns_and_restarts_and_never_sent(
        engine: sa.Engine, db_url: str, tmp_path: Path) -> None:  # noqa: F811
    with engine.begin() as conn:
        add_suppressions(conn, pd.DataFrame({"email": ["p0@acme.com"], "reason": ["unsubscribed"]}), "test")
    outbox_dir = tmp_path / "outbox"
    first = send_invitations(engine, PEOPLE.iloc[:40], EVENT, ATTENDANCE, OutboxMailer(outbox_dir), POLICY)
    arms = _arms(engine)
    assert arms["p0@acme.com"] == (None, "skipped")  # suppressed: excluded before the draw
    held = {e for e, (arm, _) in arms.items() if arm == "holdout"}
    invited = {e for e, (arm, _) in arms.items() if arm == "invite"}
    assert len(held) == round(0.3 * 39) == 12 and len(invited) == 27  # the share exactly, not a coin per contact
    assert all(arms[e][1] == "held_out" for e in held) and all(arms[e][1] == "sent" for e in invited)
    with engine.connect() as conn:
        recorded = conn.execute(sa.select(invitation_events.c.event_id, invitation_events.c.holdout_share,
                                          invitation_events.c.holdout_seed)).one()
    assert tuple(recorded) == (first.event_id, 0.3, first.event_id)

    # the same run again: the same arms, nothing new sent
    rerun = send_invitations(engine, PEOPLE.iloc[:40], EVENT, ATTENDANCE, OutboxMailer(outbox_dir), POLICY)
    assert set(rerun.results["status"]) == {"skipped"} and _arms(engine) == arms
    assert len(list(outbox_dir.glob("*.eml"))) == 27
    # a restart (new engine), the contacts in another order, more of them and another share asked: nobody is
    # re-drawn, the recorded share stands, the newcomers are drawn with it
    engine.dispose()
    again_engine = make_engine(db_url)
    shuffled = PEOPLE.sample(frac=1, random_state=7)
    second = send_invitations(again_engine, shuffled, EVENT, ATTENDANCE, OutboxMailer(outbox_dir),
                              InvitationPolicy(unsubscribe_secret="test-secret", max_per_contact=5, holdout_share=0.5))
    assert "holdout share stays 30%" in second.note
    after = _arms(again_engine)
    assert {e: after[e] for e in arms} == arms
    held_all = {e for e, (arm, _) in after.items() if arm == "holdout"}
    assert len(held_all) == round(0.3 * 59)  # the newcomers topped the holdout up to the recorded share
    sent_to = {p.name.split("-", 1)[1].removesuffix(".eml") for p in outbox_dir.glob("*.eml")}
    assert sent_to.isdisjoint(held_all) and sent_to == {e for e, (arm, _) in after.items() if arm == "invite"}
    assert len(sent_to) == len(list(outbox_dir.glob("*.eml")))  # one message per invited contact

    # the event's attendance arrives: the uplift of this one event, from the stored arms
    came = sorted(e for e in after if e != "p0@acme.com")[::2]
    attendance = pd.DataFrame({"event_id": "z1", "event_name": EVENT["event_name"], "event_type": "conference",
                               "event_date": EVENT["event_date"], "attendee_email": came, "attended": True,
                               "customer_id": "acme"})
    with again_engine.connect() as conn:
        outcomes = holdout_outcomes(conn, attendance)
    assert len(outcomes) == 59 and set(outcomes["arm"]) == {"invite", "holdout"}
    table = uplift.attendance_uplift(outcomes)
    assert table.iloc[0]["invited"] + table.iloc[0]["held_out"] == 59
    markdown, numbers = uplift_report(again_engine, attendance)
    assert "## Did invitations raise attendance?" in markdown
    assert numbers["attendance_invited"] + numbers["attendance_held_out"] == 59
    with again_engine.connect() as conn:
        conversion = invitation_conversion(conn, attendance)
        conversion.attrs[UPLIFT_ATTR] = uplift_table(conn, attendance)
        sections = dict(report_sections(open_signals(conn), open_tasks(conn), health_history(conn),
                                        conversion, advocacy_conversion(conn)))
    shown = sections["Did invitations raise attendance? (randomised holdout)"]
    assert shown["Event"].tolist() == ["Analytics Summit", "All events"]
    again_engine.dispose()


@pytest.mark.slow
def test_advocacy_outcomes_and_the_conversion_asset_metadata(engine: sa.Engine, db_url: str,  # noqa: F811
                                                             tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from engagement_pipeline.actions.conversion import advocacy_outcomes
    from engagement_pipeline.defs.actions.assets import conversion_summary
    from engagement_pipeline.defs.resources import Warehouse
    from engagement_pipeline.warehouse.action_tables import advocacy_opportunities

    asked_on = datetime(2026, 11, 1, 9, tzinfo=UTC)
    with engine.begin() as conn:
        for customer in ("A", "B"):
            conn.execute(advocacy_opportunities.insert().values(
                customer_id=customer, opportunity_type="reference", status="open", created_at=asked_on,
                updated_at=asked_on))
    candidates = pd.DataFrame({"customer_id": ["A", "B", "C", "D"]})
    attendance = pd.DataFrame({
        "event_id": ["e2", "e2", "e1"], "event_name": ["Later", "Later", "Earlier"],
        "event_type": "webinar", "event_date": pd.to_datetime(["2026-11-10", "2026-11-10", "2026-10-01"]),
        "attendee_email": ["a@a.com", "c@c.com", "d@d.com"], "customer_id": ["A", "C", "D"], "attended": True})
    with engine.connect() as conn:
        contacted, not_contacted = advocacy_outcomes(conn, candidates, attendance)
    assert contacted.tolist() == [True, False] and not_contacted.tolist() == [True, False]

    # the holdout of one event, then the conversion asset: numeric uplift metadata, the uplift in .attrs
    people = recs(*[(f"P{i}", f"p{i}@acme.com") for i in range(40)])
    send_invitations(engine, people, EVENT, ATTENDANCE, OutboxMailer(tmp_path / "outbox"),
                     InvitationPolicy(unsubscribe_secret="s", max_per_contact=5))  # the default 20 % holdout
    came = pd.DataFrame({"event_id": "z1", "event_name": EVENT["event_name"], "event_type": "conference",
                         "event_date": EVENT["event_date"], "customer_id": "acme", "attended": True,
                         "attendee_email": [f"p{i}@acme.com" for i in range(0, 40, 2)]})
    output = conversion_summary(attendance=pd.concat([attendance, came], ignore_index=True),
                                advocacy_candidates=candidates, warehouse=Warehouse(url=db_url))
    numbers = {k: v.value if hasattr(v, "value") else v for k, v in output.metadata.items()}
    assert numbers["attendance_invited"] == 32 and numbers["attendance_held_out"] == 8
    assert isinstance(numbers["attendance_held_out_rate"], float) and numbers["events_measured"] == 1
    lift = output.value.attrs["uplift"]
    assert lift["event"].tolist() == ["Analytics Summit", "All events", "Advocacy (observational, not causal)"]
