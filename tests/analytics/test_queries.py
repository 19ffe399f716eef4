"""The equity curve's downsampling: every extreme survives, on the samples and on the
hourly rollup, and a range cut mid-hour takes exactly its samples."""

from __future__ import annotations

import numpy as np

from analytics.queries import HOUR_US, equity_curve
from storage.clickhouse import EmbeddedStore

START = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z
MINUTE = 60_000_000


def _samples(history: EmbeddedStore, count: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(5)
    ts = START + np.arange(count, dtype=np.int64) * step
    equity = np.round(100_000 + np.cumsum(rng.normal(0, 40, count)), 2)
    equity[count // 3] -= 7_000.0  # a one-sample crash: must stay visible
    equity[2 * count // 3] += 5_000.0  # and a one-sample spike
    history.insert("equity", {
        "tenant": [1] * count, "account": ["A1"] * count, "ts": ts.tolist(),
        "status": ["active"] * count, "balance": [100_000.0] * count,
        "equity": equity.tolist(), "daily_floor": [95_000.0] * count,
        "max_loss_floor": [90_000.0] * count, "open_positions": [1] * count})
    return ts, equity


def _check(curve: list[dict], ts: np.ndarray, equity: np.ndarray, points: int) -> None:
    assert 0 < len(curve) <= points
    stamps = [p["ts"] for p in curve]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    index = {int(t): i for i, t in enumerate(ts)}
    for point in curve:  # every point is a real sample
        assert point["equity"] == equity[index[point["ts"]]]
    low, high = int(np.argmin(equity)), int(np.argmax(equity))
    assert {"ts": int(ts[low]), "equity": equity[low], "balance": 100_000} in curve
    assert {"ts": int(ts[high]), "equity": equity[high], "balance": 100_000} in curve
    assert curve[0]["ts"] == ts[0] and curve[-1]["ts"] == ts[-1]


def test_a_year_downsampled_from_the_hourly_rollup_keeps_every_extreme(history) -> None:
    ts, equity = _samples(history, 52_560, 10 * MINUTE)  # a year of 10-minute samples
    curve = equity_curve(history, 1, "A1", points=400)
    _check(curve, ts, equity, 400)


def test_a_range_cut_mid_hour_takes_exactly_its_samples(history) -> None:
    ts, equity = _samples(history, 52_560, 10 * MINUTE)
    since = int(ts[1000]) + 25 * MINUTE  # mid-hour at both ends
    until = int(ts[40_000]) + 35 * MINUTE
    inside = (ts >= since) & (ts < until)
    curve = equity_curve(history, 1, "A1", points=200, since=since, until=until)
    assert (until - since) // (200 // 4) >= HOUR_US  # buckets of hours: the rollup's path
    _check(curve, ts[inside], equity[inside], 200)


def test_a_short_range_downsamples_the_samples(history) -> None:
    ts, equity = _samples(history, 600, MINUTE)  # ten hours of 1-minute samples
    curve = equity_curve(history, 1, "A1", points=100)
    _check(curve, ts, equity, 100)
    assert equity_curve(history, 1, "nobody", points=100) == []


def test_exposure_and_cohorts_give_each_account_the_status_its_answers_and_stops_give(
        history) -> None:
    """Live accounts are those no answer closed (a fail breach, a pass) and the platform
    did not stop: the engine's status in its last numbers is not what decides (it never
    knows a stop, and may lag an answer). Paused until a `resumed` answer."""
    from analytics.queries import cohorts, exposure

    names = ["LIVE", "FAILED", "STOPPED", "PAUSED", "RESUMED"]
    count = len(names)
    history.insert("accounts", {
        "tenant": [1] * count, "account": names, "program": ["prog"] * count,
        "opened_at": [START] * count, "initial_balance": [100_000.0] * count,
        "currency": ["USD"] * count, "seq": list(range(count)),
        "event_id": [f"open:{n}" for n in names]})
    # Every account's last numbers say "active" (the engine's reading), 1,000 to 5,000
    # above its floor.
    history.insert("equity", {
        "tenant": [1] * count, "account": names, "ts": [START + MINUTE] * count,
        "status": ["active"] * count, "balance": [100_000.0] * count,
        "equity": [91_000.0 + 1_000 * i for i in range(count)],
        "daily_floor": [float("nan")] * count, "max_loss_floor": [90_000.0] * count,
        "open_positions": [0] * count})
    answers = [("FAILED", "breach", "max_loss", "fail"), ("PAUSED", "breach", "daily_loss",
                                                          "pause"),
               ("RESUMED", "breach", "daily_loss", "pause"), ("RESUMED", "resumed", "", "")]
    history.insert("risk_events", {
        "tenant": [1] * len(answers), "account": [a[0] for a in answers],
        "ts": [START + (i + 1) * MINUTE for i in range(len(answers))],
        "type": [a[1] for a in answers], "rule": [a[2] for a in answers],
        "action": [a[3] for a in answers], "equity": [float("nan")] * len(answers),
        "floor": [float("nan")] * len(answers), "body": ["{}"] * len(answers),
        "event_id": [f"0:{i}:0" for i in range(len(answers))]})

    nearest = exposure(history, 1, top=10, stopped=["STOPPED"])["nearest_floors"]
    assert [(n["account"], n["status"]) for n in nearest] == [
        ("LIVE", "active"), ("PAUSED", "paused"), ("RESUMED", "active")]
    [cohort] = cohorts(history, 1, "month", ["prog"], stopped=["STOPPED"])
    assert (cohort["accounts"], cohort["failed"], cohort["stopped"], cohort["passed"],
            cohort["running"]) == (5, 1, 1, 0, 3)
    assert cohorts(history, 1, "month", ["another"]) == []
    assert [c["program"] for c in cohorts(history, 1, "month")] == ["prog"]
