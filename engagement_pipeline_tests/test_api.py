"""The CSM's HTTP API through a real uvicorn server on both warehouse backends: every figure equals what
`score --json` reports for the same demo run, auth and bad uploads fail with clear JSON, an upload enters the
sensor's inbox and its status follows the run, and schemathesis finds no request that makes the server fail."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .served_app import Served, multipart, serve_scored_demo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path, module_db_url: str) -> Iterator[Served]:
    with serve_scored_demo(tmp_path_factory.mktemp("api_data"), demo_dir, module_db_url) as server:
        yield server


def _by(rows: list[dict], key: str) -> dict:
    return {r[key]: r for r in rows}


def test_leaderboard_equals_score_json(served: Served) -> None:
    status, body = served.json("GET", "/api/events/leaderboard")
    assert status == 200
    expected = {s["customer_id"]: s for s in served.score_json["scores"] if s["score"] is not None}
    assert body["as_of"] == served.score_json["as_of"] == "2026-11-02"
    assert {r["customer_id"] for r in body["customers"]} == set(expected)
    for row in body["customers"]:
        want = expected[row["customer_id"]]
        assert (row["rank"], row["score"], row["band"]) == (want["rank"], round(want["score"], 1), want["band"])
    assert [r["rank"] for r in body["customers"]] == sorted(r["rank"] for r in body["customers"])
    owner = body["customers"][0]["csm_owner"]
    status, mine = served.json("GET", f"/api/events/leaderboard?owner={owner.replace(' ', '%20')}&limit=3")
    assert status == 200 and 0 < len(mine["customers"]) <= 3
    assert {r["csm_owner"] for r in mine["customers"]} == {owner}


def test_engagement_of_every_customer_equals_score_json(served: Served) -> None:
    trends = _by(served.score_json["trends"], "customer_id")
    attendance: dict[str, list[dict]] = {}
    for row in served.score_json["attendance"]:
        attendance.setdefault(row["customer_id"], []).append(row)
    for want in served.score_json["scores"]:
        cid = want["customer_id"]
        status, got = served.json("GET", f"/api/events/{cid}/engagement")
        assert status == 200, got
        assert got["score"] == pytest.approx(want["score"], nan_ok=True) if want["score"] is not None \
            else got["score"] is None
        assert got["band"] == want["band"]
        for name, part in got["components"].items():
            assert part["value"] == (pytest.approx(want[name]) if want[name] is not None else None)
            assert part["points"] == (pytest.approx(want[f"contrib_{name}"])
                                      if want.get(f"contrib_{name}") is not None else None)
        assert got["weakest_component"] == want["weakest_component"]
        assert got["trend"]["state"] == trends[cid]["trend"]
        assert got["trend"]["events_current"] == trends[cid]["events_current"]
        assert got["trend"]["reason"]
        assert [h["as_of"] for h in got["score_history"]] == ["2026-11-02"]
        assert got["score_history"][-1]["score"] == pytest.approx(want["score"], nan_ok=True) \
            if want["score"] is not None else True
        rows = {(a["event_id"], (a["attendee_email"] or "").lower(), a["attended"]) for a in got["attendance"]}
        wanted = {(a["event_id"], (a["attendee_email"] or "").lower(), a["attended"]) for a in attendance.get(cid, [])}
        assert rows == wanted, cid


def test_declining_customer_has_the_risk_reason(served: Served) -> None:
    risks = served.score_json["risks"]
    assert risks, "the demo has declining customers"
    status, got = served.json("GET", f"/api/events/{risks[0]['customer_id']}/engagement")
    assert status == 200
    assert got["trend"]["state"] == "declining"
    assert got["trend"]["reason"] == risks[0]["reason"]
    row = got["attendance"][0]
    assert set(row) >= {"event_name", "event_type", "event_date", "attended", "role", "minutes", "questions",
                        "polls", "feedback"}


def test_risks_equal_score_json(served: Served) -> None:
    status, body = served.json("GET", "/api/events/risks")
    assert status == 200
    got = [(r["customer_id"], r["reason"], r["arr"]) for r in body["risks"]]
    assert got == [(r["customer_id"], r["reason"], r["arr"]) for r in served.score_json["risks"]]
    declining = {r["customer_id"] for r in body["risks"]}
    assert {s["customer_id"] for s in body["open_signals"]} == declining
    assert {t["customer_id"] for t in body["open_outreach"]} == declining


def test_recommendations_equal_score_json(served: Served) -> None:
    status, groups = served.json("GET", "/api/events/recommendations")
    assert status == 200 and groups
    got = [(g["event_name"], r["rank"], r["customer_id"], r["contact_email"], r["reason"])
           for g in groups for r in g["recommendations"]]
    want = [(r["event_name"], r["rank"], r["customer_id"], r["contact_email"], r["reason"])
            for r in served.score_json["recommendations"]]
    assert sorted(got) == sorted(want)
    name = groups[0]["event_name"]
    status, one = served.json("GET", f"/api/events/recommendations?event={name.replace(' ', '%20')}&limit=2")
    assert status == 200 and [g["event_name"] for g in one] == [name]
    assert len(one[0]["recommendations"]) == min(2, len(groups[0]["recommendations"]))


def test_invitations_dry_run_then_send_once(served: Served) -> None:
    recs = served.score_json["recommendations"]
    event = recs[0]["event_name"]
    status, dry = served.json("POST", "/api/events/invitations", {"event": event, "top": 2})
    assert status == 200, dry
    assert dry["dry_run"] is True and len(dry["recipients"]) == 2
    for r in dry["recipients"]:
        assert r["status"] == "dry_run"
        assert r["subject"] == f"You're Invited: {event}"
        assert r["text"].startswith("Hi ") and "Unsubscribe" in r["text"]
    outbox = served.settings.outbox_dir
    assert not list(outbox.glob("*.eml")) if outbox.exists() else True
    first = recs[0]["customer_id"]
    payload = {"event": event, "customer_ids": [first], "dry_run": False}
    status, sent = served.json("POST", "/api/events/invitations", payload)
    assert status == 200, sent
    assert [r["status"] for r in sent["recipients"]] == ["sent"]
    assert len(list(outbox.glob("*.eml"))) == 1
    status, again = served.json("POST", "/api/events/invitations", payload)
    assert [r["status"] for r in again["recipients"]] == ["skipped"]
    assert again["recipients"][0]["reason"].startswith("already invited")
    assert len(list(outbox.glob("*.eml"))) == 1


def test_uplift_answers_with_the_reports_own_numbers(served: Served) -> None:
    from engagement_pipeline.actions.report import uplift_report
    from engagement_pipeline.warehouse import make_engine

    status, body = served.json("GET", "/api/events/uplift")
    assert status == 200, body
    engine = make_engine(served.settings.db_url)
    try:
        markdown, numbers = uplift_report(engine)
    finally:
        engine.dispose()
    assert body["answer"] == markdown and "Did invitations raise attendance?" in body["answer"]
    assert body["metrics"] == numbers
    assert all(set(row) >= {"event", "uplift", "uplift_low", "uplift_high", "verdict"} for row in body["rows"])


@pytest.mark.parametrize(("path", "method"), [
    ("/api/events/leaderboard", "GET"), ("/api/events/risks", "GET"), ("/api/events/recommendations", "GET"),
    ("/api/events/C001/engagement", "GET"), ("/api/events/invitations", "POST"), ("/api/events/uplift", "GET"),
    ("/api/events/attendance/upload", "POST"), ("/api/events/attendance/uploads/" + "0" * 64, "GET"),
])
def test_every_api_route_needs_the_token(served: Served, path: str, method: str) -> None:
    body = b"{}" if method == "POST" else None
    for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {served.token}"}):
        status, response_headers, raw = served.request(method, path, body=body, headers=headers, auth=False)
        assert status == 401, (path, headers, raw)
        error = json.loads(raw)
        assert error["error"] == "unauthorized" and error["detail"]
        assert "Bearer" in response_headers.get("www-authenticate", "")


def test_errors_are_clear_json(served: Served) -> None:
    status, body = served.json("GET", "/api/events/NOPE/engagement")
    assert (status, body["error"]) == (404, "not_found") and "NOPE" in body["detail"]
    status, body = served.json("POST", "/api/events/invitations", {"event": "x"})
    assert (status, body["error"]) == (422, "invalid") and "top" in body["detail"]
    status, body = served.json("POST", "/api/events/invitations", {"event": "No such event", "top": 1})
    assert (status, body["error"]) == (404, "not_found") and "upcoming events" in body["detail"]
    status, body = served.json("GET", "/api/events/leaderboard?limit=-1")
    assert status == 422 and body["errors"][0]["field"] == "query.limit"
    status, _, raw = served.request("POST", "/api/events/invitations", body=b"{not json",
                                    headers={"Content-Type": "application/json"})
    assert status == 422 and b"Traceback" not in raw


def _declared_too_large(served: Served, size: int) -> tuple[int, dict]:
    """An upload whose Content-Length is over the limit, answered before its body is sent: the server refuses it
    from the headers and closes, so a client still writing the body would see a broken pipe instead."""
    host, port = served.base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.putrequest("POST", "/api/events/attendance/upload")
        for key, value in {"Authorization": f"Bearer {served.token}", "Content-Length": str(size),
                           "Content-Type": "multipart/form-data; boundary=x"}.items():
            conn.putheader(key, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, json.loads(response.read())
    finally:
        conn.close()


def _upload(served: Served, name: str, content: bytes, **fields: str) -> tuple[int, dict]:
    body, content_type = multipart(fields, name, content)
    status, _, raw = served.request("POST", "/api/events/attendance/upload", body=body,
                                    headers={"Content-Type": content_type})
    return status, json.loads(raw)


def test_bad_uploads_are_refused_with_reasons(served: Served) -> None:
    assert _upload(served, "notes.exe", b"MZ")[0] == 422
    assert _upload(served, "empty.csv", b"")[1]["detail"] == "empty.csv is empty"
    status, body = _upload(served, "a.csv", b"a,b\n", event_type="party")
    assert status == 422 and "party" in body["detail"]
    status, body = _upload(served, "a.csv", b"a,b\n", event_date="yesterday")
    assert status == 422 and body["errors"][0]["field"] == "event_date"
    status, body = _declared_too_large(served, served.settings.max_upload_bytes + 200 * 1024)
    assert status == 413 and body["error"] == "too_large" and "1 MB" in body["detail"]
    status, _, raw = served.request("POST", "/api/events/attendance/upload", body=b"",
                                    headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert status == 422 and json.loads(raw)["error"] == "invalid"
    assert served.json("GET", "/api/events/attendance/uploads/not-a-hash")[0] == 422
    assert served.json("GET", "/api/events/attendance/uploads/" + "a" * 64)[0] == 404
    assert not [p for p in served.settings.inbox_dir.iterdir() if not p.name.startswith(".")]


def _process_inbox(served: Served) -> None:
    """What the sensor's run does with each ready file: the ingestion assets on one partition."""
    import dagster as dg

    from engagement_pipeline.defs import INGEST_ASSETS
    from engagement_pipeline.defs.ingest.partitions import upload_partitions_def
    from engagement_pipeline.defs.resources import Inbox, default_resources

    with dg.DagsterInstance.ephemeral() as instance:
        for path in sorted(served.settings.inbox_dir.iterdir()):
            if path.name.startswith("."):
                continue
            instance.add_dynamic_partitions(upload_partitions_def.name, [path.name])
            resources = {**default_resources(served.settings), "inbox": Inbox(directory=str(path.parent))}
            dg.materialize(INGEST_ASSETS, partition_key=path.name, instance=instance, resources=resources,
                           raise_on_error=False)


def test_upload_enters_the_inbox_and_its_status_follows_the_run(served: Served, demo_dir: Path) -> None:
    export = next(p for p in sorted((demo_dir / "inbox").iterdir()) if p.name.startswith("Attendees-"))
    status, accepted = _upload(served, export.name, export.read_bytes())
    assert status == 202 and accepted["status"] == "queued" and len(accepted["upload_id"]) == 64
    status, rejected = _upload(served, "no-event.csv", b"col_a,col_b\n1,2\n", event_name="Roadmap Webinar",
                               event_type="webinar", event_date="2026-10-01")
    assert status == 202 and rejected["overrides_written"] is True
    assert (served.settings.inbox_dir / export.name).read_bytes() == export.read_bytes()
    overrides = (served.settings.events_dir / "overrides.csv").read_text()
    assert "no-event.csv,Roadmap Webinar,webinar,2026-10-01" in overrides
    status, queued = served.json("GET", accepted["status_url"])
    assert (status, queued["status"]) == (200, "queued")

    _process_inbox(served)
    status, done = served.json("GET", accepted["status_url"])
    assert status == 200 and done["status"] == "accepted", done
    want = next(f for f in served.score_json["files"] if Path(f["file"]).name == export.name)
    for key in ("rows_read", "rows_kept", "rows_excluded", "rows_quarantined", "records", "platform"):
        assert done[key] == want[key], key
    assert done["excluded_by_reason"] == want["excluded_by_reason"]
    status, refused = served.json("GET", rejected["status_url"])
    assert status == 200 and refused["status"] == "rejected" and refused["reason"]
    assert refused["rows_kept"] is None or refused["rows_kept"] == 0


def test_openapi_schema_documents_every_endpoint_with_examples(served: Served) -> None:
    status, schema = served.json("GET", "/openapi.json", auth=False)
    assert status == 200
    paths = schema["paths"]
    assert {"/api/events/attendance/upload", "/api/events/attendance/uploads/{upload_id}",
            "/api/events/{customer_id}/engagement", "/api/events/recommendations", "/api/events/invitations",
            "/api/events/leaderboard", "/api/events/risks"} <= set(paths)
    assert not [p for p in paths if not p.startswith("/api/")], "pages stay out of the API schema"
    components = schema["components"]["schemas"]
    for name in ("Engagement", "UploadAccepted", "UploadStatus", "InvitationRequest", "InvitationResult",
                 "Leaderboard", "Risks", "EventRecommendations"):
        assert components[name].get("examples"), name
    assert "202" in paths["/api/events/attendance/upload"]["post"]["responses"]


def test_schemathesis_finds_no_server_error(served: Served) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_url(f"{served.base}/openapi.json")
    auth = {"Authorization": f"Bearer {served.token}"}
    for result in schema.get_all_operations():
        operation = result.ok()
        @settings(max_examples=10, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def no_server_error(case: schemathesis.Case) -> None:
            response = case.call(base_url=served.base, headers=auth)
            assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
            assert b"Traceback" not in response.content

        no_server_error()

