-- The live accounts closest to a breach: the latest recorded numbers of each account and
-- its distance to the higher of its two floors, as money and as a share of equity.
-- An account is live unless the engine's answers closed it (a fail breach, a pass) or the
-- platform did ({stopped_accounts}: stopped by the risk desk) — the same status as every
-- other endpoint, not the engine's reading in its last published numbers (which can lag an
-- answer, and never knows a stop). It is paused while its last pause breach has not been
-- followed by a `resumed` answer.
WITH answers AS (
    SELECT account,
        countIf(type = 'passed' OR (type = 'breach' AND action = 'fail')) > 0 AS closed,
        argMaxIf(type = 'breach', ts,
                 (type = 'breach' AND action = 'pause') OR type = 'resumed') AS paused
    FROM risk_events
    WHERE tenant = {tenant:UInt64}
    GROUP BY account
)
SELECT n.account AS account, n.ts AS ts,
    if(ifNull(a.paused, 0), 'paused', 'active') AS status,
    n.equity AS equity, n.balance AS balance, n.daily_floor AS daily_floor,
    n.max_loss_floor AS max_loss_floor,
    round(n.equity - greatest(ifNull(n.daily_floor, -inf), ifNull(n.max_loss_floor, -inf)), 2)
        AS headroom,
    round(headroom / nullIf(n.equity, 0) * 100, 2) AS headroom_pct
FROM (
    SELECT account,
        toUnixTimestamp64Micro(max(e.ts)) AS ts,
        toFloat64(argMax(e.equity, e.ts)) AS equity,
        toFloat64(argMax(e.balance, e.ts)) AS balance,
        -- argMax skips NULLs: through a tuple, the latest sample's floor even when NULL
        CAST(argMax(tuple(e.daily_floor), e.ts).1, 'Nullable(Float64)') AS daily_floor,
        CAST(argMax(tuple(e.max_loss_floor), e.ts).1, 'Nullable(Float64)') AS max_loss_floor
    FROM equity AS e
    WHERE e.tenant = {tenant:UInt64}
      AND e.ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
    GROUP BY account
) AS n
LEFT JOIN answers AS a ON a.account = n.account
WHERE NOT ifNull(a.closed, 0) AND NOT has({stopped_accounts:Array(String)}, n.account)
  AND isFinite(headroom)
ORDER BY headroom_pct ASC, account
LIMIT {limit:UInt32}
