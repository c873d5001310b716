"""The inbox sensor and the re-score sensor, evaluated against a real (temporary) Dagster instance."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg

from engagement_pipeline.defs import build_definitions
from engagement_pipeline.defs.partitions import upload_partitions_def
from engagement_pipeline.defs.resources import Inbox
from engagement_pipeline.defs.sensors import inbox_sensor, rescore_after_ingest_sensor


def _drop(folder: Path, name: str, text: str = "Email\nx@y.com\n", age: float = 30) -> Path:
    path = folder / name
    path.write_text(text)
    stamp = time.time() - age
    os.utime(path, (stamp, stamp))
    return path


def _evaluate(instance: dg.DagsterInstance, inbox_dir: Path, cursor: str | None) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                      resources={"inbox": Inbox(directory=str(inbox_dir))})
    result = inbox_sensor(context)
    if isinstance(result, dg.SensorResult) and result.dynamic_partitions_requests:
        for request in result.dynamic_partitions_requests:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def test_new_file_gives_one_partition_and_one_run_and_the_same_file_none(tmp_path: Path) -> None:
    _drop(tmp_path, "88478605779 - Attendee Report.csv")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        assert [r.partition_key for r in first.run_requests] == ["88478605779 - Attendee Report.csv"]
        assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [
            ["88478605779 - Attendee Report.csv"]
        ]
        assert instance.get_dynamic_partitions(upload_partitions_def.name) == [
            "88478605779 - Attendee Report.csv"
        ]

        again = _evaluate(instance, tmp_path, first.cursor)
        assert again.run_requests == []
        assert again.dynamic_partitions_requests == []


def test_two_files_at_once_are_both_requested_and_a_replaced_file_again(tmp_path: Path) -> None:
    _drop(tmp_path, "a.csv")
    _drop(tmp_path, "b.xlsx", "not really", age=40)
    _drop(tmp_path, "c.csv.crdownload")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        assert sorted(r.partition_key for r in first.run_requests) == ["a.csv", "b.xlsx"]
        _drop(tmp_path, "a.csv", "Email\nnew@y.com\n", age=5)
        second = _evaluate(instance, tmp_path, first.cursor)
        assert [r.partition_key for r in second.run_requests] == ["a.csv"]
        assert second.dynamic_partitions_requests == []  # the partition already exists


def test_a_file_that_left_the_inbox_is_forgotten_so_a_later_drop_counts(tmp_path: Path) -> None:
    path = _drop(tmp_path, "a.csv")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        path.unlink()  # processed and archived
        emptied = _evaluate(instance, tmp_path, first.cursor)
        assert emptied.run_requests == [] and emptied.cursor == "{}"
        _drop(tmp_path, "a.csv", age=10)
        assert len(_evaluate(instance, tmp_path, emptied.cursor).run_requests) == 1


def test_rescore_waits_for_ingestion_and_runs_once_after_it() -> None:
    job = build_definitions().resolve_job_def("ingest_upload_job")
    with dg.instance_for_test() as instance:
        assert isinstance(rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)

        done = instance.create_run_for_job(job_def=job, status=dg.DagsterRunStatus.SUCCESS)
        running = instance.create_run_for_job(job_def=job, status=dg.DagsterRunStatus.STARTED)
        waiting = rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(waiting, dg.SkipReason) and "pending" in waiting.skip_message

        instance.delete_run(running.run_id)
        result = rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance))
        assert [r.run_key for r in result.run_requests] == [f"rescore-after-{done.run_id}"]
        settled = rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
        assert isinstance(settled, dg.SkipReason)
