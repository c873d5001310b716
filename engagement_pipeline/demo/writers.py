"""One writer per export format, reproducing the real files' layouts (see /work/shared/PLATFORMS.md).

Each writer returns the file's cells as rows of strings, so one layout can be saved both as CSV and, like
someone who opened the export in Excel and saved it, as .xlsx. The quirks are deliberate: they are what the
ingestion parsers must survive (sections, padding, BOM, join/leave rows, waiting rooms, bots, no-shows).
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
import zipfile
from datetime import datetime, timedelta

from openpyxl import Workbook

from engagement_pipeline.demo.population import Attendance, Event, Person

Rows = list[list[str]]
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
COUNTRY = {"de": "Germany", "uk": "United Kingdom", "es": "Spain", "nl": "Netherlands", "ch": "Switzerland",
           "au": "Australia"}
BOT = "read.ai meeting notes"


def zoom_summary_time(dt: datetime, padded: bool = False) -> str:
    """'Mar 22, 2025 7:13 PM' (2020 exports zero-pad the day: 'Mar 02, 2020 8:07 AM')."""
    day = f"{dt.day:02d}" if padded else str(dt.day)
    return f"{MONTHS[dt.month - 1]} {day}, {dt.year} {dt.hour % 12 or 12}:{dt.minute:02d} {dt:%p}"


def zoom_detail_time(dt: datetime) -> str:
    """'Mar 22, 2025 19:52:01': webinar detail rows are 24-hour."""
    return f"{MONTHS[dt.month - 1]} {dt.day}, {dt:%Y %H:%M:%S}"


def us_time(dt: datetime) -> str:
    """'06/16/2026 03:10:26 PM': the meeting participants export."""
    return dt.strftime("%m/%d/%Y %I:%M:%S %p")


def minutes(join: datetime, leave: datetime) -> int:
    """Zoom rounds each row's time up to whole minutes (a 19-second visit shows as 1)."""
    return max(1, math.ceil((leave - join).total_seconds() / 60))


def sessions(event: Event, rng: random.Random, rejoin: float = 0.2) -> list[tuple[datetime, datetime]]:
    """One person's join/leave rows: mostly one, sometimes a drop-out and rejoin."""
    join = event.start + timedelta(seconds=rng.randint(-240, 900))
    leave = event.start + timedelta(minutes=event.minutes, seconds=-rng.randint(0, 60 * event.minutes // 3))
    if rng.random() >= rejoin:
        return [(join, leave)]
    drop = join + (leave - join) * rng.uniform(0.2, 0.6)
    back = drop + timedelta(seconds=rng.randint(20, 400))
    return [(join, drop), (back, leave)]


def country(person: Person) -> str:
    return COUNTRY.get(person.email.rsplit(".", 1)[-1], "United States")


def _reg_time(event: Event, rng: random.Random) -> datetime:
    return event.start - timedelta(days=rng.randint(1, 21), seconds=rng.randint(0, 86_000))


def zoom_webinar(event: Event, regs: list[Attendance], people: dict[str, Person], host: Person,
                 panelists: list[Person], webinar_id: str, rng: random.Random, legacy: bool) -> Rows:
    """Webinar 'Attendee Report': summary, Host/Panelist/Attendee Details sections; one row per session."""
    name_col = "User Name" if legacy else "User Name (Original Name)"

    def guest(value: str) -> list[str]:
        return [] if legacy else [value]

    phone = guest("")
    end = event.start + timedelta(minutes=event.minutes)
    staff_header = ["Attended", name_col, "Email", "Join Time", "Leave Time", "Time in Session (minutes)",
                    *guest("Is Guest"), "Country/Region Name"]
    speakers = panelists + [people[a.email] for a in regs if a.role == "speaker"]
    attended = [a for a in regs if a.status == "attended" and a.role != "speaker"]
    absent = [a for a in regs if a.status == "no_show"]
    groups: list[tuple[datetime, str, Rows]] = []
    for a in attended:
        p, reg = people[a.email], _reg_time(event, rng)
        group, spans = [], sessions(event, rng)
        for n, (join, leave) in enumerate(spans):
            again = n > 0 and legacy  # 2020 continuation rows leave the registration cells blank
            group.append(["Yes", p.name, p.first, p.last, p.email, *phone, "" if again else zoom_detail_time(reg),
                          "" if again else "approved", zoom_detail_time(join), zoom_detail_time(leave),
                          str(minutes(join, leave)), *guest("Yes"), p.company, p.title, country(p)])
        groups.append((spans[0][0], p.email, group))
    body = [row for _, _, group in sorted(groups, key=lambda g: (g[0], g[1])) for row in group]
    for a in absent:
        p = people[a.email]
        body.append(["No", p.name, p.first, p.last, p.email, *phone, zoom_detail_time(_reg_time(event, rng)),
                     "approved", "--", "--", "--", *guest("--"), p.company, p.title, "--" if legacy else ""])
    viewers = len(attended) + len(speakers) + 1
    nums = [str(event.minutes), str(len(attended) + len(absent)), "0", str(viewers), str(len(body) + viewers - 1),
            str(viewers - rng.randint(2, 6))]
    rows: Rows = [["Attendee Report"], ["Report Generated:", zoom_summary_time(end + timedelta(hours=18), legacy)]]
    labels = ["Topic", "Webinar ID", "Actual Start Time", "Actual Duration (minutes)", "# Registered",
              "# Cancelled", "Unique Viewers", "Total Users", "Max Concurrent Views"]
    if legacy:
        rows += [labels, [event.name, webinar_id, zoom_summary_time(event.start, True), *(f" {n}" for n in nums)]]
    else:
        rows += [[*labels, "Enable Registration"], [event.name, webinar_id, zoom_summary_time(event.start), *nums,
                                                    "Yes"]]
    rows += [["Host Details"], staff_header]
    rows.append(["Yes", host.name, host.email, zoom_detail_time(event.start - timedelta(minutes=9)),
                 zoom_detail_time(end + timedelta(minutes=3)), str(event.minutes + 12), *guest("No"),
                 "United States"])
    rows += [["Panelist Details"], staff_header]
    for p in speakers:
        join, leave = event.start - timedelta(minutes=rng.randint(3, 10)), end - timedelta(minutes=rng.randint(0, 5))
        rows.append(["Yes", p.name, p.email, zoom_detail_time(join), zoom_detail_time(leave),
                     str(minutes(join, leave)), *guest("Yes" if p.customer_id else "No"), country(p)])
    attendee_header = ["Attended", name_col, "First Name", "Last Name", "Email", *guest("Phone"), "Registration Time",
                       "Approval Status", "Join Time", "Leave Time", "Time in Session (minutes)", *guest("Is Guest"),
                       "Organization", "Job Title", "Country/Region Name"]
    rows += [["Attendee Details"], attendee_header, *body]
    if legacy:  # 2020: section rows carry one trailing comma, nothing else is padded
        rows = [[*r, ""] if len(r) == 1 else r for r in rows]
    return rows


def zoom_meeting(event: Event, attendees: list[Attendance], people: dict[str, Person], host: Person,
                 meeting_id: str, rng: random.Random, legacy: bool = False, bot: bool = False) -> Rows:
    """Meeting participants export: meeting row, blank line, one row per join/leave (+ waiting room, bot)."""
    end = event.start + timedelta(minutes=event.minutes)
    host_rows = [(host, event.start - timedelta(minutes=6), end + timedelta(minutes=2), "No", False)]
    rows_in: list[tuple[Person, datetime, datetime, str, bool]] = []
    for a in attendees:
        p = people[a.email]
        for n, (join, leave) in enumerate(sessions(event, rng, rejoin=0.25)):
            if not legacy and n == 0 and rng.random() < 0.3:
                rows_in.append((p, join - timedelta(seconds=rng.randint(30, 200)), join, "Yes", True))
            rows_in.append((p, join, leave, "Yes", False))
    rows_in.sort(key=lambda r: (r[1], r[0].email))
    bot_person = Person("", BOT, "", "", None, "")
    bot_rows = [(bot_person, event.start + timedelta(seconds=41), end, "Yes", False)] if bot else []
    everyone = host_rows + bot_rows + rows_in
    count = str(len({r[0].email or r[0].first for r in everyone}))
    if legacy:
        head: Rows = [["Meeting ID", "Topic", "Start Time", "End Time", "User Email", "Duration (Minutes)",
                       "Participants", ""],
                      [meeting_id, event.name, us_time(event.start), us_time(end), host.email, str(event.minutes),
                       count, ""], [],
                      ["Name (Original Name)", "User Email", "Join Time", "Leave Time", "Duration (Minutes)"]]
        return head + [[p.name if p.email else p.first, p.email, us_time(j), us_time(lv), str(minutes(j, lv))]
                       for p, j, lv, _, _ in everyone]
    head = [["Topic", "ID", "Host", "Duration (minutes)", "Start time", "End time", "Participants"],
            [event.name, meeting_id, f"{host.name} ({host.email})", str(event.minutes), us_time(event.start),
             us_time(end), count], [],
            ["Name (original name)", "Email", "Join time", "Leave time", "Duration (minutes)", "Guest",
             "Recording disclaimer response", "In waiting room"]]
    out = []
    for p, j, lv, guest, waiting in everyone:
        shown = p.first if not p.email else (f"iPhone ({p.name})" if hash_of(p.email) % 11 == 0 else p.name)
        out.append([shown, p.email, us_time(j), us_time(lv), str(minutes(j, lv)), guest,
                    "" if waiting else "OK", "Yes" if waiting else "No"])
    return head + out


def _cols(text: str) -> list[str]:
    return text.split(",")


def hash_of(text: str) -> int:
    """A stable small hash (Python's hash() is salted per process, which would break determinism)."""
    return sum((n + 1) * ord(c) for n, c in enumerate(text))


EVENTBRITE_HEADER = _cols(
    "Order #,Order Date,First Name,Last Name,Email,Quantity,Price Tier,Ticket Type,Attendee #,Group,Order Type,"
    "Currency,Total Paid,Fees Paid,Eventbrite Fees,Eventbrite Payment Processing,Attendee Status,Home Address 1,"
    "Home Address 2,Home City,Home State,Home Zip,Home Country,Job Title,Company,Event Name,Event Date")


def eventbrite(event: Event, regs: list[Attendance], people: dict[str, Person], staff: Person,
               rng: random.Random) -> Rows:
    """Classic attendee report: one row per free ticket; Checked In / Attending (no-show) / Not Attending."""
    status = {"attended": "Checked In", "no_show": "Attending", "cancelled": "Not Attending"}
    entries = [(staff, "Checked In")] + [(people[a.email], status[a.status]) for a in regs
                                         if a.channel != "online" or a.status != "attended"]
    dated = sorted(((_reg_time(event, rng), p, s) for p, s in entries), key=lambda t: (t[0], t[1].email))
    order, attendee = 10_000_000_000 + rng.randint(0, 999_999) * 1000, 18_000_000_000 + rng.randint(0, 9_999_999)
    rows = [list(EVENTBRITE_HEADER)]
    for n, (when, p, st) in enumerate(dated):
        rows.append([str(order + 7 * n), when.strftime("%m/%d/%y %H:%M"), p.first, p.last, p.email, "1", "",
                     "General Admission", str(attendee + 3 * n), "", "Free Order", "USD", "0", "0", "0", "0", st,
                     "", "", "", "", "", "", p.title, p.company, event.name, event.day.strftime("%m/%d/%Y")])
    return rows


HOPIN_HEADER = _cols(
    "Name,First name,Last name,Email,Headline,Company,Job title,Ticket type,Registered at,Attended,"
    "Time in event (minutes),Questions asked,Polls answered,Chat messages,Feedback submitted,Event,Event start")


def hopin(event: Event, regs: list[Attendance], people: dict[str, Person], staff_speakers: list[Person],
          staff_others: list[Person], rng: random.Random) -> Rows:
    """Hopin people export (no verified format exists; this is the layout our parser supports)."""
    entries = [(p, Attendance(event.key, p.email, role="speaker")) for p in staff_speakers]
    entries += [(p, Attendance(event.key, p.email)) for p in staff_others]
    entries += [(people[a.email], a) for a in regs if a.status != "cancelled"]
    rows = [list(HOPIN_HEADER)]
    for p, a in sorted(entries, key=lambda t: t[0].email):
        came = a.status == "attended"
        ticket = "Speaker" if a.role == "speaker" else ("VIP" if p.is_champion and came else "General")
        headline = f"{p.title} at {p.company}" if p.company else p.title
        registered = _reg_time(event, rng).strftime("%Y-%m-%dT%H:%M:00Z")
        spent = rng.randint(45, event.minutes) if came else 0
        rows.append([p.name, p.first, p.last, p.email, headline, p.company, p.title, ticket, registered,
                     "Yes" if came else "No", str(spent), str(a.questions), str(a.polls), str(a.chats),
                     "Yes" if a.feedback else "No", event.name, event.day.isoformat()])
    return rows


def to_csv(rows: Rows, *, bom: bool = False, pad: bool = False, newline: str = "\r\n") -> bytes:
    """CSV bytes; `pad` right-pads every row to the widest (2025 Zoom), `bom` adds the UTF-8 BOM."""
    width = max(len(r) for r in rows)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator=newline)
    for row in rows:
        writer.writerow(row + [""] * (width - len(row)) if pad and row else row)
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8")


def to_xlsx(rows: Rows, sheet: str, stamp: datetime) -> bytes:
    """One sheet, whole numbers as numbers (as Excel would), with fixed timestamps so the bytes are stable."""
    wb = Workbook()
    ws = wb.active
    ws.title = sheet[:31]
    for row in rows:
        ws.append([int(c) if c.isdigit() and len(c) < 12 else (c or None) for c in row])
    wb.properties.created = wb.properties.modified = stamp
    raw = io.BytesIO()
    wb.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                # openpyxl stamps `modified` with the wall clock on save, whatever the workbook says.
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                                 rb"\g<1>" + stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode() + rb"\g<2>", content)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0)), content,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()
