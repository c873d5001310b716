"""Insights on a five-customer population whose right answers were worked out by hand.

as_of 2026-06-30. Past events E1..E6; Acme (C1) is the star (spoke once, 12 questions, feedback at 3 events,
every event type), Bolt (C2) rising, Cobalt (C3) a tested decline with 2 no-shows, Delta (C4) a new customer
with no history, Echo (C5) one low-depth attendance. An unmatched gmail user and an organiser host attend too.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from engagement_pipeline.insights import (
    advocacy_candidates,
    engagement_distribution,
    engagement_risks,
    event_summary,
    invitation_recommendations,
    is_on_topic,
    leaderboard,
    load_upcoming_events,
    upload_summary,
)

AS_OF = date(2026, 6, 30)
EVENTS = {
    "E1": ("Analytics Webinar: Dashboards 101", "webinar", "2025-09-10"),
    "E2": ("Data-Quality Clinic", "training", "2025-11-12"),
    "E3": ("Spring User Group", "user_group", "2026-01-20"),
    "E4": ("Advanced Analytics Webinar", "webinar", "2026-03-05"),
    "E5": ("Dashboards Deep Dive", "webinar", "2026-04-22"),
    "E6": ("Summer Conference", "conference", "2026-06-10"),
}
PEOPLE = {  # email: (name, customer_id)
    "ana@acme.com": ("Ana Lima", "C1"), "bo@acme.com": ("Bo Berg", "C1"), "carl@bolt.io": ("Carl Park", "C2"),
    "dan@cobalt.com": ("Dan Cole", "C3"), "fay@echo.de": ("Fay Ernst", "C5"), "gus@gmail.com": ("Gus", None),
    "host@northwind-analytics.com": ("Host", None),
}
# (event, email, attended, questions, feedback, role)
ROWS = [
    ("E1", "ana@acme.com", True, 3, True, "attendee"), ("E2", "ana@acme.com", True, 0, False, "attendee"),
    ("E3", "ana@acme.com", True, 2, False, "speaker"), ("E4", "ana@acme.com", True, 4, True, "attendee"),
    ("E5", "ana@acme.com", True, 1, False, "attendee"), ("E6", "ana@acme.com", True, 2, True, "attendee"),
    ("E3", "bo@acme.com", True, 0, False, "attendee"), ("E6", "bo@acme.com", True, 0, False, "attendee"),
    ("E4", "carl@bolt.io", True, 5, False, "attendee"), ("E5", "carl@bolt.io", True, 0, True, "attendee"),
    ("E6", "carl@bolt.io", True, 0, False, "attendee"),
    ("E1", "dan@cobalt.com", True, 0, False, "attendee"), ("E2", "dan@cobalt.com", True, 0, False, "attendee"),
    ("E3", "dan@cobalt.com", True, 0, False, "attendee"), ("E5", "dan@cobalt.com", False, 0, False, "attendee"),
    ("E6", "dan@cobalt.com", False, 0, False, "attendee"),
    ("E2", "fay@echo.de", True, 0, False, "attendee"),
    ("E4", "gus@gmail.com", True, 9, True, "attendee"),
    ("E4", "host@northwind-analytics.com", True, 0, False, "host"),
]


def attendance() -> pd.DataFrame:
    records = []
    for event, email, attended, questions, feedback, role in ROWS:
        name, etype, day = EVENTS[event]
        person, customer = PEOPLE[email]
        records.append({
            "event_id": f"{day}-{event.lower()}", "event_name": name, "event_type": etype,
            "event_date": pd.Timestamp(day), "attendee_key": email, "attendee_email": email,
            "attendee_name": person, "company": None, "registered": True, "attended": attended,
            "minutes_attended": 45.0 if attended else 0.0, "questions_asked": questions, "polls_answered": 0,
            "feedback_submitted": feedback, "role": role, "customer_id": customer,
            "match_method": "email" if customer else None,
        })
    return pd.DataFrame(records)


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "name": ["Acme Corp", "Bolt Ltd", "Cobalt Inc", "Delta LLC", "Echo GmbH"],
        "domains": ["acme.com", "bolt.io", "cobalt.com", "delta.io", "echo.de"],
        "arr": [500_000.0, 120_000.0, 300_000.0, 50_000.0, 20_000.0],
        "usage_health": [80.0, 60.0, 40.0, 50.0, 30.0],
        "csm_owner": ["Kim", "Lee", "Dana", "Kim", "Lee"],
        "customer_since": pd.to_datetime(["2023-01-01", "2024-02-01", "2022-05-01", "2026-05-15", "2025-01-01"]),
    })


def contacts() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C4", "C4", "C4"],
        "name": ["Ana Lima", "Carl B. Park", "Eve New", "Zed Admin", "Staff"],
        "email": ["ana@acme.com", "carl@bolt.io", "eve@delta.io", "zed@delta.io",
                  "csm@northwind-analytics.com"],
        "role": ["Analyst", "Lead", "Engineer", "Admin", "CSM"],
        "is_champion": [True, False, False, True, True],
    })


def scores() -> pd.DataFrame:
    nan = float("nan")
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C5", "C4"],
        "customer_name": ["Acme Corp", "Bolt Ltd", "Cobalt Inc", "Echo GmbH", "Delta LLC"],
        "as_of": [AS_OF] * 5,
        "score": [91.0, 75.0, 45.0, 20.0, nan],
        "band": ["High", "Good", "Medium", "Low", "Not scored"],
        "rank": [1, 2, 3, 4, nan],
        "diversity": [0.9, 0.5, 0.6, 0.2, nan], "consistency": [0.8, 0.6, 0.4, 0.1, nan],
        "depth": [0.7, 0.5, 0.2, 0.1, nan],
        "events_attended": [6, 3, 3, 1, 0], "events_held": [6] * 5, "users": [2, 1, 1, 1, 0],
    })


def trends() -> pd.DataFrame:
    nan = float("nan")
    return pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "trend": ["stable", "rising", "declining", "insufficient_data", "insufficient_data"],
        "events_current": [4, 3, 0, 0, 0], "events_previous": [2, 0, 3, 0, 1],
        "held_current": [3] * 5, "held_previous": [3] * 5,
        "rate_ratio": [1.0, nan, 0.0, nan, nan], "p_value": [0.9, 0.2, 0.031, nan, nan],
        "events_missed": [0, 0, 3, 6, 4],
        "last_attended": pd.to_datetime(["2026-06-10", "2026-06-10", "2026-01-20", None, "2025-11-12"]),
    })


def upcoming() -> pd.DataFrame:
    return pd.DataFrame({
        "event_name": ["Past Webinar", "Dashboards & Analytics Webinar", "Onboarding Training: Data Quality",
                       "Customer Advisory User Group"],
        "event_type": ["webinar", "webinar", "training", "user_group"],
        "event_date": pd.to_datetime(["2026-06-01", "2026-07-15", "2026-07-22", "2026-08-05"]),
        "topics": [("analytics",), ("analytics", "dashboards"), ("data-quality",), ("roadmap",)],
        "registration_url": [None] * 4,
    })


def test_advocacy_candidates_with_evidence_and_asks() -> None:
    result = advocacy_candidates(scores(), trends(), attendance(), contacts(), customers=customers())
    assert result["customer_id"].tolist() == ["C1", "C2"]  # Cobalt is declining, the rest below 70
    acme, bolt = result.iloc[0], result.iloc[1]
    assert acme["notable"] == ["spoke at 1 event", "asked 12 questions, the most of any customer",
                               "gave feedback at 3 events", "attended in 6 of the last 12 months",
                               "attended every event type"]
    assert acme["suggested_types"] == ["speaking", "advisory board", "case study", "reference"]
    assert acme["champion"] == "Ana Lima (ana@acme.com)"
    assert bolt["notable_text"] == "asked 5 questions; gave feedback at 1 event"
    assert bolt["suggested_types_text"] == "reference"
    assert bolt["champion"] == "Carl Park (carl@bolt.io)"  # no CRM champion: most engaged attendee


def test_advocacy_without_crm_and_with_nobody_eligible() -> None:
    assert advocacy_candidates(scores(), trends(), attendance(), contacts())["suggested_types"].iloc[0] == [
        "speaking", "advisory board", "case study", "reference"]
    assert advocacy_candidates(scores(), trends(), attendance(), contacts(), min_score=95).empty


def test_engagement_risks_reason_and_order() -> None:
    declined = trends()
    declined.loc[declined["customer_id"] == "C5", ["trend", "events_missed", "p_value"]] = ["declining", 1, 0.0004]
    result = engagement_risks(scores(), declined, customers())
    assert result["customer_id"].tolist() == ["C3", "C5"]  # by ARR at risk: 300k before 20k
    cobalt = result.iloc[0]
    assert cobalt["reason"] == ("attended 0 of 3 events in the last 6 months vs 3 of 3 in the 6 before (p=0.031); "
                                "missed the last 3 events in a row")
    assert (cobalt["csm_owner"], cobalt["arr"], cobalt["band"]) == ("Dana", 300_000.0, "Medium")
    assert result.iloc[1]["reason"].endswith("(p<0.001); missed the last event")
    assert engagement_risks(scores(), trends().assign(trend="stable"), customers()).empty


def _recommend(per_event: int = 5, **options: float) -> pd.DataFrame:
    """Per-event signals alone (no spread, no cross-event cap) unless `options` say otherwise."""
    return invitation_recommendations(upcoming(), attendance(), scores(), trends(), customers(), contacts(),
                                      AS_OF, per_event=per_event, **{"spread": 1.0, "max_per_contact": 99,
                                                                     **options})


def test_invitations_for_every_upcoming_event_with_grounded_reasons() -> None:
    result = _recommend()
    by_event = {name: frame for name, frame in result.groupby("event_name", sort=False)}
    assert list(by_event) == ["Dashboards & Analytics Webinar", "Onboarding Training: Data Quality",
                              "Customer Advisory User Group"]  # the past webinar is not upcoming
    webinar = by_event["Dashboards & Analytics Webinar"]
    assert webinar[["customer_id", "contact_email", "reason"]].values.tolist() == [
        ["C1", "ana@acme.com", "attended 3 events on analytics, dashboards"],
        ["C3", "dan@cobalt.com", "attended 1 event on analytics, dashboards; declining engagement: re-engage"],
        ["C2", "carl@bolt.io", "attended 2 events on analytics, dashboards"],
    ]
    training = by_event["Onboarding Training: Data Quality"]
    assert training[["customer_id", "contact_name", "reason"]].values.tolist() == [
        ["C3", "Dan Cole", "attended 1 event on data-quality; little participation so far (depth 0.20): "
                           "hands-on training; declining engagement: re-engage"],
        ["C4", "Zed Admin", "new customer since 2026-05-15: onboarding training"],  # CRM champion
        ["C5", "Fay Ernst", "attended 1 event on data-quality; little participation so far (depth 0.10): "
                            "hands-on training"],
        ["C1", "Ana Lima", "attended 1 event on data-quality"],
    ]
    assert training["rank"].tolist() == [1, 2, 3, 4]
    assert training["relevance"].tolist() == [3.5, 3.0, 2.0, 1.0]
    group = by_event["Customer Advisory User Group"]
    assert group["reason"].tolist() == ["top engaged customer (score 91), fits an advisory user group",
                                        "declining engagement: re-engage"]


def test_invitations_never_internal_unmatched_or_twice_and_capped() -> None:
    result = _recommend()
    assert not result["contact_email"].str.contains("northwind-analytics.com|gmail.com").any()
    assert not result.duplicated(["event_name", "contact_email"]).any()
    assert _recommend(per_event=2).groupby("event_name").size().tolist() == [2, 2, 2]


def test_invitations_respect_the_contact_cap_across_events_and_spread_beyond_the_same_customers() -> None:
    plain = _recommend()
    assert plain.groupby("contact_email").size().max() >= 2  # without the cap some contact is in several lists
    capped = _recommend(max_per_contact=1, cap_days=365)
    assert capped.groupby("contact_email").size().max() == 1
    default = invitation_recommendations(upcoming(), attendance(), scores(), trends(), customers(), contacts(),
                                         AS_OF)  # 2 per 30 days, like sending
    days = pd.to_datetime(default["event_date"])
    for _, mine in default.assign(day=days).groupby("contact_email"):
        for day in mine["day"]:
            assert (abs((mine["day"] - day).dt.days) < 30).sum() <= 2
    spread = _recommend(spread=0.5)
    first_of = {event: frame["customer_id"].iloc[0] for event, frame in spread.groupby("event_name", sort=False)}
    plain_first = {event: frame["customer_id"].iloc[0] for event, frame in plain.groupby("event_name", sort=False)}
    assert len(set(first_of.values())) >= len(set(plain_first.values()))
    training = spread.loc[spread["event_name"] == "Onboarding Training: Data Quality"]
    assert training["customer_id"].iloc[0] == "C4"  # C3 leads the webinar already: halved, C4 goes first
    assert (spread.groupby("event_name").size() == plain.groupby("event_name").size()).all()


def test_invitations_fall_back_to_most_engaged_when_no_signal() -> None:
    quiet = upcoming().iloc[[1]].assign(topics=[("security",)])
    result = invitation_recommendations(quiet, attendance(), scores(), trends().assign(trend="stable"),
                                        customers(), contacts(), AS_OF, per_event=2)
    assert result["reason"].tolist() == ["among the most engaged customers (score 91)",
                                         "among the most engaged customers (score 75)"]
    # Cobalt's decline is a signal, but nobody at Cobalt can be reached without history or CRM contacts
    unreachable = invitation_recommendations(upcoming().iloc[[1]], attendance().iloc[0:0], scores(), trends(),
                                             customers(), contacts(), AS_OF, per_event=2)
    assert unreachable[["customer_id", "contact_email"]].values.tolist() == [["C1", "ana@acme.com"],
                                                                             ["C2", "carl@bolt.io"]]


@pytest.mark.parametrize(("name", "topic", "expected"), [
    ("Data-Quality Clinic", "data quality", True),
    ("Data Quality Clinic", "data-quality", True),
    ("Dashboards and Analytics", "analytics dashboards", True),
    ("Maintaining pipelines", "ai", False),
    ("Dashboards Deep Dive", "analytics", False),
])
def test_is_on_topic(name: str, topic: str, expected: bool) -> None:
    assert is_on_topic(name, topic) is expected


def test_upload_summary_and_event_summary() -> None:
    summary = upload_summary(attendance())
    assert summary["headline"] == "Found 17 attendance records for 7 users across 6 events"
    assert (summary["records"], summary["people"], summary["events"], summary["customers"],
            summary["no_shows"]) == (17, 7, 6, 4, 2)
    assert (summary["date_from"], summary["date_to"]) == (date(2025, 9, 10), date(2026, 6, 10))
    assert summary["event_types"] == {"webinar": 3, "user_group": 1, "training": 1, "conference": 1}
    table = event_summary(attendance())
    assert table.values.tolist() == [["webinar", 3, 8, 2.7], ["user_group", 1, 3, 3.0],
                                     ["training", 1, 3, 3.0], ["conference", 1, 3, 3.0]]


def test_event_with_nobody_attending_still_counts_as_held() -> None:
    events = pd.DataFrame({"event_id": ["2026-06-20-empty"], "event_name": ["Empty"],
                           "event_type": ["training"], "event_date": [pd.Timestamp("2026-06-20")]})
    assert upload_summary(attendance(), events)["headline"].endswith("across 7 events")
    assert event_summary(attendance(), events).set_index("event_type").loc["training", "avg_per_event"] == 1.5


def test_engagement_distribution_counts_shares_and_bars() -> None:
    table = engagement_distribution(scores())
    assert table["band"].tolist() == ["High", "Good", "Medium", "Low", "Not scored"]
    assert table["customers"].tolist() == [1, 1, 1, 1, 1]
    assert table["share"].tolist() == [0.2] * 5
    assert table["bar"].map(len).tolist() == [4] * 5
    only_scored = engagement_distribution(scores().iloc[:4].assign(band=["High", "High", "High", "Low"]))
    assert only_scored["band"].tolist() == ["High", "Good", "Medium", "Low"]
    assert only_scored["bar"].tolist() == ["█" * 15, "", "", "█" * 5]


def test_leaderboard() -> None:
    table = leaderboard(scores(), trends())
    assert table.iloc[0].tolist() == [1, "Acme Corp", 91.0, "6/6", 2, "stable"]
    assert table["customer"].tolist() == ["Acme Corp", "Bolt Ltd", "Cobalt Inc", "Echo GmbH"]


def test_load_upcoming_events(tmp_path: Path) -> None:
    path = tmp_path / "upcoming_events.csv"
    path.write_text("name,type,date,topics,registration_url\n"
                    "Dashboards & Analytics Webinar,webinar,2026-07-15,Analytics; Dashboards ;,https://x.io/1\n"
                    "Old Training,training,2026-01-10,,\n"
                    "Advisory Group,User Group,2026-08-05,roadmap,\n")
    events = load_upcoming_events(path, as_of=AS_OF)
    assert events["event_name"].tolist() == ["Dashboards & Analytics Webinar", "Advisory Group"]
    assert events["topics"].tolist() == [("analytics", "dashboards"), ("roadmap",)]
    assert events["event_type"].tolist() == ["webinar", "user_group"]
    assert len(load_upcoming_events(path)) == 3
    path.write_text("name,type,date,topics,registration_url\nX,party,2026-07-01,,\n")
    with pytest.raises(pandera.errors.SchemaErrors):
        load_upcoming_events(path)


def test_stable_rising_and_untested_trends_read_in_the_reports_plain_words() -> None:
    from types import SimpleNamespace

    from engagement_pipeline.insights.risks import trend_words

    base = {"events_current": 5, "held_current": 9, "events_previous": 12, "held_previous": 20,
            "window_days": 112, "expected_current": 5.2}
    assert trend_words(SimpleNamespace(trend="stable", **base)) == (
        "attended 5 of 9 events in the last 16 weeks where about 5 were expected from its past (12 of 20 "
        "before): about as often as before")
    assert trend_words(SimpleNamespace(trend="rising", **base)).endswith(": coming more often than before")
    assert trend_words(SimpleNamespace(trend="insufficient_data", **{**base, "held_current": 1, "held_previous": 2})
                       ) == ("too little history to judge a trend yet: 3 events held for it in the last 16 weeks "
                             "and the months before, at least 4 are needed")


def test_invitations_for_a_second_event_of_a_type_keep_every_reason() -> None:
    """The reasons that depend only on the customer and the event type are found once per type and reused: a
    second training and user group (other topics) and a webinar after them give every reason, topic first
    (expected values: the per-event `_signals` code before the reuse)."""
    more = pd.DataFrame({
        "event_name": ["Advanced Training: Dashboards", "Second User Group", "Security Webinar"],
        "event_type": ["training", "user_group", "webinar"],
        "event_date": pd.to_datetime(["2026-09-01", "2026-09-15", "2026-10-01"]),
        "topics": [("dashboards",), ("roadmap", "analytics"), ("security",)],
        "registration_url": [None] * 3,
    })
    result = invitation_recommendations(pd.concat([upcoming(), more], ignore_index=True), attendance(), scores(),
                                        trends(), customers(), contacts(), AS_OF, per_event=10, max_per_contact=99,
                                        spread=1.0)
    later = result.loc[result["event_name"].isin(more["event_name"])]
    assert later[["event_name", "customer_id", "reason", "relevance"]].values.tolist() == [
        ["Advanced Training: Dashboards", "C3", "attended 1 event on dashboards; little participation so far "
         "(depth 0.20): hands-on training; declining engagement: re-engage", 3.5],
        ["Advanced Training: Dashboards", "C4", "new customer since 2026-05-15: onboarding training", 3.0],
        ["Advanced Training: Dashboards", "C1", "attended 2 events on dashboards", 2.0],
        ["Advanced Training: Dashboards", "C2", "attended 1 event on dashboards", 1.0],
        ["Advanced Training: Dashboards", "C5", "little participation so far (depth 0.10): hands-on training", 1.0],
        ["Second User Group", "C1", "attended 2 events on analytics; top engaged customer (score 91), fits an "
                                    "advisory user group", 4.91],
        ["Second User Group", "C3", "attended 1 event on analytics; declining engagement: re-engage", 2.5],
        ["Second User Group", "C2", "attended 1 event on analytics", 1.0],
        ["Security Webinar", "C3", "declining engagement: re-engage", 1.5],
    ]
