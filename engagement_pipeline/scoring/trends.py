"""Rising / stable / declining: recent absence judged against the customer's own past and the population's.

A customer's attendance rate p (share of the events held for it that one of its people attended) gets a
population prior Beta(α0, β0), fitted each run by the method of moments on every customer's last-year rate
(the binomial noise of small denominators taken out). The customer's *baseline* — the `trend_baseline_days`
before a recent window — updates it to Beta(α0 + x0, β0 + n0 − x0). Under "nothing changed" the number of
events attended in the recent window is then beta-binomial, and its lower tail says how surprising the
recent absence is (the posterior predictive check of a Bayesian change test). Three looks, each an honest
one-sided test at `trend_alpha`:
- the last `trend_recent_days` (short: reacts within weeks),
- the last 2 × `trend_recent_days` (long: catches a slow fade),
- the streak of events missed since the last attendance (expected-but-missed: judged against the baseline
  before that attendance, so a one-event customer missing 3 events is not news but a regular missing 7 is).
Declining needs a surprise *and* a drop that matters (recent rate at most `trend_min_drop` of the expected)
*and* a past worth declining from (>= 1 attended event in the baseline). The prior is what lets small and new
customers be judged: 0 of 16 after 3 of 16 is surprising against any plausible rate, while a two-month-old
customer's empty month is not. A sequential look completes them: Page's CUSUM (`bernoulli_cusum`) over the
events of the last `trend_window_days`, for a drop of the rate to `trend_drop_ratio` of the baseline's (its
low `trend_baseline_quantile`), alarming at `trend_cusum_threshold`. A customer that attended
`trend_recovered_attended` of the last `trend_recovered_of` events held is not declining (`recovered`).
Rising is the upper tail of the whole trend window against the baseline before it, at `trend_rising_alpha`
(a rise is good news, not a warning).
'insufficient_data' when fewer than `trend_min_events` events were held for the customer in the long window
and its baseline together.
Judged on the ground-truth simulation (`make evaluate`, docs/methods.md), not on the demo.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd

from engagement_pipeline.codes import distinct_rows, first_of_key, pair_key
from engagement_pipeline.config import ScoringConfig
from engagement_pipeline.scoring.betabinom import beta_ppf, betabinom_cdf, betabinom_sf
from engagement_pipeline.scoring.composite import (
    DEFAULT_CONFIG,
    as_of_day,
    attended_rows,
    customer_frame,
    event_table,
    held_since,
)

TREND_COLUMNS: tuple[str, ...] = (
    "customer_id", "trend", "events_current", "events_previous", "held_current", "held_previous",
    "rate_ratio", "p_value", "events_missed", "last_attended", "evidence", "window_days", "expected_current",
    "usual_type", "usual_type_missed", "people", "people_lapsed", "people_lapsed_since",
)
MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH = 2.0, 50.0
YEAR = pd.Timedelta(days=365)


def population_prior(attended: pd.Series, held: pd.Series, min_held: int = 4) -> tuple[float, float]:
    """Beta(α0, β0) of the attendance rate across customers, by the method of moments.

    Between-customer variance = variance of the observed rates minus their mean binomial noise p(1−p)/n;
    strength α0 + β0 = μ(1−μ)/var − 1, clipped to [2, 50] so one odd population cannot make the prior
    either meaningless or overwhelming. Falls back to the pooled rate with strength 2 for < 5 customers.
    """
    use = held >= min_held
    rates = (attended[use] / held[use]).astype(float)
    pooled = float(attended.sum() / held.sum()) if held.sum() > 0 else 0.3
    if len(rates) < 5:
        mu, strength = min(max(pooled, 0.01), 0.99), MIN_PRIOR_STRENGTH
    else:
        mu = float(np.clip(rates.mean(), 0.01, 0.99))
        noise = float((rates * (1 - rates) / held[use]).mean())
        between = max(float(rates.var(ddof=1)) - noise, 1e-4)
        strength = float(np.clip(mu * (1 - mu) / between - 1, MIN_PRIOR_STRENGTH, MAX_PRIOR_STRENGTH))
    return mu * strength, (1 - mu) * strength


def absence_test(x1: pd.Series, n1: pd.Series, x0: pd.Series, n0: pd.Series, prior: tuple[float, float],
                 ) -> pd.DataFrame:
    """P(X <= x1) and P(X >= x1) for X ~ BetaBinomial(n1, α0 + x0, β0 + n0 − x0), and the expected x1.

    NaN where nothing was held in the recent window (no opportunity, no evidence).
    """
    a = prior[0] + x0.astype(float)
    b = prior[1] + (n0 - x0).astype(float)
    n = n1.astype(int)
    lower = pd.Series(_per_distinct(betabinom_cdf, x1, n, a, b), index=x1.index)
    upper = pd.Series(_per_distinct(betabinom_sf, x1 - 1, n, a, b), index=x1.index)
    expected = n1 * a / (a + b)
    has = n1 > 0
    return pd.DataFrame({"p_lower": lower.where(has), "p_upper": upper.where(has), "expected": expected})


def _per_distinct(fn: Callable[..., np.ndarray], *args: pd.Series) -> np.ndarray:
    """`fn(*args)` computed once per distinct row of the arguments and spread back: the same values.

    scipy's discrete cdf/sf are a Python loop per element (a sum of pmf terms each); customers share a few
    hundred distinct (count, events, prior) rows, so at 3,000 customers this was most of the trend test's time.
    Each distinct row is the first row holding it, passed with its original dtypes: elements are computed
    independently, so every value is bit for bit what `fn` gives on the whole arrays."""
    arrays = [np.asarray(arg) for arg in args]
    if len(arrays[0]) < 2:
        return np.asarray(fn(*arrays))
    codes = distinct_rows(arrays)
    _, first = np.unique(codes, return_index=True)  # first row of each group, in group-code order
    values = np.asarray(fn(*(np.asarray(arg)[first] for arg in args)))
    return values[codes]


def _attended_matrix(customers: pd.Index, events: pd.Series, att_customer: pd.Series, att_event: pd.Series
                     ) -> np.ndarray:
    """[customer, event] True where the customer attended that event (events: the scan's columns, in order).

    Positions by index lookup instead of a (customer, event) set test per cell: 3,000 customers x a year of
    events was a million Python lookups per run."""
    out = np.zeros((len(customers), len(events)), dtype=bool)
    columns = pd.Index(events)
    if not columns.is_unique or not customers.is_unique:  # a repeated event id: the cell-by-cell rule
        hit = set(zip(att_customer, att_event, strict=True))
        return np.array([[(c, e) in hit for e in events] for c in customers], dtype=bool).reshape(out.shape)
    rows, cols = customers.get_indexer(att_customer), columns.get_indexer(att_event)
    both = (rows >= 0) & (cols >= 0)
    out[rows[both], cols[both]] = True
    return out


def _count(days: pd.Series, owner: np.ndarray, index: pd.Index, lo: pd.Series | pd.Timestamp,
           hi: pd.Series | pd.Timestamp) -> pd.Series:
    """Per customer, how many of its `days` fall in (lo, hi] (lo/hi per customer or shared); `owner` is each
    day's customer as a position in `index` (-1: not a customer here), so counting is one bincount (a dozen
    counts per run grouped ~50k rows by customer id before)."""
    day = days.to_numpy()
    lo_s = lo.reindex(index).to_numpy()[owner] if isinstance(lo, pd.Series) else lo
    hi_s = hi.reindex(index).to_numpy()[owner] if isinstance(hi, pd.Series) else hi
    inside = (day > lo_s) & (day <= hi_s) & (owner >= 0)
    return pd.Series(np.bincount(owner[inside], minlength=len(index)), index=index, dtype="int64")


def _held(table: pd.DataFrame, since: pd.Series, lo: pd.Series | pd.Timestamp,
          hi: pd.Series | pd.Timestamp) -> pd.Series:
    """Events held for each customer in (lo, hi] and on or after its since: two binary searches each."""
    days = np.sort(table["event_day"].to_numpy(dtype="datetime64[ns]"))
    lo_s = lo if isinstance(lo, pd.Series) else pd.Series(lo, index=since.index)
    hi_s = hi if isinstance(hi, pd.Series) else pd.Series(hi, index=since.index)
    floor = pd.concat([since - pd.Timedelta(days=1), lo_s], axis=1).max(axis=1)
    upper = np.searchsorted(days, hi_s.to_numpy(dtype="datetime64[ns]"), side="right")
    lower = np.searchsorted(days, floor.to_numpy(dtype="datetime64[ns]"), side="right")
    return pd.Series(np.clip(upper - lower, 0, None), index=since.index, dtype="int64")


def _people_seen(owner: np.ndarray, person: np.ndarray, days: pd.Series, index: pd.Index, lo: pd.Timestamp,
                 hi: pd.Timestamp) -> pd.Series:
    """Per customer, distinct people who attended in (lo, hi]; `owner`: each row's customer as a position in
    `index`, `person`: its person's code (-1: no key, not counted)."""
    day = days.to_numpy()
    inside = (day > lo) & (day <= hi) & (owner >= 0) & (person >= 0)
    width = int(person.max()) + 1 if len(person) else 1
    pairs = np.unique(owner[inside] * width + person[inside])  # distinct (customer, person)
    return pd.Series(np.bincount(pairs // width, minlength=len(index)), index=index, dtype="int64")


def bernoulli_cusum(attended: np.ndarray, held: np.ndarray, p0: np.ndarray, ratio: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Page's CUSUM for a drop of the attendance rate from p0 to ratio·p0, over events in date order.

    `attended` and `held` are customers × events booleans. Each event held adds the log-likelihood ratio
    log((1−p1)/(1−p0)) when missed and log(p1/p0) when attended; the sum is floored at 0. Returns the final
    statistic and the index of the event where the current run above 0 began (−1 if none): the evidence
    segment "since <date>". A regular (p0 = 0.8) trips h = 3 after 3 misses, an occasional one (p0 = 0.2)
    needs about 20: the customer's own rate sets how much absence is news.
    """
    p0 = np.clip(p0, 0.02, 0.98)
    p1 = np.clip(p0 * ratio, 0.005, None)
    miss, hit = np.log((1 - p1) / (1 - p0)), np.log(p1 / p0)
    stat = np.zeros(len(p0))
    begin = np.full(len(p0), -1)
    for j in range(attended.shape[1]):
        step = np.where(held[:, j], np.where(attended[:, j], hit, miss), 0.0)
        new = np.maximum(0.0, stat + step)
        begin = np.where((stat == 0) & (new > 0), j, begin)
        begin = np.where(new == 0, -1, begin)
        stat = new
    return stat, begin


def recovered(attended: np.ndarray, held: np.ndarray, at_least: int, of: int) -> np.ndarray:
    """Per customer (rows of the customers × events booleans, in date order): attended at least `at_least` of
    the last `of` events held for it. A decline flag says "comes less now"; a customer that came to two of
    the last three events is not that, whatever a window or the CUSUM still remembers (a regular that missed
    five by chance stayed flagged for weeks after it was back). `at_least` = 0 turns the check off."""
    if at_least <= 0:
        return np.zeros(held.shape[0], dtype=bool)
    from_end = np.cumsum(held[:, ::-1], axis=1)[:, ::-1]  # held events from this one to the last
    last = held & (from_end <= of)
    return ((attended & last).sum(axis=1) >= at_least) & (last.sum(axis=1) >= of)


def engagement_trends(attendance: pd.DataFrame, events: pd.DataFrame, customers: pd.DataFrame,
                      as_of: date | pd.Timestamp | str, config: ScoringConfig = DEFAULT_CONFIG) -> pd.DataFrame:
    """One row per CRM customer: trend, the evidence window's counts, the test's p-value and plain facts."""
    day = as_of_day(as_of)
    cust = customer_frame(customers)
    idx = cust.index
    since = cust["since"]
    table = event_table(events, attendance, day)
    attended = attended_rows(attendance, table, cust, ("attendee_key", "attendee_email"))  # three views below
    # The rows' customer, event and person as integer codes, found once: the distinct (customer, event) and
    # (customer, event, person) rows and the people per customer below group numbers, not text, each time.
    c_code = idx.get_indexer(attended["customer_id"]).astype(np.int64)  # every attended row's customer is in idx
    e_code = pd.factorize(attended["event_id"])[0].astype(np.int64)
    person_column = "attendee_key" if "attendee_key" in attended else "attendee_email"
    k_code = (pd.factorize(attended[person_column])[0].astype(np.int64) if person_column in attended
              else np.full(len(attended), -1, dtype=np.int64))  # -1: no key
    pair = pair_key(c_code, e_code)
    distinct = attended.loc[first_of_key(pair)]  # drop_duplicates(["customer_id", "event_id"])
    owner, att_day = idx.get_indexer(distinct["customer_id"]), distinct["event_day"]
    short = pd.Timedelta(days=config.trend_recent_days)
    base = pd.Timedelta(days=config.trend_baseline_days)

    year = day - pd.Timedelta(days=365)
    prior = population_prior(_count(att_day, owner, idx, year, day), _held(table, since, year, day))

    # drop_duplicates(["customer_id", "event_id", "attendee_key"]) (without person keys, the distinct rows)
    kept = first_of_key(pair_key(pair, k_code) if "attendee_key" in attendance else pair)
    persons = attended.loc[kept]
    # Person codes only tell people apart (`_people_seen` counts distinct ones): the rows' own codes serve.
    p_owner, p_day, p_key = c_code[kept], persons["event_day"], k_code[kept]
    people_year = _people_seen(p_owner, p_key, p_day, idx, year, day)
    people_prior = population_prior(_count(p_day, p_owner, idx, year, day),
                                    _held(table, since, year, day) * people_year.clip(lower=1))

    looks, people_looks, seasons = {}, {}, {}
    for name, span in (("short", short), ("long", 2 * short)):
        start = day - span
        n1, x1 = _held(table, since, start, day), _count(att_day, owner, idx, start, day)
        n0, x0 = _held(table, since, start - base, start), _count(att_day, owner, idx, start - base, start)
        looks[name] = (x1, n1, x0, n0, span.days, absence_test(x1, n1, x0, n0, prior))
        # The same weeks a year earlier: a customer that came as little then (a summer lull) is not news now.
        yx1, yn1 = _count(att_day, owner, idx, start - YEAR, day - YEAR), _held(table, since, start - YEAR, day - YEAR)
        # Only a lull of the same kind counts: then too at most `trend_min_drop` of its baseline rate; and now is
        # judged against those weeks alone (a flat Beta(1, 1) prior: its own season, not the population's rate).
        lull = yx1 <= config.trend_min_drop * yn1 * (x0 / n0.where(n0 > 0))
        seasons[name] = (yn1 >= config.trend_min_events) & lull & (
            absence_test(x1, n1, yx1, yn1, (1.0, 1.0))["p_lower"] >= config.trend_season_alpha)
        # Account level: person-attendances of the people seen in the baseline, per event held. A customer
        # whose three regulars thin out to one occasional visitor still "attended" most events, but its
        # person-slots fall from 2 of 3 to 1 of 3 an event: the fade shows weeks before the events are missed.
        people = _people_seen(p_owner, p_key, p_day, idx, start - base, start)
        px1 = _count(p_day, p_owner, idx, start, day).clip(upper=n1 * people)
        px0 = _count(p_day, p_owner, idx, start - base, start)
        people_looks[name] = (people >= 2, px1, absence_test(px1, n1 * people, px0, n0 * people, people_prior))

    # distinct.groupby("customer_id")["event_day"].max().reindex(idx), on the rows' customer positions
    last = pd.Series(att_day.to_numpy()).groupby(owner).max().reindex(pd.RangeIndex(len(idx))).set_axis(idx)
    after = pd.concat([since - pd.Timedelta(days=1), last], axis=1).max(axis=1)
    missed = _held(table, since, after, pd.Series(day, index=idx))
    x0s = _count(att_day, owner, idx, last - base, last).where(last.notna(), 0)
    n0s = _held(table, since, (last - base).fillna(day), last.fillna(day - pd.Timedelta(days=36500)))
    # The streak starts right after an attendance, so the window that ends on it always ends on a success:
    # that one event is left out of its baseline (a quiet customer's lucky cluster of 4 in 14 read as a rate
    # to decline from, and its long silence after it as a decline).
    x0s, n0s = (x0s - 1).clip(lower=0), (n0s - 1).clip(lower=0)
    zero = pd.Series(0, index=idx)
    streak_days = (day - last).dt.days.fillna(0).astype(int)
    looks["streak"] = (zero, missed, x0s, n0s, streak_days, absence_test(zero, missed, x0s, n0s, prior))

    # Sequential look: CUSUM over the events of the trend window, against the baseline before it.
    scan_start = day - pd.Timedelta(days=config.trend_window_days)
    scan = table.loc[table["event_day"] > scan_start].sort_values(["event_day", "event_id"])
    n0c = _held(table, since, scan_start - base, scan_start)
    x0c = _count(att_day, owner, idx, scan_start - base, scan_start)
    # The lowest plausible past rate (a low quantile of the baseline posterior), not its mean: a customer
    # seen at 4 events is not held to a rate it may never have had.
    p0 = beta_ppf(config.trend_baseline_quantile, prior[0] + x0c, prior[1] + n0c - x0c)
    held_m = scan["event_day"].to_numpy()[None, :] >= since.to_numpy()[:, None]
    att_m = _attended_matrix(idx, scan["event_id"], distinct["customer_id"], distinct["event_id"])
    stat, begin = bernoulli_cusum(att_m, held_m, p0, config.trend_drop_ratio)
    cols = np.arange(held_m.shape[1])[None, :]
    segment = (cols >= begin[:, None]) & (begin[:, None] >= 0)
    n1c = pd.Series((held_m & segment).sum(axis=1), index=idx)
    x1c = pd.Series((att_m & held_m & segment).sum(axis=1), index=idx)
    ages = (day - scan["event_day"]).dt.days.to_numpy(dtype="int64")
    seg_days = pd.Series(np.where(begin >= 0, ages[begin] if len(ages) else 0, 0), index=idx)
    looks["cusum"] = (x1c, n1c, x0c, n0c, seg_days, absence_test(x1c, n1c, x0c, n0c, prior))
    alarm = pd.Series(stat >= config.trend_cusum_threshold, index=idx) & (x0c >= 1) & (
        n0c >= config.trend_min_events) & (n1c >= config.trend_min_events)

    alpha, drop = config.trend_alpha, config.trend_min_drop
    p_best = pd.Series(np.inf, index=idx)  # the most surprising look that also shows a real drop
    chosen = pd.Series("long", index=idx, dtype=object)
    enough = config.trend_min_events
    for name, (x1, n1, x0, n0, _, test) in looks.items():
        effect = (x1 <= drop * test["expected"]) & (x0 >= 1)
        p = test["p_lower"].where(effect & (n1 >= enough) & (n0 >= enough), np.inf)
        better = p < p_best
        p_best, chosen = p_best.where(~better, p), chosen.where(~better, name)
    if config.trend_people_alpha > 0:
        for name, (several, px1, test) in people_looks.items():
            x1, n1, x0, n0 = looks[name][:4]
            fewer = (px1 <= drop * test["expected"]) & (x1 < looks[name][5]["expected"]) & (x0 >= 1) & (
                n1 >= enough) & (n0 >= enough) & several
            p = (test["p_lower"] * alpha / config.trend_people_alpha).where(fewer, np.inf)
            better = p < p_best
            p_best, chosen = p_best.where(~better, p), chosen.where(~better, f"people_{name}")
    tested = p_best < alpha
    seasonal = seasons["short"] | seasons["long"]
    tested, alarm = tested & ~seasonal, alarm & ~seasonal
    chosen = chosen.where(tested | ~alarm, "cusum")
    back = recovered(att_m, held_m, config.trend_recovered_attended, config.trend_recovered_of)
    back = pd.Series(back, index=idx)
    tested, alarm = tested & ~back, alarm & ~back
    declining = tested | alarm
    chosen = chosen.where(declining, "long")

    # Rising: the whole trend window against the baseline before it (x0c of n0c), upper tail.
    n1t = _held(table, since, scan_start, day)
    x1t = _count(att_day, owner, idx, scan_start, day)
    up = absence_test(x1t, n1t, x0c, n0c, prior)
    rising = (up["p_upper"] < config.trend_rising_alpha) & (x1t >= 2) & (x1t >= 1.5 * up["expected"]) & ~declining
    ltest = looks["long"][5].assign(p_upper=up["p_upper"])
    ln1, ln0 = looks["long"][1], looks["long"][3]
    insufficient = (ln1 + ln0) < config.trend_min_events
    trend = pd.Series(np.select([insufficient, declining, rising], ["insufficient_data", "declining", "rising"],
                                default="stable"), index=idx)

    def pick(values: dict[str, pd.Series], people: dict[str, pd.Series] | None = None) -> pd.Series:
        """Per customer, the value from the look that gave its evidence (a people look reports the events
        of its window, and its own p-value when `people` is given)."""
        out = values["long"]
        for name in ("short", "streak", "cusum"):
            out = values[name].where(chosen == name, out)
        for name in ("short", "long"):
            use = people[name] if people is not None else values[name]
            out = use.where(chosen == f"people_{name}", out)
        return out

    x1, n1, x0, n0 = (pick({n: look[i] for n, look in looks.items()}) for i in range(4))
    window = pick({n: pd.Series(look[4], index=idx) for n, look in looks.items()})
    expected = pick({n: look[5]["expected"] for n, look in looks.items()})
    p_value = pick({n: look[5]["p_lower"] for n, look in looks.items()},
                   {n: look[2]["p_lower"] for n, look in people_looks.items()}).where(
        trend == "declining", ltest["p_upper"].where(trend == "rising", ltest["p_lower"]))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = (x1 / expected).where(expected > 0)

    usual, usual_missed = _usual_type_missed(distinct, table, cust, last, day, base)
    people, lapsed, lapsed_since = _people_lapsed(attended, cust, day, short, c_code, k_code)
    out = pd.DataFrame({
        "customer_id": idx, "trend": trend, "events_current": x1.astype(int), "events_previous": x0.astype(int),
        "held_current": n1.astype(int), "held_previous": n0.astype(int), "rate_ratio": ratio,
        "p_value": p_value, "events_missed": missed.astype(int), "last_attended": last,
        "evidence": chosen, "window_days": window.astype(int),
        "expected_current": expected.round(2), "usual_type": usual, "usual_type_missed": usual_missed,
        "people": people, "people_lapsed": lapsed, "people_lapsed_since": lapsed_since,
    }, index=idx)
    return out[list(TREND_COLUMNS)].reset_index(drop=True)


def _usual_type_missed(distinct: pd.DataFrame, table: pd.DataFrame, cust: pd.DataFrame, last: pd.Series,
                       day: pd.Timestamp, base: pd.Timedelta) -> tuple[pd.Series, pd.Series]:
    """The event type the customer attended most in its baseline, and how many of it were held since its
    last attendance ('missed the last 5 webinars it would usually attend')."""
    idx = cust.index
    recent = distinct.loc[distinct["event_day"] > day - base - pd.Timedelta(days=365)]
    counts = recent.groupby(["customer_id", "event_type"]).size()
    usual = (counts.reset_index(name="n").sort_values(["customer_id", "n", "event_type"],
                                                      ascending=[True, False, True])
             .drop_duplicates("customer_id").set_index("customer_id")["event_type"].reindex(idx))
    missed = pd.Series(0, index=idx)
    for event_type, group in usual.dropna().groupby(usual.dropna()):
        days = table.loc[table["event_type"] == event_type, "event_day"]
        after = pd.concat([cust.loc[group.index, "since"] - pd.Timedelta(days=1), last.loc[group.index]],
                          axis=1).max(axis=1)
        missed.loc[group.index] = held_since(days, after + pd.Timedelta(days=1)).to_numpy()
    return usual, missed


def _people_lapsed(rows: pd.DataFrame, cust: pd.DataFrame, day: pd.Timestamp, recent: pd.Timedelta,
                   owner: np.ndarray, person: np.ndarray) -> tuple[pd.Series, pd.Series, pd.Series]:
    """People who attended in the last year, how many of them not in the recent window, and the last day
    any of those lapsed people attended ('2 of its 3 people have not attended since June'); `rows` are the
    customers' attended rows (`attended_rows`), computed once by the caller, `owner` and `person` their
    customer's position in `cust` and their person's code (-1: no person key, not counted)."""
    idx = cust.index
    days = rows["event_day"]
    keep = ((days > day - pd.Timedelta(days=365)).to_numpy() & (person >= 0))
    positions = pd.RangeIndex(len(idx))
    last = pd.DataFrame({"owner": owner[keep], "person": person[keep], "event_day": days.to_numpy()[keep]}
                        ).groupby(["owner", "person"])["event_day"].max().reset_index()
    people = last.groupby("owner").size().reindex(positions, fill_value=0).set_axis(idx)
    gone = last.loc[last["event_day"] <= day - recent]
    lapsed = gone.groupby("owner").size().reindex(positions, fill_value=0).set_axis(idx)
    since = gone.groupby("owner")["event_day"].max().reindex(positions).set_axis(idx)
    return people, lapsed, since

