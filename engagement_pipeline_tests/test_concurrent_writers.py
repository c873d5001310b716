"""Two scoring runs at once (CLI, sensor, schedule, API) take turns on every table they write, not only on the
attendance tables: the action tables (health, risk signals, outreach tasks, advocacy opportunities) are written
read-then-insert, so without the warehouse's write lock the second run either failed on a unique key (health,
signals) or silently opened a second "one open opportunity per customer".

Each race is deterministic: the first transaction has written and not committed; the second writer starts in a
thread and must wait (still running after half a second), then commit without error once the first commits."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from engagement_pipeline import warehouse as wh
from engagement_pipeline.actions import advocacy, health, risks
from engagement_pipeline.warehouse.action_tables import (
    advocacy_opportunities,
    customer_health,
    outreach_tasks,
    risk_signals,
)

AS_OF = date(2026, 11, 2)
HEALTH = pd.DataFrame({"customer_id": ["C1", "C2"], "customer_name": ["Acme", "Globex"], "usage_health": [70.0, 40.0],
                       "engagement_score": [80.0, 20.0], "engagement_weight": [0.3, 0.3],
                       "health_score": [73.0, 34.0]})
CAUSES = pd.DataFrame({"customer_id": ["C2", "C2"], "customer_name": ["Globex", "Globex"],
                       "cause": ["declining_attendance", "missed_events"],
                       "detail": ["attended 1 of the last 6 webinars, 5 of 6 before", "missed the last 4 events"]})
RISKS = pd.DataFrame({"customer_id": ["C2"], "customer_name": ["Globex"], "score": [20.0], "trend": ["declining"],
                      "csm_owner": ["Grace Owner"], "reason": ["attended 1 of the last 6 webinars, 5 of 6 before"]})
CONTACTS = pd.DataFrame({"customer_id": ["C2"], "name": ["Grace Owner"], "email": ["grace@example.com"],
                         "role": ["csm"], "is_champion": [False]})
CHOSEN = pd.DataFrame({"customer_id": ["C1"], "customer_name": ["Acme"], "score": [88.0], "trend": ["rising"],
                       "suggested_types": [["case_study"]], "champion_name": ["Ada Champion"],
                       "champion_email": ["ada@acme.com"]})
CUSTOMERS = pd.DataFrame({"customer_id": ["C1", "C2"], "arr": [120000.0, 50000.0]})


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = wh.make_engine(db_url)
    wh.create_schema(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _count(engine: Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def _race(engine: Engine, write: Callable[[Connection], object]) -> None:
    """`write` in a first, open transaction; the same `write` from a second thread must wait, then succeed."""
    errors: list[BaseException] = []

    def second() -> None:
        try:
            with engine.begin() as conn:
                write(conn)
        except Exception as err:  # recorded, asserted below
            errors.append(err)

    with engine.begin() as first:
        write(first)
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the second writer did not wait for the first"
    thread.join(timeout=60)
    assert not thread.is_alive(), "the second writer never finished"
    assert not errors, wh.describe_db_error(errors[0]) or repr(errors[0])


def test_two_runs_storing_the_same_dates_health_take_turns(engine: Engine) -> None:
    _race(engine, lambda conn: health.store_health(conn, AS_OF, HEALTH))
    assert _count(engine, customer_health) == 2


def test_two_runs_opening_the_same_risk_signals_open_each_once(engine: Engine) -> None:
    _race(engine, lambda conn: risks.sync_risk_signals(conn, CAUSES, AS_OF))
    assert _count(engine, risk_signals) == 2


def test_two_runs_opening_outreach_tasks_open_one_per_customer(engine: Engine) -> None:
    with engine.begin() as conn:
        risks.sync_risk_signals(conn, CAUSES, AS_OF)
    _race(engine, lambda conn: risks.sync_outreach_tasks(conn, RISKS, CONTACTS, AS_OF))
    assert _count(engine, outreach_tasks) == 1


def test_two_runs_choosing_the_same_advocate_open_one_opportunity(engine: Engine) -> None:
    """`create_opportunities` opens its own transaction: the first run's is held open by taking the write lock
    in a transaction of the test, and the two runs then start together."""
    results: list[pd.DataFrame] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(advocacy.create_opportunities(engine, CHOSEN, CUSTOMERS, AS_OF))
        except Exception as err:  # recorded, asserted below
            errors.append(err)

    with engine.begin() as holder:
        wh.write_lock(holder)
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=0.5)
            assert thread.is_alive(), "a run wrote while another transaction held the write lock"
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, repr(errors[0])
    assert sorted(bool(frame["created"].iloc[0]) for frame in results) == [False, True]
    assert _count(engine, advocacy_opportunities) == 1


class _SelfCaused(Exception):
    pgcode = "23505"


def test_a_database_error_that_is_its_own_context_is_described_and_does_not_hang() -> None:
    """A driver error raised through the raw COPY cursor reaches the CLI unwrapped, its chain looping back on
    itself; walking the chain once per link once left a failed `score` process spinning forever."""
    err = _SelfCaused('duplicate key value violates unique constraint "customer_health_pkey"')
    err.__context__ = err
    assert wh.describe_db_error(err) == "_SelfCaused (23505)"
    looping = RuntimeError("step failed")
    other = ValueError("inner")
    looping.__context__, other.__context__ = other, looping
    assert wh.describe_db_error(looping) is None
