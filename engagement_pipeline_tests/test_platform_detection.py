"""Detection by content with a confidence: no file is ever imported as the wrong platform.

Every platform's file is rendered with random people and must be detected as that platform; the same file
with one required marker renamed must be rejected (a loose fit) or still be that platform, never another one.
Also: two strong fits are refused naming both, and the organiser's domain is inferred when none is configured.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement_pipeline.config import Settings
from engagement_pipeline.ingest.common import is_bot
from engagement_pipeline.ingest.ledger import exclude_internal
from engagement_pipeline.ingest.organiser import internal_domains_for
from engagement_pipeline.ingest.overrides import EventOverride
from engagement_pipeline.ingest.parse import PLATFORM_MODULES, detect_platform, parse_export
from engagement_pipeline.ingest.result import RejectedFile
from engagement_pipeline.matching import match_attendance
from engagement_pipeline.matching.crm import load_crm

from .platform_expectations import EXPORTS, LUMA_FILE

FIXTURES = {
    "zoom_webinar_2020.csv": "zoom_webinar", "zoom_webinar_2025.csv": "zoom_webinar",
    "zoom_meeting_2020.csv": "zoom_meeting", "zoom_meeting_2024.csv": "zoom_meeting",
    "eventbrite_classic.csv": "eventbrite", "eventbrite_en_gb.csv": "eventbrite", "hopin.csv": "hopin",
    "teams_webinar.csv": "teams", "teams_meeting.csv": "teams", "teams_attendance_list.csv": "teams",
    LUMA_FILE: "luma", "goto_webinar.csv": "goto_webinar", "goto_webinar_2012.csv": "goto_webinar",
    "webex_attendance.csv": "webex", "google_meet.csv": "google_meet",
}


@pytest.mark.parametrize(("fixture", "platform"), sorted(FIXTURES.items()))
def test_every_fixture_fits_exactly_one_platform_strongly(fixture: str, platform: str) -> None:
    from engagement_pipeline.ingest.reader import read_table

    table = read_table(EXPORTS / fixture)
    # The generic attendance sheet is the fallback format: an export carrying an event, a status and a person
    # column (Eventbrite's) may fit it too, and `_detect` then gives the file to the platform's own module.
    strong = [m.NAME for m in PLATFORM_MODULES if m.identify(table).strong and m.NAME != "generic_sheet"]
    assert strong == [platform]
    assert detect_platform(EXPORTS / fixture) == platform


# --- rendering each platform's export with random people -----------------------------------------------------
Person = tuple[str, str, int]  # first name, last name, minutes (>= 1)


def _email(first: str, last: str, i: int) -> str:
    return f"{first.lower()}.{last.lower()}{i}@customer{i % 3}.com"


def _teams(people: list[Person], drop: str | None) -> bytes:
    header = ["Name", "First Join", "Last Leave", "In-Meeting Duration", "Email", "Participant ID (UPN)", "Role"]
    rows = [["1. Summary"], ["Meeting title", "Random sync"], ["Start time", '"3/4/25, 3:00:00 PM"'], [],
            ["2. Participants"], [("Renamed" if h == drop else h) for h in header]]
    for i, (first, last, minutes) in enumerate(people):
        email = _email(first, last, i)
        rows.append([f"{first} {last}", '"3/4/25, 3:00:00 PM"', '"3/4/25, 4:00:00 PM"',
                     f"{minutes // 60}h {minutes % 60}m 0s", email, email, "Attendee"])
    if drop == "2. Participants":
        rows[4] = ["Participants list"]
    return b"\xff\xfe" + "\r\n".join("\t".join(r) for r in rows).encode("utf-16-le")


def _luma(people: list[Person], drop: str | None) -> bytes:
    header = ["api_id", "name", "email", "created_at", "approval_status", "checked_in_at", "ticket_name"]
    lines = [",".join("renamed" if h == drop else h for h in header)]
    for i, (first, last, _) in enumerate(people):
        lines.append(f"gst-{i},{first} {last},{_email(first, last, i)},2025-03-01T10:00:00.000Z,approved,"
                     "2025-03-12T18:00:00.000Z,Standard")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _goto(people: list[Person], drop: str | None) -> bytes:
    header = ["Attended", "Interest Rating", "First Name", "Last Name", "Email", "Join Time", "Leave Time",
              "Time in Session"]
    lines = ["Attendee Report,GoToWebinar" if drop != "GoToWebinar" else "Report,", "Webinar Name,Webinar ID"
             if drop != "GoToWebinar" else "Name,ID", "Random webinar,123-456-789", "Actual Start Date/Time",
             '"Mar 04, 2025 11:00 AM EST"', "", "Attendee Details" if drop != "Attendee Details" else "Details x",
             ",".join("Renamed" if h == drop else h for h in header)]
    for i, (first, last, minutes) in enumerate(people):
        spent = f"{minutes // 60} hour {minutes % 60} minutes" if minutes >= 60 else f"{minutes} minutes"
        lines.append(f'Yes,50,{first},{last},{_email(first, last, i)},"Mar 04, 2025 11:00 AM EST",'
                     f'"Mar 04, 2025 12:00 PM EST",{spent}')
    return ("\n".join(lines) + "\n").encode("utf-8")


def _webex(people: list[Person], drop: str | None) -> bytes:
    header = ["Name", "Email", "Join Time", "Leave Time", "Duration", "Connection Type", "Role"]
    rows = [["Meeting Name", "Random QBR"], ["Start Time", "03/18/2025 02:00 PM"], [],
            [("Renamed" if h == drop else h) for h in header]]
    for i, (first, last, minutes) in enumerate(people):
        rows.append([f"{first} {last}", _email(first, last, i), "03/18/2025 02:01 PM", "03/18/2025 03:01 PM",
                     f"{minutes} mins", "VoIP", "Attendee"])
    return b"\xff\xfe" + "\r\n".join("\t".join(r) for r in rows).encode("utf-16-le")


def _meet(people: list[Person], drop: str | None) -> bytes:
    header = ["First name", "Last name", "Email", "Duration", "Time joined", "Time exited"]
    lines = [",".join("Renamed" if h == drop else h for h in header)]
    for i, (first, last, minutes) in enumerate(people):
        spent = f"{minutes // 60} hr {minutes % 60} min" if minutes >= 60 else f"{minutes} min"
        lines.append(f"{first},{last},{_email(first, last, i)},{spent},2025-03-04 10:00:00,2025-03-04 11:00:00")
    return ("\n".join(lines) + "\n").encode("utf-8")


RENDERERS = {
    "teams": (_teams, ["2. Participants", "In-Meeting Duration"]),
    "luma": (_luma, ["checked_in_at", "api_id", "email"]),
    "goto_webinar": (_goto, ["Interest Rating", "Time in Session", "GoToWebinar", "Attendee Details"]),
    "webex": (_webex, ["Join Time", "Duration"]),
    "google_meet": (_meet, ["Time joined", "Duration", "Email"]),
}
NAME = (st.text(alphabet=st.sampled_from("abcdefghijklmnopqrstuvwxyz"), min_size=2, max_size=8).map(str.title)
        .filter(lambda name: not is_bot(name, None)))
PEOPLE = st.lists(st.tuples(NAME, NAME, st.integers(min_value=1, max_value=180)), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(platform=st.sampled_from(sorted(RENDERERS)), people=PEOPLE, data=st.data())
def test_no_file_is_imported_as_the_wrong_platform(tmp_path: Path, platform: str, people: list[Person],
                                                   data: st.DataObject) -> None:
    render, markers = RENDERERS[platform]
    path = tmp_path / f"{platform}.csv"
    path.write_bytes(render(people, None))
    assert detect_platform(path) == platform
    parsed = parse_export(path, overrides=[EventOverride("*", "Random event", None, date(2025, 3, 4))])
    assert len(parsed.records) == len(people) and parsed.records["attended"].all()
    if platform != "luma":  # Luma has no durations
        assert parsed.records["minutes_attended"].sum() == pytest.approx(sum(m for _, _, m in people))
    drop = data.draw(st.sampled_from(markers))
    path.write_bytes(render(people, drop))
    try:
        detected = detect_platform(path)
    except RejectedFile:
        return
    assert detected == platform, f"{platform} with '{drop}' renamed was detected as {detected}"


def test_a_loose_fit_is_rejected_naming_what_is_missing(tmp_path: Path) -> None:
    path = tmp_path / "goto.csv"
    path.write_bytes(_goto([("Ada", "Lee", 30)], "Interest Rating"))
    with pytest.raises(RejectedFile, match=r"GoTo Webinar attendee report .*missing an 'Attended' \+ 'Interest"):
        parse_export(path)


def test_a_file_fitting_two_platforms_is_refused_naming_both(tmp_path: Path) -> None:
    path = tmp_path / "both.csv"
    path.write_text("api_id,name,email,approval_status,checked_in_at,Duration,Time joined,Time exited\n"
                    "gst-1,Ada Lee,ada@b.io,approved,2025-03-12T18:00:00Z,5 min,10:00 AM,10:05 AM\n",
                    encoding="utf-8")
    with pytest.raises(RejectedFile, match=r"fits more than one platform.*Luma guest list and Google Meet"):
        parse_export(path)


def test_zero_minutes_for_every_attendee_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zoom.csv"
    path.write_text("Attendee Report\nTopic,Webinar ID,Actual Start Time\nX,1,2025-01-01 10:00:00\n"
                    "Attendee Details\nAttended,User Name (Original Name),Email,Time in Session (minutes)\n"
                    "Yes,Ada,ada@b.io,0\nYes,Ben,ben@b.io,0\n", encoding="utf-8")
    with pytest.raises(RejectedFile, match="every attendee has 0 minutes"):
        parse_export(path)


# --- internal people when no domain is configured ----------------------------------------------------------------
CUSTOMERS = """customer_id,name,domains,arr,usage_health,csm_owner,customer_since
C001,Brightwave,brightwave.io,120000,80,Dana,2023-01-15
C002,Tall Pine,tallpine.com,50000,60,Lee,2023-01-15
C003,Quarry Lake,quarrylake.com,90000,70,Lee,2023-01-15
"""


def _matched(tmp_path: Path, configured: frozenset[str], fixture: str = "goto_webinar.csv"):
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (tmp_path / "contacts.csv").write_text("customer_id,name,email,role,is_champion\n", encoding="utf-8")
    parsed = parse_export(EXPORTS / fixture)
    domains, rule = internal_domains_for(configured, parsed)
    outcome = match_attendance(parsed.records, load_crm(tmp_path), domains)
    return exclude_internal(parsed, outcome.internal), outcome, rule


def test_organiser_domain_is_inferred_from_the_goto_organizer_when_none_is_configured(tmp_path: Path) -> None:
    parsed, outcome, rule = _matched(tmp_path, frozenset())
    # Omar (staff panelist) and Lin (staff attendee) at harbourline.io are excluded; Kim (customer panelist) stays.
    assert rule is not None and "harbourline.io inferred" in rule
    assert sorted(outcome.internal["attendee_email"]) == ["lin.wu@harbourline.io", "omar.reyes@harbourline.io"]
    kept = parsed.records
    assert (int(kept["attended"].sum()), int((~kept["attended"]).sum())) == (4, 2)
    assert parsed.ledger["excluded_by_reason"] == {"host": 1, "internal": 2} and parsed.ledger["balanced"]
    assert outcome.matched["customer_id"].value_counts().sort_index().to_dict() == {"C001": 2, "C002": 3, "C003": 1}


def test_configured_domains_win_over_inference(tmp_path: Path) -> None:
    parsed, outcome, rule = _matched(tmp_path, frozenset({"other-org.com"}))
    assert rule is None and outcome.internal.empty
    assert int(parsed.records["attended"].sum()) == 6


@pytest.mark.parametrize(("fixture", "internal"), [("teams_webinar.csv", ["omar.reyes@harbourline.io"]),
                                                   ("webex_attendance.csv", [])])
def test_inference_for_teams_and_webex_organisers(tmp_path: Path, fixture: str, internal: list[str]) -> None:
    _, outcome, rule = _matched(tmp_path, frozenset(), fixture)
    assert rule is not None and "harbourline.io" in rule
    assert sorted(outcome.internal["attendee_email"]) == internal


def test_a_free_mail_organiser_names_no_internal_domain() -> None:
    from engagement_pipeline.ingest.result import ParsedUpload

    upload = ParsedUpload(platform="zoom_meeting", records=pd.DataFrame(), organiser_emails=("host@gmail.com",))
    domains, rule = internal_domains_for(frozenset(), upload)
    assert domains == frozenset() and rule is not None and "personal" in rule


def test_no_internal_domain_by_default_and_the_file_setting(tmp_path: Path) -> None:
    assert Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path)}).internal_domains == frozenset()
    (tmp_path / "crm").mkdir()
    (tmp_path / "crm" / "internal_domains.txt").write_text("# ours\nHarbourline.io\n", encoding="utf-8")
    assert Settings.from_env({"ENGAGEMENT_DATA_DIR": str(tmp_path)}).internal_domains == {"harbourline.io"}
    env = {"ENGAGEMENT_DATA_DIR": str(tmp_path), "ENGAGEMENT_INTERNAL_DOMAINS": "a.com,b.com"}
    assert Settings.from_env(env).internal_domains == {"a.com", "b.com"}


@pytest.mark.slow
def test_the_ingest_assets_apply_and_record_the_inferred_rule(tmp_path: Path) -> None:
    """The same path the sensor and the CLI take: GoTo file in, staff out of the stored records, rule in notes."""
    import shutil

    import dagster as dg

    from engagement_pipeline import warehouse as wh
    from engagement_pipeline.defs import INGEST_ASSETS
    from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
    from engagement_pipeline.defs.resources import Inbox, Warehouse, default_resources

    data = tmp_path / "data"
    (data / "crm").mkdir(parents=True)
    (data / "crm" / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    (data / "crm" / "contacts.csv").write_text("customer_id,name,email,role,is_champion\n", encoding="utf-8")
    (data / "inbox").mkdir()
    shutil.copyfile(EXPORTS / "goto_webinar.csv", data / "inbox" / "goto_webinar.csv")
    settings = Settings.from_env({"ENGAGEMENT_DATA_DIR": str(data)})
    assert settings.internal_domains == frozenset()
    resources = {**default_resources(settings), "inbox": Inbox(directory=str(data / "inbox"), consume=False)}
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(upload_partitions_def.name, ["goto_webinar.csv"])
        run = dg.materialize(INGEST_ASSETS, partition_key="goto_webinar.csv", instance=instance,
                             resources=resources)
        notes = str(run.asset_materializations_for_node("stored_attendance")[-1].metadata["notes"].value)
    assert "organiser domain harbourline.io inferred" in notes
    with Warehouse(url=settings.db_url).engine().connect() as conn:
        stored = wh.load_upload_records(conn)
    assert sorted(stored["attendee_email"]) == ["ada.lee@brightwave.io", "ben.okafor@tallpine.com",
                                                "eli.moss@brightwave.io", "fay.chen@tallpine.com",
                                                "kim.novak@tallpine.com", "sam.ortiz@quarrylake.com"]
