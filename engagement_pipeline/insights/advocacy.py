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

from dataclasses import dataclass
from datetime import date

import numpy as np
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
    """Attended rows of matched customer people (never hosts or organiser staff), optionally windowed.

    One mask over the attendance and one copy of the rows it keeps (each distinct address judged once)."""
    keep = (attendance["attended"].astype(bool) & attendance["customer_id"].notna()
            & (attendance["role"] != "host")).to_numpy(dtype=bool, copy=True)
    email = attendance["attendee_email"]
    candidates = email.loc[keep]
    codes, uniques = pd.factorize(candidates.astype(object).where(candidates.notna(), ""))
    internal = np.array([isinstance(e, str) and e.split("@")[-1].lower() in internal_domains for e in uniques],
                        dtype=bool)
    keep[keep] = ~internal[codes]
    days = pd.to_datetime(attendance["event_date"].loc[keep])
    if as_of is not None:
        end = pd.Timestamp(as_of)
        inside = days <= end
        if window_days is not None:
            inside &= days > end - pd.Timedelta(days=window_days)
        keep[keep] = inside.to_numpy()
        days = days[inside.to_numpy()]
    rows = attendance.loc[keep]
    rows["event_date"] = days.array  # by position: the index may repeat labels
    return rows


def people_engagement(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (customer, person): events attended, questions, minutes; most engaged first within a customer."""
    known = rows.loc[rows["attendee_email"].notna()]
    people = known.groupby(["customer_id", "attendee_email"], as_index=False).agg(
        name=("attendee_name", "first"), events=("event_id", "nunique"),
        questions=("questions_asked", "sum"), minutes=("minutes_attended", "sum"),
        last=("event_date", "max"),
    )
    order = _most_engaged_first(people)
    if order is None:
        return people.sort_values(["customer_id", "events", "questions", "minutes", "last", "attendee_email"],
                                  ascending=[True, False, False, False, False, True], ignore_index=True)
    return people.take(order).reset_index(drop=True)


def _most_engaged_first(people: pd.DataFrame) -> np.ndarray | None:
    """The order `people_engagement` sorts by, from numbers alone: the groupby lists people by (customer, email),
    so a stable sort by customer, then most events, questions, minutes and latest attendance (a missing date
    last), keeps the email order among ties, as the six-key sort did without comparing the texts again.
    None when a figure is not a plain number or date (the six-key sort then decides)."""
    figures = [people[c] for c in ("events", "questions", "minutes")]
    if not all(pd.api.types.is_numeric_dtype(f.dtype) and not pd.api.types.is_bool_dtype(f.dtype)
               and f.dtype != object and not f.isna().any() for f in figures):
        return None
    last = people["last"]
    if not pd.api.types.is_datetime64_dtype(last.dtype):  # also refuses zoned dates
        return None
    stamps = last.to_numpy().view(np.int64)
    latest_first = np.where(last.isna().to_numpy(), np.iinfo(np.int64).max, -stamps)
    customer = pd.factorize(people["customer_id"])[0]  # in the groupby's (sorted) order: codes ascend
    return np.lexsort((latest_first, *(-f.to_numpy() for f in reversed(figures)), customer))


@dataclass(frozen=True)
class _Participation:
    """Per customer, the figures `_notable` reads, each computed once over the window's rows (one groupby
    per figure) instead of once per candidate; customers with no rows get 0 (their `.get` default)."""

    spoke: pd.Series  # distinct events spoken or panelled at
    questions: pd.Series  # questions asked
    feedback: pd.Series  # distinct events with feedback given
    months: pd.Series  # distinct ~monthly periods (window / 12, counted back from as_of) with an attendance
    types: pd.Series  # distinct event types attended
    most_questions: float  # the most questions any customer asked
    types_offered: int  # distinct event types in the window

    @classmethod
    def of(cls, rows: pd.DataFrame, as_of: pd.Timestamp, window_days: int) -> _Participation:
        by = rows["customer_id"]
        speaking = rows.loc[rows["role"].isin(["speaker", "panelist"])]
        questions = rows.groupby(by)["questions_asked"].sum()
        period = ((as_of - rows["event_date"]).dt.days * 12 // window_days).clip(0, 11)
        return cls(
            spoke=speaking.groupby("customer_id")["event_id"].nunique(),
            questions=questions,
            feedback=rows.loc[rows["feedback_submitted"].astype(bool)].groupby("customer_id")["event_id"].nunique(),
            months=period.groupby(by).nunique(),
            types=rows.groupby(by)["event_type"].nunique(),
            most_questions=questions.max(),
            types_offered=rows["event_type"].nunique(),
        )

    def notable(self, customer_id: object) -> list[str]:
        """What makes the customer credible."""
        notes: list[str] = []
        spoke = int(self.spoke.get(customer_id, 0))
        if spoke:
            notes.append(f"spoke at {_plural(spoke, 'event')}")
        questions = int(self.questions.get(customer_id, 0))
        if questions:
            suffix = ", the most of any customer" if questions >= self.most_questions else ""
            notes.append(f"asked {_plural(questions, 'question')}{suffix}")
        feedback = int(self.feedback.get(customer_id, 0))
        if feedback:
            notes.append(f"gave feedback at {_plural(feedback, 'event')}")
        months = int(self.months.get(customer_id, 0))
        if months >= 6:
            notes.append(f"attended in {months} of the last 12 months")
        if self.types_offered > 1 and int(self.types.get(customer_id, 0)) == self.types_offered:
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
    # Champions are looked up for the candidates only, and each customer's from its own people alone.
    people = people_engagement(rows.loc[rows["customer_id"].isin(chosen["customer_id"])])
    crm = customers.set_index("customer_id") if customers is not None else None
    medians = {k: crm[k].median() for k in ("arr", "usage_health") if k in crm} if crm is not None else {}
    # One pass: every per-customer figure is one groupby over the window's rows, joined by customer id, so
    # no candidate scans the attendance, the contacts or the people again (65 s at 1M records before).
    participation = _Participation.of(rows, as_of, window)
    speakers = set(rows.loc[rows["role"].isin(["speaker", "panelist"]), "customer_id"])
    champions = _champions(contacts, people)
    records = []
    for row in chosen.to_dict(orient="records"):
        crm_row = crm.loc[row["customer_id"]] if crm is not None and row["customer_id"] in crm.index else None
        notable = participation.notable(row["customer_id"])
        types = _suggested(row, row["trend"], row["customer_id"] in speakers, crm_row, medians)
        name, email = champions.get(row["customer_id"], (None, None))
        records.append({
            "customer_id": row["customer_id"], "customer_name": row["customer_name"], "score": row["score"],
            "trend": row["trend"], "notable": notable, "suggested_types": types,
            "champion": f"{name} ({email})" if email else (name or ""),
            "champion_name": name, "champion_email": email,
            "notable_text": "; ".join(notable), "suggested_types_text": ", ".join(types),
        })
    return pd.DataFrame.from_records(records, columns=list(ADVOCACY_COLUMNS))


def _champions(contacts: pd.DataFrame, people: pd.DataFrame) -> dict[object, tuple[object, object]]:
    """customer_id -> (name, email) of its CRM champion (first by name), else of its most engaged attendee
    (`people` is sorted most engaged first within a customer)."""
    chosen: dict[object, tuple[object, object]] = {}
    for row in people.drop_duplicates("customer_id").itertuples(index=False):
        chosen[row.customer_id] = (row.name, row.attendee_email)
    champions = contacts.loc[contacts["is_champion"].fillna(False).astype(bool)]
    first = champions.sort_values("name", kind="stable").drop_duplicates("customer_id")
    for customer_id, name, email in zip(first["customer_id"], first["name"], first["email"], strict=True):
        chosen[customer_id] = (name, email)
    return chosen
