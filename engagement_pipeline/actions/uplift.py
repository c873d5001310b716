"""Did invitations raise attendance? Invited vs held-out attendance, with confidence intervals (pure functions).

The holdout (holdout.py) is randomised, so the difference in attendance rate between the contacts drawn to be
invited and those held out is the causal effect of being invited (intention to treat: an invitation that
failed still counts as invited). Per event:
- absolute uplift p1 - p0 with Newcombe's hybrid score interval (his method 10: Wilson intervals of each rate
  combined), which keeps its coverage with small groups and rates near 0 or 1, where the Wald interval fails;
- relative uplift p1 / p0 - 1 with the log risk-ratio (Katz) interval, when both groups have an attendee.
Pooled over events: the Mantel-Haenszel risk difference (events as strata, so a large event with a high base
rate does not masquerade as uplift) with Sato's variance, which stays valid with many small strata.
Below MIN_PER_ARM contacts in either group the answer is "not enough data yet", not a number.

Advocacy is compared the same way, but it is not randomised (the best candidates are asked first), so its
difference is labelled observational: an association, not an effect.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

from engagement_pipeline.report.escape import md_text

Z95 = 1.959963984540054
MIN_PER_ARM = 10

UPLIFT_COLUMNS: tuple[str, ...] = ("event", "invited", "invited_attended", "held_out", "held_out_attended",
                                   "invited_rate", "held_out_rate", "uplift", "uplift_low", "uplift_high",
                                   "relative_uplift", "relative_low", "relative_high", "verdict")


def wilson(x: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion x / n."""
    if n == 0:
        return 0.0, 1.0
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_difference(x1: int, n1: int, x0: int, n0: int, z: float = Z95) -> tuple[float, float, float]:
    """p1 - p0 and Newcombe's hybrid score interval (1998, method 10)."""
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson(x1, n1, z)
    l0, u0 = wilson(x0, n0, z)
    d = p1 - p0
    return d, d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)


def relative_uplift(x1: int, n1: int, x0: int, n0: int, z: float = Z95) -> tuple[float, float, float] | None:
    """p1 / p0 - 1 with the log risk-ratio interval; None when either group has no attendee."""
    if x1 == 0 or x0 == 0:
        return None
    rr = (x1 / n1) / (x0 / n0)
    se = math.sqrt(1 / x1 - 1 / n1 + 1 / x0 - 1 / n0)
    return rr - 1, rr * math.exp(-z * se) - 1, rr * math.exp(z * se) - 1


def mantel_haenszel_difference(strata: Iterable[tuple[int, int, int, int]], z: float = Z95
                               ) -> tuple[float, float, float]:
    """Pooled risk difference over strata (x1, n1, x0, n0) with Sato's (1989) variance."""
    weight = numerator = p_sum = q_sum = 0.0
    for x1, n1, x0, n0 in strata:
        n = n1 + n0
        if n1 == 0 or n0 == 0:
            continue
        weight += n1 * n0 / n
        numerator += (x1 * n0 - x0 * n1) / n
        p_sum += (n1 * n1 * x0 - n0 * n0 * x1 + n1 * n0 * (n0 - n1) / 2) / (n * n)
        q_sum += (x1 * (n0 - x0) + x0 * (n1 - x1)) / (2 * n)
    if weight == 0:
        raise ValueError("no stratum has both groups")
    rd = numerator / weight
    se = math.sqrt(max(0.0, rd * p_sum + q_sum)) / weight
    return rd, rd - z * se, rd + z * se


@dataclass(frozen=True)
class Groups:
    x1: int  # attended, treated (invited / contacted)
    n1: int
    x0: int  # attended, control (held out / not contacted)
    n0: int

    @property
    def enough(self) -> bool:
        return self.n1 >= MIN_PER_ARM and self.n0 >= MIN_PER_ARM


def _row(label: str, g: Groups, pooled: Sequence[tuple[int, int, int, int]] | None = None) -> dict:
    row: dict = {"event": label, "invited": g.n1, "invited_attended": g.x1, "held_out": g.n0,
                 "held_out_attended": g.x0,
                 "invited_rate": round(g.x1 / g.n1, 3) if g.n1 else None,
                 "held_out_rate": round(g.x0 / g.n0, 3) if g.n0 else None}
    if not g.enough:
        row["verdict"] = (f"not enough data yet: needs at least {MIN_PER_ARM} contacts in each group "
                          f"(has {g.n1} invited, {g.n0} held out)")
        return row
    d, lo, hi = mantel_haenszel_difference(pooled) if pooled else newcombe_difference(g.x1, g.n1, g.x0, g.n0)
    row.update(uplift=round(d, 3), uplift_low=round(lo, 3), uplift_high=round(hi, 3))
    rel = relative_uplift(g.x1, g.n1, g.x0, g.n0)
    if rel:
        row.update(relative_uplift=round(rel[0], 3), relative_low=round(rel[1], 3), relative_high=round(rel[2], 3))
    row["verdict"] = ("raised attendance" if lo > 0 else "lowered attendance" if hi < 0
                      else "no clear difference (the interval includes 0)")
    return row


def attendance_uplift(outcomes: pd.DataFrame) -> pd.DataFrame:
    """Per event and pooled ('All events'), from one row per drawn contact: `event`, `arm` (invite | holdout),
    `attended` (bool), for events whose attendance has arrived."""
    if outcomes.empty:
        return pd.DataFrame(columns=list(UPLIFT_COLUMNS))
    rows, strata = [], []
    for event, group in outcomes.groupby("event", sort=True):
        invited = group.loc[group["arm"] == "invite", "attended"].astype(bool)
        held = group.loc[group["arm"] == "holdout", "attended"].astype(bool)
        g = Groups(int(invited.sum()), len(invited), int(held.sum()), len(held))
        rows.append(_row(str(event), g))
        if g.n1 and g.n0:
            strata.append((g.x1, g.n1, g.x0, g.n0))
    total = Groups(*(sum(s[i] for s in strata) for i in range(4)))
    rows.append(_row("All events", total, strata if strata else None))
    return pd.DataFrame.from_records(rows, columns=list(UPLIFT_COLUMNS))


def advocacy_association(contacted: pd.Series, eligible_not_contacted: pd.Series) -> dict:
    """Outcome rate (bool per customer) of contacted vs eligible-not-contacted customers, Newcombe interval.
    Observational: who was contacted was chosen, not drawn."""
    g = Groups(int(contacted.astype(bool).sum()), len(contacted), int(eligible_not_contacted.astype(bool).sum()),
               len(eligible_not_contacted))
    row = _row("Advocacy (observational, not causal)", g)
    return row


def metrics(table: pd.DataFrame) -> dict[str, float]:
    """Numeric metadata (so it plots over time): the pooled uplift and its interval, and the group sizes."""
    out: dict[str, float] = {}
    pooled = table.loc[table["event"] == "All events"]
    if pooled.empty:
        return out
    row = pooled.iloc[0]
    for key in ("invited", "held_out", "invited_rate", "held_out_rate", "uplift", "uplift_low", "uplift_high",
                "relative_uplift"):
        value = row.get(key)
        if value is not None and not (isinstance(value, float) and math.isnan(value)):
            out[f"attendance_{key}"] = float(value)
    out["events_measured"] = float(len(_events(table)))
    return out


def _events(table: pd.DataFrame) -> pd.DataFrame:
    return table.loc[(table["event"] != "All events") & ~table["event"].astype(str).str.startswith("Advocacy")]


def _pct(value: object) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{float(value):+.1%}"


def markdown_section(table: pd.DataFrame, advocacy: dict | None = None) -> str:
    """A short answer to "did invitations raise attendance?" with the number and its interval, or why not yet."""
    lines = ["## Did invitations raise attendance? (randomised holdout)", ""]
    pooled = table.loc[table["event"] == "All events"] if len(table) else table
    if pooled.empty:
        lines.append("No invited event has its attendance export yet: the uplift is measured once it arrives.")
    else:
        row = pooled.iloc[0]
        if pd.isna(row.get("uplift")):
            lines.append(f"Not enough data yet: {row['verdict'].split(': ', 1)[-1]}.")
        else:
            lines.append(f"Across {len(_events(table))} event(s), invited contacts attended at "
                         f"{row['invited_rate']:.1%} and held-out contacts at {row['held_out_rate']:.1%}: an uplift of "
                         f"**{_pct(row['uplift'])}** (95% interval {_pct(row['uplift_low'])} to "
                         f"{_pct(row['uplift_high'])}; {row['verdict']}).")
        lines += ["", "| Event | Invited | Attended | Held out | Attended | Uplift | 95% interval |",
                  "|---|---:|---:|---:|---:|---:|---|"]
        for r in table.itertuples():
            interval = (f"{_pct(r.uplift_low)} to {_pct(r.uplift_high)}" if not pd.isna(r.uplift)
                        else "not enough data yet")
            name = md_text(r.event)
            lines.append(f"| {name} | {r.invited} | {r.invited_attended} | {r.held_out} | {r.held_out_attended} "
                         f"| {_pct(r.uplift)} | {interval} |")
    if advocacy:
        lines += ["", f"Advocacy (observational, not causal): contacted customers {advocacy['verdict']}"
                      + (f", difference {_pct(advocacy.get('uplift'))} ({_pct(advocacy.get('uplift_low'))} to "
                         f"{_pct(advocacy.get('uplift_high'))})" if advocacy.get("uplift") is not None else "")
                      + "."]
    return "\n".join(lines) + "\n"
