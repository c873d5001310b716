"""The dashboard as a CSM uses it: headless Chromium against a real server on the scored demo (scored twice,
so the score history has two dates). Screenshots are kept as test artefacts under the test's temporary folder
(the path is printed); every page is asserted on its text. The login, cookie and CSRF rules are checked over
plain HTTP."""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from .served_app import Served, serve_scored_demo

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
EARLIER = date(2026, 9, 7)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, demo_dir: Path) -> Iterator[Served]:
    data = tmp_path_factory.mktemp("dashboard_data")
    with serve_scored_demo(data, demo_dir, f"sqlite:///{data / 'warehouse.sqlite'}", earlier=EARLIER) as server:
        yield server


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("screenshots")
    print(f"\nDashboard screenshots: {folder}")
    return folder


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    missing = None if CHROMIUM.exists() else f"{CHROMIUM} is missing (`.ci/run` installs Debian's chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = missing or "the playwright package is missing (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def browser_page(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser context (no cookies): each test signs in itself, so none depends on another
    having run first (a `-k` selection or another order ran the later tests on the login page)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        page.context.close()


def _sign_in(page: Any, served: Served) -> None:
    page.goto(served.base + "/login")
    page.fill("input[name=token]", served.token)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")


def _text(page: Any) -> str:
    return page.inner_text("body")


def test_login_then_dashboard_shows_top_customer_and_declining_reason(served: Served, browser_page: Any,
                                                                      shots: Path) -> None:
    page = browser_page
    page.goto(served.base + "/")
    assert page.url.startswith(served.base + "/login")
    page.screenshot(path=str(shots / "login.png"))
    page.fill("input[name=token]", "wrong")
    page.click("button[type=submit]")
    assert "That token is not valid." in _text(page)
    page.fill("input[name=token]", served.token)
    page.click("button[type=submit]")
    page.wait_for_url(served.base + "/")
    text = _text(page)
    top = min((s for s in served.score_json["scores"] if s["score"] is not None), key=lambda s: s["rank"])
    first_row = page.inner_text("#leaderboard table tr:nth-child(2)")
    assert top["customer_name"] in first_row and f"{top['score']:.1f}" in first_row
    risk = served.score_json["risks"][0]
    needs = page.inner_text("#needs-action")
    assert risk["customer_name"] in needs and risk["reason"] in needs
    assert f"{risk['arr']:,.0f}" in needs
    assert "Outreach due" in text and "Events by type" in text
    # Only that the charts are there as inline SVG: report/charts.py (the glance lane's) decides how they look.
    assert page.locator("#distribution svg").count() == 1 and page.locator("#event-types svg").count() == 1
    page.screenshot(path=str(shots / "dashboard.png"), full_page=True)

    page.click("#leaderboard th a:has-text('Score')")
    scores = [float(x) for x in page.locator("#leaderboard table tr td:nth-child(3)").all_inner_texts()]
    assert scores == sorted(scores, reverse=True) and len(scores) == 10
    owner = top["csm_owner"] if "csm_owner" in top else page.locator("select[name=owner] option").nth(1).inner_text()
    page.select_option("select[name=owner]", owner)
    page.click("#leaderboard button[type=submit]")
    owners = set(page.locator("#leaderboard table tr td:nth-child(8)").all_inner_texts())
    assert owners == {owner}


def test_declining_customer_page_has_reason_history_and_attendance(served: Served, browser_page: Any,
                                                                   shots: Path) -> None:
    page = browser_page
    _sign_in(page, served)
    risk = served.score_json["risks"][0]
    page.goto(served.base + "/")
    page.click(f"#needs-action a:has-text('{risk['customer_name']}')")
    page.wait_for_url(re.compile(r".*/customers/" + risk["customer_id"]))
    assert page.inner_text("#trend-reason") == risk["reason"]
    score = next(s for s in served.score_json["scores"] if s["customer_id"] == risk["customer_id"])
    assert "pulls the score down" in page.inner_text("#components")
    assert score["weakest_component"] in page.inner_text("#components .weak")
    history = page.inner_text("#history")
    assert "2026-11-02" in history and EARLIER.isoformat() in history
    attended = sorted((a for a in served.score_json["attendance"]
                       if a["customer_id"] == risk["customer_id"] and a["attended"]),
                      key=lambda a: a["event_date"], reverse=True)[0]
    rows = page.locator("#attendance table tr").all_inner_texts()
    assert any(attended["event_name"] in r and attended["event_date"][:10] in r and "yes" in r for r in rows)
    assert "champion" in page.inner_text("#contacts")
    page.screenshot(path=str(shots / "customer.png"), full_page=True)


def test_event_page_previews_and_sends_once(served: Served, browser_page: Any, shots: Path) -> None:
    page = browser_page
    _sign_in(page, served)
    rec = served.score_json["recommendations"][0]
    page.goto(served.base + "/event?name=" + urllib.parse.quote(rec["event_name"]))
    assert rec["customer_name"] in page.inner_text("#invitees")
    preview = page.inner_text("#preview")
    assert f"You're Invited: {rec['event_name']}" in preview and "Unsubscribe" in preview
    page.screenshot(path=str(shots / "event.png"), full_page=True)
    boxes = page.locator("input[name=customer_ids]")
    for i in range(1, boxes.count()):
        boxes.nth(i).uncheck()
    page.click("#send")
    result = page.inner_text("#result")
    assert "1 sent" in result and rec["contact_email"] in result
    page.screenshot(path=str(shots / "event_sent.png"), full_page=True)
    assert len(list(served.settings.outbox_dir.glob("*.eml"))) == 1


def test_upload_form_puts_the_file_in_the_inbox(served: Served, browser_page: Any, shots: Path,
                                                demo_dir: Path) -> None:
    page = browser_page
    _sign_in(page, served)
    export = next(p for p in sorted((demo_dir / "inbox").iterdir()) if p.name.startswith("participants_"))
    page.goto(served.base + "/upload")
    page.set_input_files("input[name=file]", str(export))
    page.fill("input[name=event_name]", "Customer Roundtable")
    page.select_option("select[name=event_type]", "user_group")
    page.screenshot(path=str(shots / "upload.png"))
    page.click("form[action='/upload'] button[type=submit]")
    page.wait_for_url(re.compile(r".*/uploads/[0-9a-f]{64}$"))
    assert "Status: queued" in page.inner_text("#upload-status")
    assert (served.settings.inbox_dir / export.name).read_bytes() == export.read_bytes()
    page.screenshot(path=str(shots / "upload_status.png"))


def _login_cookie(served: Served) -> str:
    body = urllib.parse.urlencode({"token": served.token, "next": "/"}).encode()
    status, headers, _ = _no_redirect(served, "POST", "/login",
                                      {"Content-Type": "application/x-www-form-urlencoded"}, body)
    assert status == 303 and headers["location"] == "/"
    return headers["set-cookie"]


def test_pages_need_a_session_and_posts_need_csrf(served: Served) -> None:
    for path in ("/", "/customers/C001", "/event?name=x", "/upload", "/uploads/" + "a" * 64):
        status, headers, _ = _no_redirect(served, "GET", path)
        assert status == 303 and headers["location"].startswith("/login?next="), path
    set_cookie = _login_cookie(served)
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie.replace("Strict", "strict")
    cookie = set_cookie.split(";")[0]
    status, _, raw = served.request("GET", "/", auth=False, headers={"Cookie": cookie})
    assert status == 200 and b"Needs action" in raw
    csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', raw).group(1).decode()
    form = {"name": served.score_json["recommendations"][0]["event_name"], "customer_ids": "C001"}
    for extra, headers in (({}, {}), ({"csrf": "0" * 64}, {}),
                           ({"csrf": csrf}, {"Origin": "http://evil.example"})):
        body = urllib.parse.urlencode({**form, **extra}).encode()
        status, _, raw = served.request("POST", "/event/send", body=body, auth=False, headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", **headers})
        assert status == 403 and json.loads(raw)["error"] == "forbidden", extra
    status, headers, _ = _no_redirect(served, "POST", "/event/send")
    assert status == 303 and headers["location"].startswith("/login")
    status, headers, _ = _no_redirect(served, "GET", "/", {"Cookie": "engagement_session=1.2.3"})
    assert status == 303, "a forged session cookie is no session"


def _no_redirect(served: Served, method: str, path: str,
                 headers: dict[str, str] | None = None, body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    import http.client

    parsed = urllib.parse.urlsplit(served.base)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()
