-- Program cohorts: the accounts opened under each program in each period, how they ended
-- (passed, failed — by the rule that failed them —, stopped by the risk desk, or still
-- running), how long that took, and how they traded. Outcomes come from the engine's
-- answers and the platform's stops ({stopped_accounts}); the first to end an account is
-- its status, as in every other endpoint. A soft breach (pause) is not a failure.
-- {programs}: the engine programs to count (empty: all).
WITH
outcomes AS (
    SELECT account,
        minIf(ts, type = 'breach' AND action = 'fail') AS failed_at,
        argMinIf(rule, ts, type = 'breach' AND action = 'fail') AS failed_rule,
        minIf(ts, type = 'passed') AS passed_at
    FROM risk_events FINAL
    WHERE tenant = {tenant:UInt64}
    GROUP BY account
),
trading AS (
    SELECT account,
        countIf(entry = 'out') AS trades,
        sumIf(volume, entry = 'out') AS lots,  -- lots traded: closed volume
        sum(profit + commission + swap + fee) AS net_profit
    FROM deals FINAL
    WHERE tenant = {tenant:UInt64}
      AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
    GROUP BY account
),
cohort AS (
    SELECT a.account AS account, a.program AS program,
        multiIf({period:String} = 'month', toStartOfMonth(a.opened_at),
                {period:String} = 'week', toMonday(a.opened_at),
                toDate(a.opened_at)) AS period_start,
        a.opened_at AS opened_at,
        o.failed_at AS failed_at, o.failed_rule AS failed_rule, o.passed_at AS passed_at,
        has({stopped_accounts:Array(String)}, a.account) AS is_stopped,
        NOT is_stopped AND o.failed_at > toDateTime64(0, 6, 'UTC') AS is_failed,
        NOT is_stopped AND NOT is_failed AND o.passed_at > toDateTime64(0, 6, 'UTC')
            AS is_passed,
        t.trades AS trades, t.lots AS lots, t.net_profit AS net_profit
    FROM accounts AS a FINAL
    LEFT JOIN outcomes AS o ON o.account = a.account
    LEFT JOIN trading AS t ON t.account = a.account
    WHERE a.tenant = {tenant:UInt64}
      AND a.opened_at >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
      AND a.opened_at < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
      AND (empty({programs:Array(String)}) OR has({programs:Array(String)}, a.program))
)
SELECT
    program,
    toString(period_start) AS period,
    count() AS accounts,
    countIf(is_passed) AS passed,
    countIf(is_failed) AS failed,
    countIf(is_stopped) AS stopped,
    accounts - passed - failed - stopped AS running,
    round(passed / accounts * 100, 2) AS pass_rate_pct,
    round(failed / accounts * 100, 2) AS fail_rate_pct,
    sumMapIf(map(failed_rule, toUInt64(1)), is_failed) AS failures_by_rule,
    round(avgIf(dateDiff('second', opened_at, passed_at), is_passed) / 86400, 2) AS avg_days_to_pass,
    round(medianIf(dateDiff('second', opened_at, passed_at), is_passed) / 86400, 2)
        AS median_days_to_pass,
    round(avgIf(dateDiff('second', opened_at, failed_at), is_failed) / 86400, 2) AS avg_days_to_fail,
    round(medianIf(dateDiff('second', opened_at, failed_at), is_failed) / 86400, 2)
        AS median_days_to_fail,
    sum(trades) AS trades,
    round(sum(lots), 2) AS lots,
    toFloat64(sum(net_profit)) AS net_profit
FROM cohort
GROUP BY program, period
ORDER BY program, period
