"""The warehouse on SQLite and on a real PostgreSQL: idempotent uploads, replaceable derivations, history."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline import warehouse as wh
from engagement_pipeline.ingest.result import empty_row_issues
from engagement_pipeline.warehouse.bulk import _frame_of


@pytest.fixture
def engine(db_url: str):
    engine = wh.make_engine(db_url)
    wh.create_schema(engine)
    yield engine
    engine.dispose()


def _records(n: int) -> pd.DataFrame:
    return pd.DataFrame({
        "event_id": ["2026-03-04-analytics-webinar"] * n,
        "event_name": ["Analytics Webinar"] * n,
        "event_type": ["webinar"] * n,
        "event_date": [pd.Timestamp("2026-03-04")] * n,
        "platform": ["zoom_webinar"] * n,
        "attendee_key": [f"p{i}@acme.com" for i in range(n)],
        "attendee_email": [f"p{i}@acme.com" for i in range(n)],
        "attendee_name": [f"Person {i}" for i in range(n)],
        "company": [None] * n,
        "registered": [True] * n,
        "attended": [i % 2 == 0 for i in range(n)],
        "minutes_attended": [float(10 * i) if i % 2 == 0 else 0.0 for i in range(n)],
        "questions_asked": [0] * n,
        "polls_answered": [0] * n,
        "feedback_submitted": [False] * n,
        "role": ["attendee"] * n,
        "source_file": ["a.csv"] * n,
        "source_row": list(range(2, n + 2)),
        "rows_folded": [1] * n,
        "customer_id": ["C001"] * n,
        "match_method": ["domain"] * n,
        "match_confidence": [0.95] * n,
        "matched_contact": [None] * n,
    })


def _ledger(read: int, kept: int, excluded: int, records: int) -> dict[str, object]:
    return {"rows_read": read, "rows_kept": kept, "rows_excluded": excluded, "rows_quarantined": 0,
            "records": records, "balanced": read == kept + excluded}


def test_the_same_bytes_are_one_upload_under_any_name(engine) -> None:
    with engine.begin() as conn:
        first = wh.register_upload(conn, sha256="a" * 64, file_name="x.csv", size_bytes=10, archive_path="/a")
        again = wh.register_upload(conn, sha256="a" * 64, file_name="renamed.csv", size_bytes=10,
                                   archive_path="/a")
        other = wh.register_upload(conn, sha256="b" * 64, file_name="x.csv", size_bytes=11, archive_path="/b")
    assert first == (1, True)
    assert again == (1, False)
    assert other == (2, True)


def test_storing_an_upload_twice_replaces_rather_than_duplicates(engine) -> None:
    excluded = pd.concat([empty_row_issues(), pd.DataFrame([
        {"source_row": 9, "reason": "host", "detail": "meeting host", "raw": {"Email": "host@northwind.com"}}
    ])], ignore_index=True)
    with engine.begin() as conn:
        upload_id, _ = wh.register_upload(conn, sha256="c" * 64, file_name="w.csv", size_bytes=1,
                                          archive_path="/c")
        for _ in range(2):
            wh.store_parsed_upload(conn, upload_id, platform="zoom_webinar", records=_records(5),
                                   excluded=excluded, quarantined=empty_row_issues(),
                                   ledger=_ledger(6, 5, 1, 5))
    with engine.connect() as conn:
        records = wh.load_upload_records(conn)
        issues = wh.load_row_issues(conn)
        uploads = wh.load_uploads(conn)
    assert len(records) == 5
    assert records["attended"].tolist() == [True, False, True, False, True]
    assert issues[["source_row", "reason", "file_name"]].values.tolist() == [[9, "host", "w.csv"]]
    assert uploads[["status", "rows_read", "rows_kept", "rows_excluded", "records"]].values.tolist() == [
        ["accepted", 6, 5, 1, 5]
    ]


def _store(conn, sha: str, records: pd.DataFrame) -> int:
    upload_id, _ = wh.register_upload(conn, sha256=sha * 64, file_name=f"{sha}.csv", size_bytes=1,
                                      archive_path=f"/{sha}")
    wh.store_parsed_upload(conn, upload_id, platform="zoom_webinar", records=records, excluded=empty_row_issues(),
                           quarantined=empty_row_issues(), ledger=_ledger(len(records), len(records), 0, len(records)))
    return upload_id


def _assert_same_frame(got: pd.DataFrame, expected: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert [[type(v) for v in got[c]] for c in got.columns] == [[type(v) for v in expected[c]]
                                                               for c in expected.columns]


def test_records_kept_by_the_writer_are_the_records_read_back(engine) -> None:
    """`load_upload_records` from what this process kept (kept_records) equals reading every row back, on
    hostile values and rows stored out of order; an upload with no kept copy is read."""
    from engagement_pipeline.warehouse import kept_records

    hostile = _hostile_records().drop(columns=["customer_id", "match_method", "match_confidence",
                                               "matched_contact"])
    shuffled = _records(7).assign(source_row=[5, 3, 9, 2, 8, 4, 6], minutes_attended=[-0.0, 1.5, 0.0, 2, 3, 4, 5])
    with engine.begin() as conn:
        _store(conn, "e", hostile)
        _store(conn, "f", shuffled)
    kept_records.forget_all()
    with engine.begin() as conn:
        _store(conn, "g", shuffled.assign(attendee_key=[f"k{i}" for i in range(7)]))  # the only one kept
    with engine.connect() as conn:
        partly_kept = wh.load_upload_records(conn)
    with engine.begin() as conn:  # stored again: kept now
        _store(conn, "e", hostile)
        _store(conn, "f", shuffled)
        _store(conn, "i", hostile.assign(questions_asked=hostile["questions_asked"].astype("int64")))
    with engine.connect() as conn:
        kept = wh.load_upload_records(conn)
        versions = dict(conn.execute(sa.select(wh.uploads.c.file_name, wh.uploads.c.records_version)).all())
    was_kept = {name: kept_records.recall(version) is not None for name, version in versions.items()}
    # Int64 (an extension dtype) takes the general path: not kept, read back instead.
    assert was_kept == ({"e.csv": False, "f.csv": True, "g.csv": True, "i.csv": True}
                        if engine.dialect.name == "sqlite" else dict.fromkeys(was_kept, False))
    kept_records.forget_all()
    with engine.connect() as conn:
        read = wh.load_upload_records(conn)
    assert len(read) == 6 + 7 + 7 + 6 and read["source_row"].tolist()[6:13] == [2, 3, 4, 5, 6, 8, 9]
    if engine.dialect.name != "sqlite":  # nothing is kept on PostgreSQL: every load reads
        return
    _assert_same_frame(kept, read)
    _assert_same_frame(partly_kept, read[read["upload_id"] != 4].reset_index(drop=True))


def test_kept_arrays_become_the_column_a_list_of_read_values_makes() -> None:
    """`load_upload_records` joins the uploads' arrays (kept: bool, int64, float64 with NaN for NULL, object;
    read: object) into the column pandas makes of the list of every value read: an all-NULL float column
    stays object, ints next to read ints stay int64, a one-value column kept packed is repeated."""
    import numpy as np

    from engagement_pipeline.warehouse import kept_records
    from engagement_pipeline.warehouse.bulk import objects
    from engagement_pipeline.warehouse.store import _column

    nan, day = float("nan"), datetime(2026, 3, 4, 10, 11, 12, 345678)
    cases = [
        ([np.array([nan, nan]), np.array([nan])], [None, None, None]),
        ([np.array([nan, 0.0]), np.array([1.5])], [None, 0.0, 1.5]),
        ([np.array([3, 4]), objects([5])], [3, 4, 5]),
        ([np.array([True, False]), np.array([True])], [True, False, True]),
        ([np.array([True]), objects([None])], [True, None]),
        ([objects(["a", None]), objects(["b"])], ["a", None, "b"]),
        ([objects([day, None])], [day, None]),
        ([kept_records.packed({"x": objects([day, day, day])})["x"]], [day, day, day]),
        ([kept_records.packed({"x": np.array([nan, nan])})["x"]], [None, None]),
    ]
    for parts, values in cases:
        got, expected = pd.DataFrame({"x": _column(parts)}), pd.DataFrame({"x": values})
        _assert_same_frame(got, expected)


def test_kept_records_are_bounded_by_what_they_hold(monkeypatch) -> None:
    """The cap counts the text a kept upload points to, not only its arrays; the least recently used goes."""
    import numpy as np

    from engagement_pipeline.warehouse import kept_records
    from engagement_pipeline.warehouse.bulk import objects

    columns = {"key": objects([f"person-{i}@example.com" for i in range(1000)]), "n": np.arange(1000),
               "role": objects(["attendee"] * 1000)}
    size = kept_records.packed(columns).held_bytes()
    assert size > columns["key"].nbytes + columns["n"].nbytes + 1000 * 40  # ~60 bytes of text a key
    monkeypatch.setattr(kept_records, "MAX_KEPT_BYTES", size * 3 // 2)
    kept_records.forget_all()
    kept_records.keep("a", columns)
    kept_records.keep("b", columns)
    assert kept_records.recall("a") is None and kept_records.recall("b")["role"].tolist() == ["attendee"] * 1000
    kept_records.forget_all()


def test_a_kept_copy_is_not_used_once_the_stored_records_changed(engine) -> None:
    """A concurrent run re-storing an upload gives it a new version, and a rolled-back store leaves a version
    no upload holds: in both cases the rows are read, never the stale copy."""
    with engine.begin() as conn:
        upload_id = _store(conn, "h", _records(3))
    with engine.begin() as conn:  # what another process's re-store looks like from here
        conn.execute(sa.update(wh.upload_records).values(attendee_name="Changed"))
        conn.execute(sa.update(wh.uploads).values(records_version="f" * 32))
    with engine.connect() as conn:
        assert wh.load_upload_records(conn)["attendee_name"].tolist() == ["Changed"] * 3
    with pytest.raises(RuntimeError), engine.begin() as conn:
        wh.store_parsed_upload(conn, upload_id, platform="zoom_webinar", records=_records(2),
                               excluded=empty_row_issues(), quarantined=empty_row_issues(), ledger=_ledger(2, 2, 0, 2))
        raise RuntimeError("the run failed before committing")
    with engine.connect() as conn:
        assert wh.load_upload_records(conn)["attendee_name"].tolist() == ["Changed"] * 3


def test_rejected_upload_keeps_its_reason_and_contributes_no_records(engine) -> None:
    with engine.begin() as conn:
        upload_id, _ = wh.register_upload(conn, sha256="d" * 64, file_name="bad.csv", size_bytes=1,
                                          archive_path="/d")
        wh.store_parsed_upload(conn, upload_id, platform="zoom_webinar", records=_records(2),
                               excluded=empty_row_issues(), quarantined=empty_row_issues(),
                               ledger=_ledger(2, 2, 0, 2))
        wh.mark_rejected(conn, upload_id, "Unknown format")
    with engine.connect() as conn:
        assert wh.load_upload_records(conn).empty
        row = wh.load_uploads(conn).iloc[0]
    assert (row["status"], row["reason"]) == ("rejected", "Unknown format")


def test_score_history_keeps_one_row_per_customer_and_date(engine) -> None:
    scores = pd.DataFrame({"customer_id": ["C001", "C002"], "score": [81.25, float("nan")],
                           "band": ["High", "Not scored"], "frequency": [0.8, float("nan")],
                           "frequency_status": ["scored", "not_applicable"]})
    trends = pd.DataFrame({"customer_id": ["C001", "C002"], "trend": ["rising", "insufficient_data"]})
    with engine.begin() as conn:
        wh.store_scores(conn, date(2026, 11, 2), scores, trends)
        wh.store_scores(conn, date(2026, 11, 2), scores, trends)  # re-scoring the same date replaces
        wh.store_scores(conn, date(2026, 11, 9), scores.assign(score=[70.0, float("nan")]), trends)
    with engine.connect() as conn:
        history = wh.load_score_history(conn, "C001")
        unscored = wh.load_score_history(conn, "C002")
    assert [(str(r.as_of), r.score, r.trend) for r in history.itertuples()] == [
        ("2026-11-02", 81.25, "rising"), ("2026-11-09", 70.0, "rising")
    ]
    assert unscored["score"].isna().all() and list(unscored["band"]) == ["Not scored", "Not scored"]


def test_score_components_keep_each_value_as_its_own_type(engine) -> None:
    """Components are JSON of each cell as `_clean` gives it: a nullable integer stays an integer, a missing
    value of any dtype is null, a date is its text."""
    import json

    scores = pd.DataFrame({
        "customer_id": ["C001", "C002"], "score": [50.0, float("nan")], "band": ["Medium", None],
        "days_since_last": pd.array([3, None], dtype="Int64"), "rank": [1, 2],
        "last_attended": pd.to_datetime(["2026-10-01", None]), "frequency_status": pd.Series(["scored", None],
                                                                                              dtype="str"),
    })
    trends = pd.DataFrame({"customer_id": ["C001"], "trend": ["rising"]})
    with engine.begin() as conn:
        assert wh.store_scores(conn, date(2026, 11, 2), scores, trends) == 2
    with engine.connect() as conn:
        history = wh.load_score_history(conn).sort_values("customer_id")
    assert [json.loads(c) for c in history["components"]] == [
        {"days_since_last": 3, "rank": 1, "last_attended": "2026-10-01 00:00:00", "frequency_status": "scored"},
        {"days_since_last": None, "rank": 2, "last_attended": None, "frequency_status": None},
    ]
    assert list(history["band"]) == ["Medium", "Not scored"]
    assert history["trend"].tolist()[0] == "rising" and history["trend"].isna().tolist() == [False, True]
    assert [str(d) for d in history["as_of"]] == ["2026-11-02", "2026-11-02"]


def test_replace_attendance_is_a_full_snapshot(engine) -> None:
    with engine.begin() as conn:
        wh.replace_attendance(conn, _records(4))
        wh.replace_attendance(conn, _records(3))
        count = conn.execute(sa.select(sa.func.count()).select_from(wh.attendance)).scalar_one()
    assert count == 3
    # SQLite drops the customer index for the rewrite and builds it again: it is there afterwards
    assert {i["name"] for i in sa.inspect(engine).get_indexes("attendance")} >= {"ix_attendance_customer_id"}


def test_bulk_insert_stores_exactly_what_sqlalchemy_stores(engine) -> None:
    """The fast path (executemany of tuples on SQLite, COPY on PostgreSQL) against SQLAlchemy's own insert:
    same rows read back, and on SQLite the same stored text and storage classes."""
    import sqlalchemy as sa

    records = _records(6).assign(
        customer_id=["C1", None, "C\\2", "C\t3", "C\n4", "Ç5"],
        match_method=["domain", "unmatched", None, "company_fuzzy", "domain", ""],
        match_confidence=[0.95, float("nan"), 0.6, 1e-9, float("inf"), 0.0],
        matched_contact=[None, "Ana \\N Lima", "a,\"b\"", "", "x\r\ny", "名前"],
        event_date=[pd.Timestamp("2026-03-04 10:11:12.345678")] * 3 + [pd.Timestamp("2026-03-05")] * 3,
        questions_asked=[0, 1, 2**31 - 1, 3, 4, 5],
    )
    raw = ("SELECT event_date, typeof(event_date), registered, typeof(registered), match_confidence, "
           "typeof(match_confidence), customer_id, matched_contact FROM attendance ORDER BY attendee_key")

    def stored() -> tuple[list, list]:
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(sa.select(wh.attendance).order_by(wh.attendance.c.attendee_key))]
            text = [tuple(r) for r in conn.exec_driver_sql(raw)] if engine.dialect.name == "sqlite" else []
        return rows, text

    with engine.begin() as conn:
        conn.execute(wh.attendance.insert(), wh.frame_rows(records, wh.RECORD_COLUMN_NAMES))
    expected = stored()
    with engine.begin() as conn:
        wh.replace_attendance(conn, records)
    assert stored() == expected


def _hostile_records() -> pd.DataFrame:
    """Values the SQLite fast path treats specially (missing text behind NULLIF(?, 0), missing floats as NaN,
    booleans as 1/0) next to values that must survive it: "0", "", 0 in an object column, nullable integers."""
    return _records(6).assign(
        attendee_name=pd.Series(["0", "", None, "Ana", float("nan"), "名前"], dtype="str"),
        company=[None] * 6,  # all missing, object dtype
        customer_id=["C1", None, "0", "", float("nan"), "C\\N"],
        match_method=pd.Series([None] * 6, dtype="str"),
        match_confidence=[float("nan"), 0.0, -0.0, float("inf"), 1e-300, None],
        matched_contact=["a", 0, 1.5, None, 7, "b"],  # mixed objects: the general path
        questions_asked=pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
        polls_answered=[0, 1, 2, 3, 4, 5],
        registered=[True, False, True, False, True, False],
        event_date=[pd.Timestamp("2026-03-04 10:11:12.345678"), pd.Timestamp("2026-03-05")] * 3,
    )


def test_sqlite_fast_path_stores_what_sqlalchemy_stores_on_hostile_values(engine) -> None:
    """Every column stored by `insert_frame` holds the same values and storage classes as SQLAlchemy's own
    insert of the same frame, and `read_frame` reads them back as SQLAlchemy's rows would be built."""
    from engagement_pipeline.warehouse.bulk import read_frame

    records = _hostile_records()
    columns = ", ".join(f'"{c}", typeof("{c}")' for c in wh.RECORD_COLUMN_NAMES)
    query = sa.select(wh.attendance).order_by(wh.attendance.c.attendee_key)

    def stored() -> tuple[list, list, pd.DataFrame]:
        with engine.connect() as conn:
            rows = [tuple(r) for r in conn.execute(query)]
            raw = ([tuple(r) for r in conn.exec_driver_sql(f"SELECT {columns} FROM attendance ORDER BY attendee_key")]
                   if engine.dialect.name == "sqlite" else [])
            return rows, raw, read_frame(conn, query)

    with engine.begin() as conn:
        conn.execute(wh.attendance.insert(), wh.frame_rows(records, wh.RECORD_COLUMN_NAMES))
    rows, raw, frame = stored()
    with engine.begin() as conn:
        wh.replace_attendance(conn, records)
    fast_rows, fast_raw, fast_frame = stored()
    assert fast_rows == rows
    assert fast_raw == raw
    expected = _frame_of(rows, list(frame.columns))
    for got in (frame, fast_frame):
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert [[type(v) for v in got[c]] for c in got.columns] == [[type(v) for v in expected[c]]
                                                                   for c in expected.columns]


def test_values_repeated_on_every_row_store_what_binding_stores(tmp_path: Path) -> None:
    """A chunk's column with one value goes into the statement as a literal (NULL, integers, 1/0, datetime
    text, text of a public column, NULL for floats all NaN) or stays bound (other floats, text with NUL,
    personal text, -2**63): each single-row frame below (every column repeated) is stored as SQLAlchemy's own
    insert stores it. SQLite only: literals are its fast path (PostgreSQL gets COPY, compared in other tests)."""
    engine = wh.make_engine(f"sqlite:///{tmp_path / 'warehouse.sqlite'}")
    wh.create_schema(engine)
    hostile = _hostile_records().assign(event_name=["O'Brien", "a\x00b", "", "0", "NULL", "名前"],
                                        polls_answered=[-(2**63), 2**63 - 1, -1, 0, 1, 2**31])
    columns = ", ".join(f'quote("{c}"), typeof("{c}")' for c in wh.RECORD_COLUMN_NAMES)

    def stored() -> list:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(f"SELECT {columns} FROM attendance")]

    for i in range(len(hostile)):
        row = hostile.iloc[[i]].reset_index(drop=True)
        with engine.begin() as conn:
            conn.execute(sa.delete(wh.attendance))
            conn.execute(wh.attendance.insert(), wh.frame_rows(row, wh.RECORD_COLUMN_NAMES))
        expected = stored()
        with engine.begin() as conn:
            wh.replace_attendance(conn, row)
        assert stored() == expected


def test_stored_rows_become_the_frame_from_records_would_build() -> None:
    columns = ["upload_id", "event_date", "attendee_email", "attended", "minutes", "customer_id", "confidence"]
    rows = [(1, datetime(2026, 3, 1), "ana@acme.io", True, 12.5, None, None),
            (1, datetime(2026, 3, 2), None, False, 0.0, "C1", 0.9),
            (2, datetime(2026, 3, 2, 9, 30), "bo@acme.io", True, 3.0, None, 1.0)]
    for chosen in (rows, rows[:1], []):
        expected = pd.DataFrame.from_records(chosen, columns=columns)
        got = _frame_of(chosen, columns)
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert [[type(v) for v in got[c]] for c in columns] == [[type(v) for v in expected[c]] for c in columns]
