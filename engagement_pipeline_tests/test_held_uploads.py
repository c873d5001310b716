"""A file without event name/date is held (not lost, not counted, not rejected); one overrides.csv line later it
is processed from its archived copy, without being dropped again. Real assets, real sensor, both backends."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import Settings
from engagement_pipeline.defs import INGEST_ASSETS
from engagement_pipeline.defs.ingest.held_uploads import held_uploads_sensor
from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
from engagement_pipeline.defs.resources import default_resources
from engagement_pipeline.ingest.overrides import (
    EventOverride,
    WaitingForEventDetails,
    date_in_file_name,
    infer_event_date,
    load_overrides,
    record_override,
)
from engagement_pipeline.ingest.parse import parse_export
from engagement_pipeline_tests.door_helpers import write_crm

EXPORTS = Path(__file__).parent / "fixtures" / "exports"
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}


def _ingest(instance: dg.DagsterInstance, settings: Settings, name: str) -> dg.ExecuteInProcessResult:
    instance.add_dynamic_partitions(upload_partitions_def.name, [name])
    return dg.materialize(INGEST_ASSETS, partition_key=name, instance=instance,
                          resources=default_resources(settings), run_config=QUIET)


def _upload(settings: Settings) -> dict:
    engine = wh.make_engine(settings.db_url)
    with engine.connect() as conn:
        uploads = wh.load_uploads(conn)
        records = wh.load_upload_records(conn)
    engine.dispose()
    assert len(uploads) == 1
    return {**uploads.iloc[0].to_dict(), "records_frame": records}


@pytest.mark.slow
def test_held_then_one_override_line_processes_it_without_a_second_drop(tmp_path: Path, db_url: str) -> None:
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path / "data"), "ENGAGEMENT_DB_URL": db_url})
    write_crm(settings.data_dir)
    settings.inbox_dir.mkdir(parents=True)
    name = "Attendees-777.csv"  # an Eventbrite attendee report: no event name, no event date
    shutil.copy(EXPORTS / "eventbrite_en_gb.csv", settings.inbox_dir / name)
    resources = default_resources(settings)
    with dg.instance_for_test() as instance:
        first = _ingest(instance, settings, name)
        assert first.output_for_node("validated_attendance") is None
        held = _upload(settings)
        assert held["status"] == "held" and held["records"] == 0 and held["records_frame"].empty
        assert f"{name},<event name>,<webinar|user_group|training|conference|other>,<YYYY-MM-DD>" in held["reason"]
        assert f"engagement-pipeline score {name} --event-name" in held["reason"]
        assert not (settings.inbox_dir / name).exists()  # archived, not lost
        assert not settings.rejected_dir.exists() or not any(settings.rejected_dir.iterdir())  # not rejected

        with dg.build_sensor_context(instance=instance, resources=resources) as context:
            nothing = held_uploads_sensor(context)
        assert isinstance(nothing, dg.SensorResult) and not nothing.run_requests  # no overrides yet

        settings.events_dir.mkdir(parents=True, exist_ok=True)
        (settings.events_dir / "overrides.csv").write_text(
            f"file,event_name,event_type,event_date\n{name},Spring Analytics Bootcamp,training,2026-03-14\n")
        with dg.build_sensor_context(instance=instance, resources=resources, cursor=nothing.cursor) as context:
            noticed = held_uploads_sensor(context)
        assert [r.partition_key for r in noticed.run_requests] == [name]

        second = _ingest(instance, settings, name)  # the run the sensor requested
        parsed = second.output_for_node("validated_attendance")
        assert parsed is not None and parsed.ledger["rows_read"] == 2 and parsed.ledger["records"] == 2
        done = _upload(settings)
        assert done["status"] == "accepted" and done["rows_read"] == 2 and done["rows_kept"] == 2
        assert "event override applied from events/overrides.csv (Attendees-777.csv)" in json.loads(
            done["ledger"])["notes"]
        frame = done["records_frame"]
        assert set(frame["event_id"]) == {"2026-03-14-spring-analytics-bootcamp"}
        assert sorted(frame["attended"].tolist()) == [False, True]  # 1 attended, 1 no-show

        with dg.build_sensor_context(instance=instance, resources=resources, cursor=noticed.cursor) as context:
            assert isinstance(held_uploads_sensor(context), dg.SkipReason)  # same overrides: nothing again


def test_a_date_in_the_file_name_or_one_check_in_day_is_inferred_and_said() -> None:
    assert date_in_file_name("webinar-2026-03-14.csv") == date(2026, 3, 14)
    assert date_in_file_name("export_20260314.xlsx") == date(2026, 3, 14)
    assert date_in_file_name("export_20261399.xlsx") is None and date_in_file_name("Attendees-777.csv") is None
    rows = [{"Checked In Date": "2026-03-14 10:02:00", "Order Date": "2026-02-01"},
            {"Checked In Date": "2026-03-14 10:30:00", "Order Date": "2026-02-09"}]
    assert infer_event_date(rows, "x.csv") == (date(2026, 3, 14), "event date 2026-03-14 inferred: every "
                                               "check-in/join time in the file is on that day")
    spread = [*rows, {"Checked In Date": "2026-03-15 09:00:00"}]
    assert infer_event_date(spread, "x.csv")[0] is None
    assert "span 2026-03-14 to 2026-03-15" in infer_event_date(spread, "x.csv")[1]
    assert infer_event_date(rows, "x-2026-03-20.csv")[0] is None  # name and content disagree: not guessed


def test_file_name_date_goes_into_the_ledger_and_the_suggested_line(tmp_path: Path) -> None:
    with pytest.raises(WaitingForEventDetails) as waiting:
        parse_export(EXPORTS / "eventbrite_en_gb.csv", source_name="bootcamp_20260314.csv")
    assert waiting.value.suggested_line == ("bootcamp_20260314.csv,<event name>,<webinar|user_group|training|"
                                            "conference|other>,2026-03-14")
    assert "inferred from the file name" in waiting.value.found
    override = EventOverride("bootcamp_20260314.csv", "Spring Bootcamp", None, None)
    parsed = parse_export(EXPORTS / "eventbrite_en_gb.csv", source_name="bootcamp_20260314.csv",
                          overrides=[override])
    assert set(parsed.records["event_id"]) == {"2026-03-14-spring-bootcamp"}
    assert any("inferred from the file name" in n for n in parsed.notes)


def test_record_override_puts_the_new_line_first_and_replaces_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "overrides.csv"
    path.write_text("file,event_name,event_type,event_date\nA.csv,Old,webinar,2026-01-01\nB-*.csv,Other,,\n")
    line = record_override(path, EventOverride("A.csv", "New, improved", "training", date(2026, 3, 14)))
    assert line == 'A.csv,"New, improved",training,2026-03-14'
    assert [(o.file_glob, o.event_name) for o in load_overrides(path)] == [("A.csv", "New, improved"),
                                                                          ("B-*.csv", "Other")]
