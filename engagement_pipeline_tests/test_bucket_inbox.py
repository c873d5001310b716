"""The inbox on an S3-compatible bucket, exercised over real HTTP.

The endpoint is moto's standalone server (`moto.server.ThreadedMotoServer`) on 127.0.0.1: an emulator of the S3
API, not AWS. boto3 reaches it exactly as it would reach MinIO (custom endpoint, path-style requests, signed
HTTP), so listing, paging, ETags, LastModified, GET/PUT/HEAD/DELETE and their errors are the wire protocol's;
what it cannot show is AWS's own behaviour (IAM policies, eventual consistency of other providers, latency).
"""

from __future__ import annotations

import json
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from engagement_pipeline import warehouse as wh
from engagement_pipeline.config import ConfigError, Settings
from engagement_pipeline.defs import INGEST_ASSETS
from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
from engagement_pipeline.defs.ingest.sensors import inbox_sensor, requested_files
from engagement_pipeline.defs.resources import Inbox, default_resources
from engagement_pipeline.inbox.bucket import BucketInbox, make_client, parse_s3_url

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# The first Zoom webinar Attendee Report of the demo (anchor 2026-11-02, seed 7), "375319667 - Attendee Report.csv":
# 50 rows read, 1 host excluded, 44 attendance records; one of them is the organiser's own person, so 43 reach
# matching. The same figures as the folder inbox gives (last test).
WEBINAR_RECORDS = 44
WEBINAR_MATCHED_RECORDS = 43
MALFORMED = b"product,price,stock\r\nwidget,9.99,4\r\n"


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """moto's S3-API emulator on a free local port, for the whole module."""
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[Any, str]:
    """A fresh bucket and a client; the AWS credential chain sees only dummy keys, never a real profile."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    client = make_client(endpoint_url=s3_endpoint)
    name = f"engagement-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return client, name


def _put(client: Any, bucket: str, key: str, body: bytes = b"Email\nx@y.com\n") -> None:
    client.put_object(Bucket=bucket, Key=key, Body=body)


def _keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))


def _body(client: Any, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.mark.parametrize(("url", "expected"), [
    ("s3://inbox-bucket", ("inbox-bucket", "")),
    ("s3://inbox-bucket/", ("inbox-bucket", "")),
    ("s3://inbox-bucket/team-a", ("inbox-bucket", "team-a/")),
    ("s3://inbox-bucket//emea/prod/", ("inbox-bucket", "emea/prod/")),
])
def test_inbox_url_names_the_bucket_and_root(url: str, expected: tuple[str, str]) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize("url", ["/data/inbox", "file:///data/inbox", "s3://", "s3:///prefix", "gs://bucket"])
def test_settings_refuse_an_inbox_url_that_is_not_a_bucket(url: str) -> None:
    with pytest.raises(ConfigError, match="ENGAGEMENT_INBOX_URL"):
        Settings.from_env({"ENGAGEMENT_INBOX_URL": url})


def test_settings_and_resources_select_the_inbox_by_url(tmp_path: Path) -> None:
    folder = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path)})
    assert folder.inbox_url == "" and default_resources(folder)["inbox"].url == ""
    bucket = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_INBOX_URL": "s3://b/team-a"})
    inbox = default_resources(bucket)["inbox"]
    assert (inbox.url, inbox.directory) == ("s3://b/team-a", str(tmp_path / "inbox"))


def test_objects_are_listed_once_settled_with_the_folders_name_rules(bucket: tuple[Any, str]) -> None:
    client, name = bucket
    for key in ("team-a/inbox/88478605779 - Attendee Report.csv", "team-a/inbox/Attendees-77.csv",
                "team-a/inbox/~$Attendees-77.xlsx", "team-a/inbox/.hidden.csv",
                "team-a/inbox/download.csv.crdownload", "team-a/inbox/export.part", "team-a/inbox/old.csv.error.txt",
                "team-a/inbox/subfolder/nested.csv", "team-a/inbox/", "team-a/archive/x.csv", "inbox/other-root.csv",
                "team-a/inbox-not/x.csv"):
        _put(client, name, key)
    inbox = BucketInbox(client, name, "team-a/", settle_seconds=3)

    assert inbox.ready() == []  # just written: LastModified is younger than the settle time
    settled = inbox.ready(now=time.time() + 4)
    assert sorted(f.name for f in settled) == ["88478605779 - Attendee Report.csv", "Attendees-77.csv"]
    assert all(f.size == len(b"Email\nx@y.com\n") and len(f.etag) == 32 for f in settled)
    assert inbox.location == f"s3://{name}/team-a/inbox/"


def test_signature_changes_when_an_object_is_replaced(bucket: tuple[Any, str]) -> None:
    client, name = bucket
    inbox = BucketInbox(client, name, settle_seconds=0)
    _put(client, name, "inbox/a.csv", b"first")
    before = inbox.ready()[0]
    _put(client, name, "inbox/a.csv", b"second version")
    after = inbox.ready()[0]
    assert before.signature != after.signature
    assert after.signature.startswith(f"{after.etag}:14:")


def test_a_file_replaced_while_a_run_reads_it_stays_in_the_inbox(bucket: tuple[Any, str], tmp_path: Path) -> None:
    client, name = bucket
    inbox = BucketInbox(client, name, cache_dir=tmp_path / "archive", settle_seconds=0)
    _put(client, name, "inbox/a.csv", b"first")
    fetched = inbox.fetch("a.csv")
    _put(client, name, "inbox/a.csv", b"second version")
    assert inbox.consume(fetched) is False
    assert _body(client, name, "inbox/a.csv") == b"second version"
    assert inbox.fetch("gone.csv") is None


def _sensor(instance: dg.DagsterInstance, inbox: Inbox, cursor: str | None) -> dg.SensorResult:
    result = inbox_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources={"inbox": inbox}))
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


@pytest.fixture
def data_folder(tmp_path: Path, demo_dir: Path, db_url: str) -> Settings:
    data = tmp_path / "data"
    for folder in ("crm", "events"):
        shutil.copytree(demo_dir / folder, data / folder)
    return Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": db_url})


def _webinar(demo_dir: Path) -> Path:
    return next(p for p in sorted((demo_dir / "inbox").iterdir()) if p.name.endswith("Attendee Report.csv"))


@pytest.mark.slow  # ingestion runs through Dagster against the S3 emulator
def test_sensor_and_ingest_job_read_the_bucket_end_to_end(bucket: tuple[Any, str], s3_endpoint: str,
                                                          demo_dir: Path, data_folder: Settings) -> None:
    client, name = bucket
    webinar = _webinar(demo_dir)
    _put(client, name, f"prod/inbox/{webinar.name}", webinar.read_bytes())
    _put(client, name, "prod/inbox/notes.csv", MALFORMED)
    _put(client, name, "prod/inbox/half.csv.part", b"Email\n")
    inbox = Inbox(url=f"s3://{name}/prod", endpoint_url=s3_endpoint, settle_seconds=0)
    resources = {**default_resources(data_folder), "inbox": inbox}

    with dg.instance_for_test() as instance:
        first = _sensor(instance, inbox, None)
        assert sorted(f for r in first.run_requests for f in requested_files(r)) == sorted([webinar.name, "notes.csv"])
        assert sorted(instance.get_dynamic_partitions(upload_partitions_def.name)) == sorted(
            [webinar.name, "notes.csv"])
        again = _sensor(instance, inbox, first.cursor)
        assert again.run_requests == [] and again.dynamic_partitions_requests == []

        runs = {key: dg.materialize(INGEST_ASSETS, partition_key=key, instance=instance, resources=resources,
                                    run_config=QUIET)
                for key in (webinar.name, "notes.csv")}
        assert all(run.success for run in runs.values())

        accepted = runs[webinar.name]
        upload = accepted.output_for_node("attendance_upload")
        assert len(accepted.output_for_node("validated_attendance").records) == WEBINAR_RECORDS
        assert len(accepted.output_for_node("stored_attendance")) == WEBINAR_MATCHED_RECORDS
        assert upload.archive_path == f"s3://{name}/prod/archive/{upload.sha256}/{webinar.name}"
        assert _body(client, name, f"prod/archive/{upload.sha256}/{webinar.name}") == webinar.read_bytes()
        assert Path(upload.local_path) == data_folder.archive_dir / upload.sha256 / webinar.name

        rejected = runs["notes.csv"]
        assert rejected.output_for_node("validated_attendance") is None
        error_key = "prod/rejected/notes.csv.error.txt"
        assert str(rejected.asset_materializations_for_node("validated_attendance")[-1]
                   .metadata["error_file"].value) == f"s3://{name}/{error_key}"
        assert _body(client, name, "prod/rejected/notes.csv") == MALFORMED
        reason = _body(client, name, error_key).decode()
        assert reason.startswith("notes.csv was not processed.")
        assert "not a recognised attendance export" in reason and "Found: first header row: product, price" in reason
        assert not (data_folder.rejected_dir / "notes.csv").exists()  # the bucket keeps it, not the pod

        assert _keys(client, name, "prod/inbox/") == ["prod/inbox/half.csv.part"]  # both moved out; partial left
        emptied = _sensor(instance, inbox, again.cursor)
        assert emptied.run_requests == [] and json.loads(emptied.cursor) == {}

        with wh.make_engine(data_folder.db_url).connect() as conn:
            uploads = wh.load_uploads(conn)
        assert sorted(uploads["archive_path"].str.startswith(f"s3://{name}/prod/archive/")) == [True, True]

        # The file is gone from the inbox: a re-run of its partition reads the archived copy in the bucket.
        shutil.rmtree(data_folder.archive_dir)
        rerun = dg.materialize(INGEST_ASSETS, partition_key=webinar.name, instance=instance, resources=resources,
                               run_config=QUIET)
        assert rerun.output_for_node("attendance_upload").first_seen is False
        assert len(rerun.output_for_node("validated_attendance").records) == WEBINAR_RECORDS


@pytest.mark.slow  # the pipeline, once from the bucket and once from the folder
def test_the_bucket_and_the_folder_give_the_same_records(demo_dir: Path, data_folder: Settings) -> None:
    """The concrete figure above is the folder inbox's own, read through the same assets."""
    from engagement_pipeline.defs.runner import run_pipeline

    run = run_pipeline([_webinar(demo_dir)], settings=data_folder)
    assert run.uploads[0]["platform"] == "zoom_webinar"
    assert len(run.outputs["attendance"]) == WEBINAR_MATCHED_RECORDS
