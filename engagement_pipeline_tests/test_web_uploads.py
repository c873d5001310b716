"""Uploads from the API or the dashboard land in the inbox the sensor watches (a folder or a bucket), under a
name that never overwrites a different waiting file, with an overrides line that matches exactly that file."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from engagement_pipeline.config import Settings
from engagement_pipeline.ingest.overrides import load_overrides, merged_override
from engagement_pipeline.warehouse import create_schema, make_engine
from engagement_pipeline.web.uploads import (
    EventDetails,
    UploadError,
    add_override,
    deposit,
    inbox_name,
    remember,
    safe_file_name,
    upload_status,
)


def _put(settings: Settings, tmp_path: Path, name: str, content: bytes) -> tuple[str, str]:
    sha = hashlib.sha256(content).hexdigest()
    spooled = tmp_path / f"spool-{sha[:8]}"
    spooled.write_bytes(content)
    final = inbox_name(settings, name, sha)
    remember(settings, sha, final, EventDetails())
    deposit(settings, spooled, final)
    return sha, final


@pytest.mark.parametrize(("raw", "expected"), [
    ("Attendee Report.csv", "Attendee Report.csv"), ("C:\\Users\\me\\export.xlsx", "export.xlsx"),
    ("../../etc/report.csv", "report.csv"), ("a<script>.csv", "a_script_.csv"),
    (".hidden.csv", "hidden.csv"), ("~$lock.xlsx", "_lock.xlsx"),  # made visible to the sensor, not refused
])
def test_upload_names_become_one_plain_inbox_name(raw: str, expected: str) -> None:
    assert safe_file_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "..", "notes.exe", "report.csv.part", "report.csv.crdownload"])
def test_names_the_inbox_would_ignore_or_cannot_parse_are_refused(raw: str) -> None:
    with pytest.raises(UploadError):
        safe_file_name(raw)


def test_a_different_file_of_the_same_name_is_never_overwritten(tmp_path: Path) -> None:
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path / "data")})
    _, first = _put(settings, tmp_path, "report.csv", b"one\n")
    _, again = _put(settings, tmp_path, "report.csv", b"one\n")
    sha, second = _put(settings, tmp_path, "report.csv", b"two\n")
    assert first == again == "report.csv" and second == f"report-{sha[:8]}.csv"
    assert (settings.inbox_dir / "report.csv").read_bytes() == b"one\n"
    assert (settings.inbox_dir / second).read_bytes() == b"two\n"
    assert sorted(p.name for p in settings.inbox_dir.iterdir()) == sorted([first, second])


def test_the_overrides_line_matches_exactly_the_uploaded_file(tmp_path: Path) -> None:
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path)})
    settings.events_dir.mkdir(parents=True)
    (settings.events_dir / "overrides.csv").write_text("file,event_name,event_type,event_date\nold*.csv,Old,,")
    add_override(settings, "Attendees [May] 2026?.csv", EventDetails("Roadmap, live", "webinar", date(2026, 5, 4)))
    overrides = load_overrides(settings.events_dir / "overrides.csv")
    found = merged_override(overrides, "Attendees [May] 2026?.csv")
    assert (found.event_name, found.event_type, found.event_date) == ("Roadmap, live", "webinar", date(2026, 5, 4))
    assert merged_override(overrides, "Attendees M 2026x.csv") is None, "glob characters are literal"
    assert merged_override(overrides, "old-1.csv").event_name == "Old", "earlier lines are kept"


@pytest.fixture
def bucket_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Settings, object, str]]:
    moto_server = pytest.importorskip("moto.server")
    from engagement_pipeline.inbox.bucket import make_client

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
            monkeypatch.delenv(name, raising=False)
        for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                            ("AWS_DEFAULT_REGION", "us-east-1"), ("AWS_ENDPOINT_URL", f"http://{host}:{port}"),
                            ("AWS_CONFIG_FILE", str(tmp_path / "none")),
                            ("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))):
            monkeypatch.setenv(name, value)
        client = make_client()
        bucket = f"engagement-{uuid.uuid4().hex[:12]}"
        client.create_bucket(Bucket=bucket)
        settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path / "data"),
                                      "ENGAGEMENT_INBOX_URL": f"s3://{bucket}/team"})
        yield settings, client, bucket
    finally:
        server.stop()


def test_an_upload_lands_in_the_bucket_inbox_and_is_queued(bucket_settings, tmp_path: Path) -> None:
    settings, client, bucket = bucket_settings
    sha, name = _put(settings, tmp_path, "Attendee Report.csv", b"Email\nx@y.com\n")
    body = client.get_object(Bucket=bucket, Key="team/inbox/Attendee Report.csv")["Body"].read()
    assert (name, body) == ("Attendee Report.csv", b"Email\nx@y.com\n")
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    create_schema(engine)
    status = upload_status(engine, settings, sha)
    assert status["status"] == "queued" and status["file_name"] == name
    assert upload_status(engine, settings, "0" * 64) is None
