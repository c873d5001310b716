"""The ground-truth simulation (issue 9) and the `--as-of` JSON cut: cheap checks, no pipeline run.

`make evaluate` runs the whole chain over several seeds; these tests only pin what the evaluation relies
on: the world is seeded, churners stop on their churn date, look-alike prospects exist, the truth is
well-formed.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from engagement_pipeline.report.json_output import up_to
from engagement_pipeline.simulation.world import build_world


def test_same_seed_same_world_other_seed_other_world() -> None:
    a, b, c = build_world(1), build_world(1), build_world(2)
    assert a.attendances == b.attendances and a.events == b.events
    assert a.attendances != c.attendances


def test_churners_stop_on_their_churn_date_and_decline_before() -> None:
    world = build_world(1)
    churners = [c for c in world.customers if c.segment == "churn"]
    assert len(churners) == 12
    people = {p.email: p.customer_id for p in world.people.values()}
    day = {e.key: e.day for e in world.events}
    for c in churners:
        assert c.change_start < c.churn
        assert c.latent(c.change_start - timedelta(days=1)) > c.latent(c.churn - timedelta(days=1))
        assert c.latent(c.churn) == 0.0
        late = [a for a in world.attendances if people[a.email] == c.customer_id and a.status == "attended"
                and day[a.event_key] >= c.churn]
        assert late == []
        assert c.truly_declining(c.change_start) and not c.truly_declining(c.change_start - timedelta(days=1))


def test_look_alike_prospects_and_two_acme_customers() -> None:
    world = build_world(3)
    names = {c.name for c in world.customers}
    assert {"Acme Corp", "Acme Analytics Inc."} <= names
    prospects = [p for p in world.people.values() if p.kind == "prospect"]
    assert any(p.company == "Acme" and p.email.endswith("@gmail.com") for p in prospects)
    assert sum(world.truth_customer[p.email] is None for p in prospects) == len(prospects) >= 10
    for c in world.customers:
        assert 0.0 <= c.engagement(world.end, world.weights[c.customer_id]) <= 1.0


def test_as_of_json_keeps_only_events_up_to_the_date() -> None:
    frame = pd.DataFrame({"event_id": ["a", "b", "c"],
                          "event_date": [pd.Timestamp("2026-10-01"), pd.Timestamp("2026-11-02 18:00"),
                                         pd.Timestamp("2026-11-03")]})
    assert up_to(frame, pd.Timestamp("2026-11-02"))["event_id"].tolist() == ["a", "b"]
    assert up_to(frame, None)["event_id"].tolist() == ["a", "b", "c"]


def test_decline_reason_is_plain_words() -> None:
    from types import SimpleNamespace

    from engagement_pipeline.insights.risks import decline_reason

    row = SimpleNamespace(events_missed=5, usual_type="webinar", usual_type_missed=5, held_current=6,
                          events_current=0, expected_current=4.2, window_days=56, events_previous=14,
                          held_previous=20, people=3, people_lapsed=2,
                          people_lapsed_since=pd.Timestamp("2026-06-18"), p_value=0.0034,
                          as_of=pd.Timestamp("2026-08-30"))
    assert decline_reason(row) == (
        "missed the last 5 events in a row, including 5 webinars it would usually attend; attended 0 of 6 "
        "events since 5 July where about 4 were expected from its past (14 of 20 before); 2 of its 3 people "
        "have not attended since June; a drop this large would happen by chance about 1 time in 290")


def test_decline_reason_agrees_one_lapsed_person_with_has() -> None:
    """'1 of its 3 people has not attended', 'none of its 3 people has', '2 of its 3 people have'."""
    from types import SimpleNamespace

    from engagement_pipeline.insights.risks import decline_reason

    def lapsed(n: int) -> str:
        row = SimpleNamespace(events_missed=0, usual_type=None, usual_type_missed=0, held_current=0,
                              events_current=0, expected_current=float("nan"), window_days=56, events_previous=0,
                              held_previous=0, people=3, people_lapsed=n,
                              people_lapsed_since=pd.Timestamp("2026-06-18"), p_value=float("nan"))
        return decline_reason(row)

    assert lapsed(1) == "1 of its 3 people has not attended since June"
    assert lapsed(2) == "2 of its 3 people have not attended since June"
    assert lapsed(3) == "none of its 3 people has attended since June"


def test_targets_are_judged_on_unrounded_figures() -> None:
    from engagement_pipeline.simulation.evaluate import SeedResult, missed_targets, table

    result = SeedResult(9, spearman=[0.848, 0.9, 0.71], churners=[("S1", pd.Timestamp("2026-09-01").date(),
                                                                     pd.Timestamp("2026-06-01").date())],
                        flags=20, true_flags=17, match_precision=1.0, match_recall=0.95)
    assert missed_targets(result) == ["Spearman median >= 0.85"]  # 0.848 prints as 0.85 with two digits
    assert "| 0.848 | 0.710 |" in table([result]) and "no: Spearman median >= 0.85 |" in table([result])
    result.spearman = [0.85, 0.9, 0.71]
    assert missed_targets(result) == [] and table([result]).endswith("| yes |")
