"""Issue 10 on both warehouse backends: long values kept in full, re-export decisions kept in the ledger, and
two scoring processes at once on one warehouse that take turns instead of failing with a traceback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from engagement_pipeline import warehouse as wh
from engagement_pipeline.cli import main
from engagement_pipeline.config import Settings
from engagement_pipeline.defs.runner import run_pipeline
from engagement_pipeline.ingest.attendance import choose_exports
from engagement_pipeline.ingest.parse import parse_export

from .test_file_integrity import webinar_lines, write

CLI = Path(sys.executable).with_name("engagement-pipeline")


def _store(url: str, path: Path) -> int:
    parsed = parse_export(path)
    engine = wh.make_engine(url)
    try:
        wh.create_schema(engine)
        with engine.begin() as conn:
            upload_id, _ = wh.register_upload(conn, sha256=path.name.ljust(64, "0")[:64], file_name=path.name,
                                              size_bytes=path.stat().st_size, archive_path=str(path))
            wh.store_parsed_upload(conn, upload_id, platform=parsed.platform, records=parsed.records,
                                   excluded=parsed.excluded, quarantined=parsed.quarantined, ledger=parsed.ledger)
            wh.replace_attendance(conn, parsed.records)
    finally:
        engine.dispose()
    return upload_id


def test_long_names_companies_and_file_names_are_kept_in_full_on_both_backends(db_url: str, tmp_path: Path) -> None:
    lines = webinar_lines(3, 0, first="Maximilian-" + "x" * 600)
    lines[1] = 'Report Generated:,"Apr 09, 2026 8:50 PM"'
    lines[3] = lines[3].replace("Data Deep Dive", "Deep Dive " + "y" * 700)
    name = "w" * 240 + ".csv"
    _store(db_url, write(tmp_path / name, lines))
    engine = wh.make_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.select(wh.attendance.c.attendee_name, wh.attendance.c.event_name,
                                            wh.attendance.c.source_file)).all()
            uploads = wh.load_uploads(conn)
    finally:
        engine.dispose()
    assert len(stored) == 3
    assert {len(r.attendee_name) for r in stored} == {len("Maximilian-") + 600 + len("0 Last0")}
    assert {len(r.event_name) for r in stored} == {len("Deep Dive ") + 700}
    assert uploads["file_name"].tolist() == [name] and {r.source_file for r in stored} == {name}


def _data_folder(tmp_path: Path, demo_dir: Path, db_url: str) -> Settings:
    data = tmp_path / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    return Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": db_url})


def _ledgers(url: str) -> dict[str, dict]:
    engine = wh.make_engine(url)
    try:
        with engine.connect() as conn:
            uploads = wh.load_uploads(conn)
    finally:
        engine.dispose()
    return {row.file_name: json.loads(row.ledger) for row in uploads.itertuples()}


def _attendance(run) -> tuple[int, int]:
    frame = run.outputs["attendance"]
    return len(frame), int((~frame["attended"].astype(bool)).sum())


@pytest.mark.slow
def test_re_exports_through_the_pipeline_truncated_ignored_shrink_held_then_confirmed(
    db_url: str, tmp_path: Path, demo_dir: Path
) -> None:
    settings = _data_folder(tmp_path, demo_dir, db_url)
    drop = tmp_path / "drop"
    drop.mkdir()
    complete = write(drop / "deep-dive.csv", webinar_lines(10, 5))
    truncated = write(drop / "deep-dive (1).csv",
                      [*webinar_lines(10, 5)[:17], 'Yes,First8,Last8,p8@acme.com,"Mar 28, 20'], end="")
    smaller = write(drop / "deep-dive (2).csv", webinar_lines(8, 0))  # sound, but 15 -> 8 records

    run = run_pipeline([complete, truncated, smaller], settings=settings, as_of=date(2026, 4, 1))
    assert _attendance(run) == (15, 5)  # today: 8 records and 0 no-shows from the truncated copy
    ledgers = _ledgers(db_url)
    assert ledgers["deep-dive.csv"]["export_status"] == "in_use"
    assert ledgers["deep-dive (1).csv"]["export_status"] == "ignored"
    assert ledgers["deep-dive (1).csv"]["lines_damaged"] == 1 and ledgers["deep-dive (1).csv"]["balanced"]
    assert ledgers["deep-dive (2).csv"]["export_status"] == "held"
    assert "confirm-export 3" in ledgers["deep-dive (2).csv"]["export_reason"]

    env = {"ENGAGEMENT_DATA_DIR": str(settings.data_dir), "ENGAGEMENT_DB_URL": db_url}
    confirmed = CliRunner().invoke(main, ["confirm-export", "3"], env=env)
    assert confirmed.exit_code == 0, confirmed.output
    assert "Upload 3 (deep-dive (2).csv) confirmed" in confirmed.output
    engine = wh.make_engine(db_url)  # what the next scoring run's `attendance` asset decides (see its body)
    try:
        with engine.connect() as conn:
            kept, decisions = choose_exports(wh.load_upload_records(conn), wh.load_export_info(conn))
    finally:
        engine.dispose()
    assert decisions.set_index("upload_id")["decision"].to_dict() == {1: "superseded", 2: "ignored", 3: "in_use"}
    assert (len(kept), int((~kept["attended"].astype(bool)).sum())) == (8, 0)
    assert CliRunner().invoke(main, ["confirm-export", "99"], env=env).exit_code == 1


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


@pytest.mark.slow
@pytest.mark.postgres
def test_two_score_processes_at_once_on_one_postgres_warehouse_take_turns(
    postgres_database: str, tmp_path: Path, demo_dir: Path
) -> None:
    from .conftest import reset_postgres_warehouse

    reset_postgres_warehouse(postgres_database)
    settings = _data_folder(tmp_path, demo_dir, postgres_database)
    files = sorted(str(p) for p in (demo_dir / "inbox").iterdir())[:1]
    env = {**os.environ, "ENGAGEMENT_DATA_DIR": str(settings.data_dir), "ENGAGEMENT_DB_URL": postgres_database}
    command = [str(CLI), "score", *files, "--as-of", "2026-11-02", "--json"]
    outputs = [(tmp_path / f"score{i}.json", tmp_path / f"score{i}.err") for i in range(2)]
    processes = []
    for out, err in outputs:  # files, not pipes: a 250 kB report would fill a pipe nobody reads yet
        with out.open("w") as stdout, err.open("w") as stderr:
            processes.append(subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr, text=True))
    codes = [p.wait(timeout=300) for p in processes]
    results = [(code, out.read_text(), err.read_text()) for code, (out, err) in zip(codes, outputs, strict=True)]
    for code, _stdout, stderr in results:
        assert "Traceback" not in stderr and not _EMAIL.search(stderr), stderr[-2000:]
        assert code == 0, stderr[-2000:]
    first, second = (json.loads(stdout) for _, stdout, _ in results)
    assert first["scores"] == second["scores"]
    engine = wh.make_engine(postgres_database)
    try:
        with engine.connect() as conn:
            uploads = wh.load_uploads(conn)
            records = conn.execute(sa.select(sa.func.count()).select_from(wh.attendance)).scalar()
    finally:
        engine.dispose()
    assert len(uploads) == 1 and set(uploads["status"]) == {"accepted"}
    assert records > 0


def test_a_database_error_is_described_without_its_values() -> None:
    class UniqueViolation(Exception):
        pgcode = "23505"

    orig = UniqueViolation('duplicate key value violates unique constraint "pk_attendance"\n'
                           "DETAIL:  Key (event_id, attendee_key)=(2026-x, jose.muller@acme.com) already exists.")
    err = sa.exc.IntegrityError("INSERT INTO attendance ...", {"attendee_email": "jose.muller@acme.com"}, orig)
    wrapped = RuntimeError("step failed")
    wrapped.__cause__ = err
    assert wh.describe_db_error(wrapped) == "UniqueViolation (23505)"
    assert wh.describe_db_error(RuntimeError("other")) is None


def test_a_failed_bulk_insert_on_sqlite_is_raised_as_sqlalchemy_raises_it_without_its_values(tmp_path: Path) -> None:
    """bulk feeds the driver's executemany itself (not through SQLAlchemy): the error is still SQLAlchemy's
    IntegrityError, described by describe_db_error, its message without the bound e-mail, and nothing stays."""
    import pandas as pd

    from engagement_pipeline.warehouse.bulk import insert_frame

    engine = wh.make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    try:
        wh.create_schema(engine)
        rows = pd.DataFrame({"customer_id": ["jose.muller@acme.com"] * 2, "score": [1.0, 2.0], "band": ["a", "b"],
                             "components": ["{}", "{}"], "computed_at": [pd.Timestamp("2026-11-29")] * 2})
        with pytest.raises(sa.exc.IntegrityError) as raised, engine.begin() as conn:
            insert_frame(conn, wh.store.engagement_scores, rows, list(rows.columns), as_of=date(2026, 11, 29))
        assert "jose.muller" not in str(raised.value)
        assert wh.describe_db_error(raised.value) == "IntegrityError (SQLITE_CONSTRAINT_PRIMARYKEY)"
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM engagement_scores")).scalar() == 0
    finally:
        engine.dispose()


def _wait_until_blocked(thread: threading.Thread, seconds: float = 0.5) -> None:
    thread.join(timeout=seconds)
    assert thread.is_alive(), "the second writer did not wait for the first"


def test_a_second_writer_waits_for_the_first_instead_of_failing_on_a_unique_key(db_url: str) -> None:
    """Deterministic two-writer race: the first transaction has registered an upload and replaced the attendance
    but not committed; the second does the same. Without the write lock the second fails (UniqueViolation
    quoting the key on PostgreSQL, UNIQUE constraint failed on SQLite) once the first commits."""
    engine = wh.make_engine(db_url)
    wh.create_schema(engine)
    records = parse_export(write(Path(tempfile.mkdtemp()) / "w.csv", webinar_lines(3, 0))).records
    outcome: dict[str, object] = {}

    def second_writer() -> None:
        try:
            with engine.begin() as conn:
                outcome["upload"] = wh.register_upload(conn, sha256="d" * 64, file_name="w.csv", size_bytes=1,
                                                       archive_path="/d")
                wh.replace_attendance(conn, records)
        except Exception as err:  # recorded, asserted below
            outcome["error"] = err

    try:
        with engine.begin() as first:
            upload_id, new = wh.register_upload(first, sha256="d" * 64, file_name="w.csv", size_bytes=1,
                                                archive_path="/d")
            wh.replace_attendance(first, records)
            thread = threading.Thread(target=second_writer)
            thread.start()
            _wait_until_blocked(thread)
        thread.join(timeout=60)
        assert "error" not in outcome, wh.describe_db_error(outcome["error"])  # type: ignore[arg-type]
        assert new and outcome["upload"] == (upload_id, False)
        with engine.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(wh.attendance)).scalar() == 3
    finally:
        engine.dispose()


def test_score_reports_a_failed_write_in_one_sentence_without_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class UniqueViolation(Exception):
        pgcode = "23505"

    def failing_run(*_args: object, **_kwargs: object) -> None:
        orig = UniqueViolation("DETAIL:  Key (event_id, attendee_key)=(2026-x, jose.muller@acme.com) already exists.")
        raise RuntimeError("step failed") from sa.exc.IntegrityError("INSERT ...", {"name": "José Müller"}, orig)

    monkeypatch.setattr("engagement_pipeline.defs.runner.run_pipeline", failing_run)
    export = write(tmp_path / "w.csv", webinar_lines(1, 0))
    shutil.copytree(Path(__file__).parents[1] / "data" / "samples" / "crm", tmp_path / "crm")  # past the CRM check
    result = CliRunner().invoke(main, ["score", str(export)],
                                env={"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_DB_URL": "sqlite://"})
    assert result.exit_code == 1
    assert result.output.strip() == (
        "Error: Scoring stopped: the warehouse refused a write (UniqueViolation (23505)). Each write is one "
        "transaction, so nothing was half-written; run the command again.")
