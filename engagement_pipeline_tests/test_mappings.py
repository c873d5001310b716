"""Column mappings: an unrecognised file comes back with a pre-filled mapping; completed and saved in
data/mappings/, it reads every file of that header layout. Two layouts nobody hard-coded."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import pytest

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import Settings
from engagement_pipeline.defs import INGEST_ASSETS
from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
from engagement_pipeline.defs.resources import default_resources
from engagement_pipeline.ingest.mappings import (
    MappingError,
    UnrecognisedFile,
    header_signature,
    load_mappings,
    parse_mapping,
)
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline.ingest.result import RejectedFile
from engagement_pipeline.matching.cascade import match_attendance
from engagement_pipeline.matching.crm import load_crm
from engagement_pipeline_tests.door_helpers import write_crm

# Layout A: a semicolon CSV from some booking tool, two events, Y/N attendance.
LAYOUT_A = (
    "Participant;E-mail Addr;Org;Session Title;When;Showed Up\n"
    "Ana Lima;ana@acme.io;Acme;Q1 Roadmap Webinar;2026-03-03;Y\n"
    "Ben Ode;ben@acme.io;Acme;Q1 Roadmap Webinar;2026-03-03;N\n"
    "Cy Tran;cy@globex.com;Globex;Q1 Roadmap Webinar;2026-03-03;Y\n"
    "Cy Tran;cy@globex.com;Globex;Admin Workshop;2026-03-10;Y\n"
    "Di Park;di@initech.com;Initech;Admin Workshop;2026-03-10;Cancelled\n"
)
# Layout B: a tab-separated room list with minutes and no event columns at all.
LAYOUT_B = (
    "Full name\tMail\tFirm\tMinutes in room\n"
    "Ana Lima\tana@acme.io\tAcme\t45\n"
    "Ed Roe\ted@acme.io\tAcme\t30\n"
    "Gus Ho\tgus.ho@gmail.com\tInitech\t12\n"
)


def _skeleton(path: Path) -> str:
    with pytest.raises(UnrecognisedFile) as rejected:
        parse_export(path, mappings=())
    assert rejected.value.skeleton and "mapping.yaml" in rejected.value.expected
    return rejected.value.skeleton


def _complete_b(skeleton: str) -> str:
    """What the user does to layout B's skeleton: names the event the file does not carry."""
    for key, value in (("event_name", "Partner Summit"), ("event_type", "conference"), ("event_date", "2026-05-05")):
        skeleton = re.sub(rf"^  {key}: null  # TODO.*$", f"  {key}: {value}", skeleton, count=1, flags=re.M)
    return skeleton


def test_layout_a_skeleton_guesses_every_column_and_reads_both_events(tmp_path: Path) -> None:
    path = tmp_path / "bookings.csv"
    path.write_text(LAYOUT_A, encoding="utf-8")
    skeleton = _skeleton(path)
    mapping = parse_mapping(skeleton, "a.yaml")
    assert mapping.columns == {"email": "E-mail Addr", "name": "Participant", "company": "Org",
                               "event_name": "Session Title", "event_date": "When", "status": "Showed Up"}
    assert "  event_type: null" in skeleton and "# TODO" in skeleton
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "bookings.yaml").write_text(skeleton, encoding="utf-8")
    parsed = parse_export(path, mappings=load_mappings(tmp_path / "mappings"))
    assert parsed.platform == "mapped" and parsed.ledger["balanced"]
    assert parsed.ledger["rows_read"] == 5 and parsed.ledger["excluded_by_reason"] == {"cancelled": 1}
    records = parsed.records
    counts = {e: (int(g["attended"].sum()), int((~g["attended"]).sum())) for e, g in records.groupby("event_name")}
    assert counts == {"Q1 Roadmap Webinar": (2, 1), "Admin Workshop": (1, 0)}
    assert dict(zip(records["event_name"], records["event_type"], strict=True)) == {
        "Q1 Roadmap Webinar": "webinar", "Admin Workshop": "training"}
    assert any("bookings.yaml" in note for note in parsed.notes)


def test_layout_b_skeleton_completed_with_the_event_reads_minutes(tmp_path: Path) -> None:
    path = tmp_path / "room.tsv.csv"
    path.write_text(LAYOUT_B, encoding="utf-8")
    skeleton = _skeleton(path)
    assert re.search(r"^  status: null\s+# TODO", skeleton, re.M)
    mapping = parse_mapping(_complete_b(skeleton), "b.yaml")
    assert mapping.columns == {"email": "Mail", "name": "Full name", "company": "Firm", "minutes": "Minutes in room"}
    assert mapping.event == {"event_name": "Partner Summit", "event_type": "conference", "event_date": "2026-05-05"}
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "room.yaml").write_text(_complete_b(skeleton), encoding="utf-8")
    # Another export of the same layout, columns in another order: same signature, same mapping.
    other = tmp_path / "room-2.csv"
    other.write_text("Mail\tFull name\tMinutes in room\tFirm\nana@acme.io\tAna Lima\t50\tAcme\n", encoding="utf-8")
    for file, minutes, rows in ((path, 87.0, 3), (other, 50.0, 1)):
        parsed = parse_export(file, mappings=load_mappings(tmp_path / "mappings"))
        assert parsed.ledger["rows_read"] == rows and parsed.records["attended"].all()
        assert parsed.records["minutes_attended"].sum() == minutes
        assert set(parsed.records["event_id"]) == {"2026-05-05-partner-summit"}
        assert set(parsed.records["event_type"]) == {"conference"}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda s: s.replace("  email: \"Mail\"", "  emial: \"Mail\""), "unknown field(s) emial"),
    (lambda s: s.replace("  email: \"Mail\"", "  email: null").replace("  name: \"Full name\"", "  name: null"),
     "missing required field"),
    (lambda s: s.replace("  company: \"Firm\"", "  company: \"Firma\""), "header not in the file: company: 'Firma'"),
    (lambda s: s.replace("event_type: conference", "event_type: gala"), "event_type 'gala' is not one of"),
    (lambda s: s.replace("signature: ", "signature: x"), "'signature' is missing or changed"),
    (lambda s: s + "  - broken: [\n", "is not valid YAML"),
])
def test_a_bad_mapping_is_one_clear_sentence(tmp_path: Path, edit, message: str) -> None:
    path = tmp_path / "room.csv"
    path.write_text(LAYOUT_B, encoding="utf-8")
    bad = edit(_complete_b(_skeleton(path)))
    with pytest.raises(MappingError, match=re.escape(message)):
        parse_mapping(bad, "room.yaml")
    (tmp_path / "mappings").mkdir()
    (tmp_path / "mappings" / "room.yaml").write_text(bad, encoding="utf-8")
    if "signature" in message:
        with pytest.raises(UnrecognisedFile):  # its layout is no longer claimed: rejected as unrecognised
            parse_export(path, mappings=load_mappings(tmp_path / "mappings"))
        return
    with pytest.raises(RejectedFile, match=r"room\.yaml, which cannot be used") as rejected:
        parse_export(path, mappings=load_mappings(tmp_path / "mappings"))
    assert message in rejected.value.found


def test_signature_ignores_order_case_and_punctuation() -> None:
    assert header_signature(["Full name", "Mail"]) == header_signature(["MAIL", "full_name"])
    assert header_signature(["Full name", "Mail"]) != header_signature(["Full name", "Mail", "Firm"])


@pytest.mark.slow
def test_rejection_writes_the_mapping_beside_it_and_a_redrop_is_read_through_it(tmp_path: Path, db_url: str) -> None:
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path / "data"), "ENGAGEMENT_DB_URL": db_url})
    write_crm(settings.data_dir)
    settings.inbox_dir.mkdir(parents=True)
    with dg.instance_for_test() as instance:
        def ingest(name: str) -> object:
            (settings.inbox_dir / name).write_text(LAYOUT_B, encoding="utf-8")
            instance.add_dynamic_partitions(upload_partitions_def.name, [name])
            run = dg.materialize(INGEST_ASSETS, partition_key=name, instance=instance,
                                 resources=default_resources(settings),
                                 run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
            return run.output_for_node("validated_attendance")

        assert ingest("room.csv") is None
        error = settings.rejected_dir / "room.csv.error.txt"
        suggested = settings.rejected_dir / "room.csv.mapping.yaml"
        assert error.exists() and suggested.exists()
        assert "room.csv.mapping.yaml" in error.read_text(encoding="utf-8")
        settings.mappings_dir.mkdir()
        (settings.mappings_dir / "room.yaml").write_text(_complete_b(suggested.read_text(encoding="utf-8")))
        # The re-drop: the same file again (same bytes: the same upload, now read through the mapping).
        parsed = ingest("room.csv")
        assert parsed is not None and parsed.platform == "mapped" and len(parsed.records) == 3
        engine = wh.make_engine(settings.db_url)
        with engine.connect() as conn:
            uploads = wh.load_uploads(conn)
            records = wh.load_upload_records(conn)
        engine.dispose()
        assert uploads[["file_name", "status", "rows_read", "rows_kept"]].values.tolist() == [
            ["room.csv", "accepted", 3, 3]]
        assert records["customer_id"].isna().all()  # stored as read: the run's `attendance` matches once
        matched = match_attendance(records, load_crm(settings.crm_dir), settings.internal_domains).matched
        assert sorted(matched["customer_id"].tolist()) == ["C1", "C1", "C3"]


def test_check_mapping_command(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from engagement_pipeline import cli

    path = tmp_path / "room.csv"
    path.write_text(LAYOUT_B, encoding="utf-8")
    mapping = tmp_path / "room.yaml"
    mapping.write_text(_complete_b(_skeleton(path)), encoding="utf-8")
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path / "data")}
    ok = CliRunner().invoke(cli.main, ["check-mapping", str(mapping), str(path)], env=env)
    assert ok.exit_code == 0, ok.output
    assert "room.csv: 3 rows read, 3 kept, 0 excluded, 0 quarantined" in ok.output
    assert "  Partner Summit (2026-05-05, conference): 3 attended, 0 registered only" in ok.output
    mapping.write_text(_skeleton(path), encoding="utf-8")  # not completed: no event anywhere
    held = CliRunner().invoke(cli.main, ["check-mapping", str(mapping), str(path)], env=env)
    assert held.exit_code == 1 and "waiting for event details" in held.output
    mapping.write_text(_skeleton(path).replace("  email: \"Mail\"", "  e_mail: \"Mail\""), encoding="utf-8")
    bad = CliRunner().invoke(cli.main, ["check-mapping", str(mapping)], env=env)
    assert bad.exit_code == 1 and "unknown field(s) e_mail" in bad.output


def test_any_caller_of_parse_export_reads_the_data_folders_mappings(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "room.csv"
    path.write_text(LAYOUT_B, encoding="utf-8")
    (tmp_path / "data" / "mappings").mkdir(parents=True)
    (tmp_path / "data" / "mappings" / "room.yaml").write_text(_complete_b(_skeleton(path)), encoding="utf-8")
    monkeypatch.setenv("ENGAGEMENT_DATA_DIR", str(tmp_path / "data"))
    assert parse_export(path).platform == "mapped"  # no `mappings=` given: the data folder's are used
    with pytest.raises(UnrecognisedFile):
        parse_export(path, mappings=())
