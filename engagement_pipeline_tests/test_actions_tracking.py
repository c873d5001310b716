"""Risk signals de-duplicated across runs, outreach tasks, health history, conversion from a follow-up upload."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline.actions import conversion, health, risks
from engagement_pipeline.actions.report import actions_report_sections
from engagement_pipeline.warehouse import create_schema, make_engine
from engagement_pipeline.warehouse.action_tables import invitations

RISKS = pd.DataFrame({
    "customer_id": ["C1", "C2"], "customer_name": ["Acme", "Beta"], "score": [35.0, 55.0],
    "band": ["Low", "Medium"], "events_missed": [3, 1], "csm_owner": ["Olivia Grant", None],
    "reason": ["attended 1 of 9 events in the last 6 months vs 6 of 9 in the 6 before (p=0.05)",
               "attended 2 of 9 events in the last 6 months vs 7 of 9 in the 6 before (p=0.04)"],
})
CONTACTS = pd.DataFrame({"customer_id": ["C1"], "name": ["Yara Haddad"], "is_champion": [True]})


@pytest.fixture
def engine(db_url: str) -> sa.Engine:
    engine = make_engine(db_url)
    create_schema(engine)
    return engine


def test_one_open_signal_per_cause_and_one_task_across_runs(engine: sa.Engine) -> None:
    causes = risks.risk_causes(RISKS)
    assert causes[["customer_id", "cause"]].values.tolist() == [
        ["C1", "declining_attendance"], ["C1", "missed_events"], ["C1", "low_engagement"],
        ["C2", "declining_attendance"]]
    with engine.begin() as conn:
        assert risks.sync_risk_signals(conn, causes, date(2026, 11, 2)) == {"created": 4, "resolved": 0, "open": 4}
        assert risks.sync_outreach_tasks(conn, RISKS, CONTACTS, date(2026, 11, 2)) == 2
    with engine.begin() as conn:  # the same re-score again: nothing new
        assert risks.sync_risk_signals(conn, causes, date(2026, 11, 2)) == {"created": 0, "resolved": 0, "open": 4}
        assert risks.sync_outreach_tasks(conn, RISKS, CONTACTS, date(2026, 11, 2)) == 0
    with engine.begin() as conn:  # a week later Beta recovered, Acme is still declining
        later = causes.loc[causes["customer_id"] == "C1"]
        assert risks.sync_risk_signals(conn, later, date(2026, 11, 9)) == {"created": 0, "resolved": 1, "open": 3}
        tasks = risks.open_tasks(conn).sort_values("customer_id")
    acme = tasks.iloc[0]
    assert (acme["csm_owner"], acme["due_date"]) == ("Olivia Grant", date(2026, 11, 9))
    assert acme["suggested_action"] == (
        "Call Yara Haddad to review their goals: attended 1 of 9 events in the last 6 months vs 6 of 9 in the 6 "
        "before (p=0.05); invite them personally to the next event on their topics; offer a hands-on training "
        "session.")
    titles = [title for title, _ in actions_report_sections(engine)]
    assert titles == ["Open risk signals", "Outreach tasks"]


def test_health_blends_usage_and_engagement_and_keeps_history(engine: sa.Engine) -> None:
    customers = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "name": ["Acme", "Beta", "Gamma"],
                              "usage_health": [80.0, None, 50.0]})
    scores = pd.DataFrame({"customer_id": ["C1", "C2"], "score": [40.0, 70.0]})
    blended = health.blend_health(scores, customers, engagement_weight=0.25)
    assert blended["health_score"].tolist() == [70.0, 70.0, 50.0]
    with engine.begin() as conn:
        assert health.store_health(conn, date(2026, 11, 2), blended) == 3
        health.store_health(conn, date(2026, 11, 9), health.blend_health(scores, customers, 0.5))
        health.store_health(conn, date(2026, 11, 9), health.blend_health(scores, customers, 0.5))
        history = health.health_history(conn, "C1")
    assert [(str(d), h) for d, h in zip(history["as_of"], history["health_score"], strict=True)] == [
        ("2026-11-02", 70.0), ("2026-11-09", 60.0)]
    assert health.health_update_sentence(82, 5) == (
        "Updated engagement in the health score for all 82 customers; 5 risk signals created.")
    with pytest.raises(ValueError, match="between 0 and 1"):
        health.blend_health(scores, customers, 1.5)


def _row(event_id: str, name: str, day: str, email: str, attended: bool = True) -> dict:
    return {"event_id": event_id, "event_name": name, "event_type": "webinar", "event_date": pd.Timestamp(day),
            "attendee_email": email, "customer_id": "C" + email[0], "attended": attended}


def test_conversion_from_a_follow_up_upload(engine: sa.Engine) -> None:
    now = datetime(2026, 11, 3, tzinfo=UTC)
    with engine.begin() as conn:
        for email in ("a@x.com", "b@x.com", "c@x.com", "d@x.com"):
            conn.execute(invitations.insert().values(
                event_id="evt-dashboards", event_name="Dashboards and Automation Webinar",
                event_date=date(2026, 11, 11), event_type="webinar",
                contact_email=email, status="sent", attempts=1, created_at=now, sent_at=now))
    history = [_row("old", "Earlier Webinar", "2026-10-01", e) for e in
               ("a@x.com", "e@x.com", "f@x.com", "g@x.com", "h@x.com")]
    # the follow-up upload: the Zoom export of the webinar, named slightly differently
    follow_up = [_row("z1", "Dashboards & Automation webinar", "2026-11-11", e) for e in
                 ("a@x.com", "b@x.com", "e@x.com")] + [_row("z1", "Dashboards & Automation webinar", "2026-11-11",
                                                            "c@x.com", attended=False)]
    before = pd.DataFrame(history)
    after = pd.DataFrame(history + follow_up)
    with engine.begin() as conn:
        assert conversion.mark_conversions(conn, before) == 0
        assert conversion.mark_conversions(conn, after) == 2
        assert conversion.mark_conversions(conn, after) == 0
        table = conversion.invitation_conversion(conn, after)
    # invited: 2 of 4 attended (50 %); others who attended before: e, f, g, h -> 1 of 4 (25 %); lift +100 %
    assert table.to_dict(orient="records")[0] == {
        "event_name": "Dashboards and Automation Webinar", "event_date": date(2026, 11, 11), "sent": 4,
        "attended": 2, "conversion_rate": 0.5, "baseline_rate": 0.25, "attendance_lift": 1.0}
    assert table.iloc[-1][["event_name", "sent", "attended", "conversion_rate", "attendance_lift"]].tolist() == [
        "All events", 4, 2, 0.5, 1.0]
