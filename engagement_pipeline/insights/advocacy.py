"""Advocacy candidates: highly engaged customers who are not cooling off, with the evidence and the ask.

Rules for `suggested_types` (Influitive's "acts of advocacy" taxonomy, SCORING_ANCHORS §1.8), each one
read from a signal in the data so a CSM can defend the ask:
- "speaking": someone from the customer spoke or sat on a panel in the window;
- "advisory board": broad or regular engagement (diversity >= 0.75 or consistency >= 0.75);
- "case study": score >= 80 and the account is commercially notable (ARR or usage health at or above the
  CRM median; without CRM data the score alone decides);
- "reference": consistent (consistency >= 0.5) and a tested trend that is stable or rising;
- "online review": the low-effort ask when none of the above applies.
Notable participation is counted from attended, customer-matched rows in the scoring window.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from engagement_pipeline.config import DEMO_ORGANISER_DOMAIN, ScoringConfig

INTERNAL_DOMAINS: frozenset[str] = frozenset({DEMO_ORGANISER_DOMAIN})
ADVOCACY_COLUMNS: tuple[str, ...] = (
    "customer_id", "customer_name", "score", "trend", "notable", "suggested_types", "champion",
    "champion_name", "champion_email", "notable_text", "suggested_types_text",
)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def customer_rows(attendance: pd.DataFrame, internal_domains: frozenset[str] = INTERNAL_DOMAINS,
                  as_of: date | None = None, window_days: int | None = None) -> pd.DataFrame:
    """Attended rows of matched customer people (never hosts or organiser staff), optionally windowed."""
    rows = attendance.loc[attendance["attended"].astype(bool) & attendance["customer_id"].notna()]
    rows = rows.loc[rows["role"] != "host"]
    emails = rows["attendee_email"].astype(object).where(rows["attendee_email"].notna(), "")
    domain = emails.str.split("@").str[-1]
    rows = rows.loc[~domain.str.lower().isin(internal_domains)].copy()
    rows["event_date"] = pd.to_datetime(rows["event_date"])
    if as_of is not None:
        end = pd.Timestamp(as_of)
        keep = rows["event_date"] <= end
        if window_days is not None:
            keep &= rows["event_date"] > end - pd.Timedelta(days=window_days)
        rows = rows.loc[keep]
    return rows


def people_engagement(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (customer, person): events attended, questions, minutes; most engaged first within a customer."""
    known = rows.loc[rows["attendee_email"].notna()]
    people = known.groupby(["customer_id", "attendee_email"], as_index=False).agg(
        name=("attendee_name", "first"), events=("event_id", "nunique"),
        questions=("questions_asked", "sum"), minutes=("minutes_attended", "sum"),
        last=("event_date", "max"),
    )
    return people.sort_values(["customer_id", "events", "questions", "minutes", "last", "attendee_email"],
                              ascending=[True, False, False, False, False, True], ignore_index=True)


def _months_active(dates: pd.Series, as_of: pd.Timestamp, window_days: int) -> int:
    """Distinct ~monthly periods (window / 12) counted back from as_of that saw an attendance."""
    return int(((as_of - dates).dt.days * 12 // window_days).clip(0, 11).nunique())


def _notable(rows: pd.DataFrame, all_rows: pd.DataFrame, as_of: pd.Timestamp, window_days: int,
             most_questions: float | None = None, types_offered: int | None = None) -> list[str]:
    """What makes the customer credible; the two population figures may be passed in, computed once."""
    notes: list[str] = []
    spoke = rows.loc[rows["role"].isin(["speaker", "panelist"]), "event_id"].nunique()
    if spoke:
        notes.append(f"spoke at {_plural(spoke, 'event')}")
    questions = int(rows["questions_asked"].sum())
    if questions:
        most = (all_rows.groupby("customer_id")["questions_asked"].sum().max() if most_questions is None
                else most_questions)
        suffix = ", the most of any customer" if questions >= most else ""
        notes.append(f"asked {_plural(questions, 'question')}{suffix}")
    feedback = rows.loc[rows["feedback_submitted"].astype(bool), "event_id"].nunique()
    if feedback:
        notes.append(f"gave feedback at {_plural(feedback, 'event')}")
    months = _months_active(rows["event_date"], as_of, window_days)
    if months >= 6:
        notes.append(f"attended in {months} of the last 12 months")
    offered = all_rows["event_type"].nunique() if types_offered is None else types_offered
    if offered > 1 and rows["event_type"].nunique() == offered:
        notes.append("attended every event type")
    return notes


def _suggested(score_row: pd.Series, trend: str, spoke: bool, crm: pd.Series | None,
               medians: dict[str, float]) -> list[str]:
    types: list[str] = []
    if spoke:
        types.append("speaking")
    if (score_row["diversity"] >= 0.75) or (score_row["consistency"] >= 0.75):
        types.append("advisory board")
    if score_row["score"] >= 80:
        notable_account = crm is None or any(
            pd.notna(crm.get(k)) and pd.notna(medians.get(k)) and crm[k] >= medians[k]
            for k in ("arr", "usage_health")
        )
        if notable_account:
            types.append("case study")
    if score_row["consistency"] >= 0.5 and trend in ("stable", "rising"):
        types.append("reference")
    return types or ["online review"]


def advocacy_candidates(scores: pd.DataFrame, trends: pd.DataFrame, attendance: pd.DataFrame,
                        contacts: pd.DataFrame, min_score: float = 70.0,
                        customers: pd.DataFrame | None = None, window_days: int | None = None,
                        internal_domains: frozenset[str] = INTERNAL_DOMAINS,
                        as_of: date | None = None) -> pd.DataFrame:
    """Customers scoring >= min_score whose trend is not 'declining', best score first.

    `as_of`: the run's scoring date (the pipeline passes it); without it, the date the scores carry."""
    window = window_days or ScoringConfig().window_days
    merged = scores.merge(trends[["customer_id", "trend"]], on="customer_id", how="left")
    merged["trend"] = merged["trend"].fillna("insufficient_data")
    chosen = merged.loc[(merged["score"] >= min_score) & (merged["trend"] != "declining")]
    chosen = chosen.sort_values(["score", "customer_name"], ascending=[False, True])
    if chosen.empty:
        return pd.DataFrame(columns=list(ADVOCACY_COLUMNS))
    as_of = pd.Timestamp(as_of if as_of is not None else chosen["as_of"].iloc[0])
    rows = customer_rows(attendance, internal_domains, as_of, window)
    people = people_engagement(rows)
    crm = customers.set_index("customer_id") if customers is not None else None
    medians = {k: crm[k].median() for k in ("arr", "usage_health") if k in crm} if crm is not None else {}
    # One pass: each customer's rows, contacts and people split out once, and the two population figures
    # computed once, instead of a scan of the whole window per candidate (65 s at 1M records).
    by_customer = _split(rows)
    contacts_by, people_by = _split(contacts), _split(people)
    most = rows.groupby("customer_id")["questions_asked"].sum().max()
    offered = rows["event_type"].nunique()
    records = []
    for _, row in chosen.iterrows():
        mine = by_customer.get(row["customer_id"], rows.iloc[:0])
        spoke = bool(mine["role"].isin(["speaker", "panelist"]).any())
        crm_row = crm.loc[row["customer_id"]] if crm is not None and row["customer_id"] in crm.index else None
        notable = _notable(mine, rows, as_of, window, most, offered)
        types = _suggested(row, row["trend"], spoke, crm_row, medians)
        name, email = _champion(row["customer_id"], contacts_by.get(row["customer_id"], contacts.iloc[:0]),
                                people_by.get(row["customer_id"], people.iloc[:0]))
        records.append({
            "customer_id": row["customer_id"], "customer_name": row["customer_name"], "score": row["score"],
            "trend": row["trend"], "notable": notable, "suggested_types": types,
            "champion": f"{name} ({email})" if email else (name or ""),
            "champion_name": name, "champion_email": email,
            "notable_text": "; ".join(notable), "suggested_types_text": ", ".join(types),
        })
    return pd.DataFrame.from_records(records, columns=list(ADVOCACY_COLUMNS))


class _Split:
    """customer_id -> that customer's rows, in their original order (what a boolean mask would select).
    Positions come from one groupby; a customer's frame is cut only when a candidate asks for it."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.positions = frame.groupby("customer_id", sort=False).indices if len(frame) else {}

    def get(self, key: object, default: pd.DataFrame) -> pd.DataFrame:
        found = self.positions.get(key)
        return default if found is None else self.frame.iloc[found]


def _split(frame: pd.DataFrame) -> _Split:
    return _Split(frame)


def _champion(customer_id: str, contacts: pd.DataFrame,
              people: pd.DataFrame) -> tuple[str | None, str | None]:
    """The CRM champion, else the customer's most engaged attendee (events, then questions, then minutes).
    `contacts` and `people` may hold every customer or only this one's rows."""
    mine = contacts.loc[contacts["customer_id"] == customer_id]
    champions = mine.loc[mine["is_champion"].fillna(False).astype(bool)]
    if not champions.empty:
        first = champions.sort_values("name").iloc[0]
        return first["name"], first["email"]
    engaged = people.loc[people["customer_id"] == customer_id]
    if not engaged.empty:
        first = engaged.iloc[0]
        return first["name"], first["attendee_email"]
    return None, None
