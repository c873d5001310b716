"""The inbox sensor and the re-score sensor, evaluated against a real (temporary) Dagster instance."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import dagster as dg

from engagement_pipeline.defs import build_definitions
from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
from engagement_pipeline.defs.ingest.sensors import (
    BATCH_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    inbox_sensor,
    rescore_after_ingest_sensor,
)
from engagement_pipeline.defs.resources import Inbox


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


def test_two_files_at_once_are_one_run_over_both_partitions_and_a_replaced_file_again(tmp_path: Path) -> None:
    _drop(tmp_path, "a.csv")
    _drop(tmp_path, "b.xlsx", "not really", age=40)
    _drop(tmp_path, "c.csv.crdownload")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        [batch] = first.run_requests
        assert batch.partition_key is None
        assert (batch.tags[RANGE_START_TAG], batch.tags[RANGE_END_TAG]) == ("a.csv", "b.xlsx")
        assert sorted(json.loads(batch.tags[BATCH_TAG])) == ["a.csv", "b.xlsx"]
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


def test_rescore_waits_for_ingestion_and_runs_once_after_a_failed_one() -> None:
    """A successful ingestion run re-scored itself; after a failed one, the uploads it stored still count."""
    job = build_definitions().resolve_job_def("ingest_upload_job")
    with dg.instance_for_test() as instance:
        assert isinstance(rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance)), dg.SkipReason)
        ok = instance.create_run_for_job(job_def=job, status=dg.DagsterRunStatus.SUCCESS)
        skipped = rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(skipped, dg.SkipReason) and "same run" in skipped.skip_message
        instance.delete_run(ok.run_id)

        done = instance.create_run_for_job(job_def=job, status=dg.DagsterRunStatus.FAILURE)
        running = instance.create_run_for_job(job_def=job, status=dg.DagsterRunStatus.STARTED)
        waiting = rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(waiting, dg.SkipReason) and "pending" in waiting.skip_message

        instance.delete_run(running.run_id)
        result = rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance))
        assert [r.run_key for r in result.run_requests] == [f"rescore-after-{done.run_id}"]
        settled = rescore_after_ingest_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
        assert isinstance(settled, dg.SkipReason)


def _run_for(instance: dg.DagsterInstance, request: dg.RunRequest, status: dg.DagsterRunStatus) -> dg.DagsterRun:
    """The run the daemon would have launched for `request`, finished with `status`."""
    job = build_definitions().resolve_job_def("ingest_upload_job")
    return instance.create_run_for_job(job_def=job, status=status, tags={**request.tags, "dagster/run_key":
                                                                         request.run_key})


def test_a_file_whose_run_failed_or_was_killed_is_retried_up_to_three_attempts(tmp_path: Path) -> None:
    _drop(tmp_path, "a.csv")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        [request] = first.run_requests
        assert request.run_key.endswith(":0")
        _run_for(instance, request, dg.DagsterRunStatus.STARTED)
        assert _evaluate(instance, tmp_path, first.cursor).run_requests == []  # still running: wait

        instance.delete_run(instance.get_runs()[0].run_id)
        crashed = _run_for(instance, request, dg.DagsterRunStatus.FAILURE)
        instance.add_run_tags(crashed.run_id, {"dagster/will_retry": "true"})
        assert _evaluate(instance, tmp_path, first.cursor).run_requests == []  # the daemon re-executes it

        instance.delete_run(crashed.run_id)
        _run_for(instance, request, dg.DagsterRunStatus.CANCELED)  # e.g. stuck after dagster dev was killed
        second = _evaluate(instance, tmp_path, first.cursor)
        assert [r.run_key.rsplit(":", 1)[1] for r in second.run_requests] == ["1"]
        _run_for(instance, second.run_requests[0], dg.DagsterRunStatus.FAILURE)
        third = _evaluate(instance, tmp_path, second.cursor)
        assert [r.run_key.rsplit(":", 1)[1] for r in third.run_requests] == ["2"]
        _run_for(instance, third.run_requests[0], dg.DagsterRunStatus.FAILURE)

        given_up = _evaluate(instance, tmp_path, third.cursor)
        assert given_up.run_requests == []
        assert "given up on a.csv (last run" in given_up.skip_reason.skip_message


def test_an_identical_file_dropped_again_after_processing_gets_a_new_run_key(tmp_path: Path) -> None:
    """`cp -p` keeps size and mtime: the signature repeats, and a repeated run key would be skipped by Dagster."""
    path = _drop(tmp_path, "a.csv")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        _run_for(instance, first.run_requests[0], dg.DagsterRunStatus.SUCCESS)
        stamp = path.stat().st_mtime
        path.unlink()
        emptied = _evaluate(instance, tmp_path, first.cursor)
        _drop(tmp_path, "a.csv")
        os.utime(path, (stamp, stamp))
        again = _evaluate(instance, tmp_path, emptied.cursor)
        assert [r.run_key for r in again.run_requests] == [first.run_requests[0].run_key[:-1] + "1"]


def test_a_batch_whose_run_failed_is_retried_as_a_batch(tmp_path: Path) -> None:
    _drop(tmp_path, "a.csv")
    _drop(tmp_path, "b.csv")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        [batch] = first.run_requests
        _run_for(instance, batch, dg.DagsterRunStatus.STARTED)
        assert _evaluate(instance, tmp_path, first.cursor).run_requests == []  # still running: wait
        instance.delete_run(instance.get_runs()[0].run_id)
        _run_for(instance, batch, dg.DagsterRunStatus.FAILURE)
        [again] = _evaluate(instance, tmp_path, first.cursor).run_requests
        assert json.loads(again.tags[BATCH_TAG]) == json.loads(batch.tags[BATCH_TAG])
        assert again.run_key != batch.run_key


def test_a_file_dropped_again_is_its_own_run_beside_a_batch_of_new_files(tmp_path: Path) -> None:
    """A range never covers a partition that was not requested: old `a.csv` and new `b`, `c` are two runs."""
    _drop(tmp_path, "a.csv")
    _drop(tmp_path, "z.csv")
    with dg.instance_for_test() as instance:
        first = _evaluate(instance, tmp_path, None)
        (tmp_path / "z.csv").unlink()
        _drop(tmp_path, "a.csv", "Email\nnew@y.com\n", age=5)
        _drop(tmp_path, "b.csv")
        _drop(tmp_path, "c.csv")
        second = _evaluate(instance, tmp_path, first.cursor)
        requested = sorted((r.partition_key or "", r.tags.get(RANGE_START_TAG), r.tags.get(RANGE_END_TAG))
                           for r in second.run_requests)
        assert requested == [("", "b.csv", "c.csv"), ("a.csv", None, None)]
