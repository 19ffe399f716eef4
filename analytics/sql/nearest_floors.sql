-- The live accounts closest to a breach: the latest recorded numbers of each account and
-- its distance to the higher of its two floors, as money and as a share of equity.
SELECT account, ts, status, equity, balance, daily_floor, max_loss_floor,
    round(equity - greatest(ifNull(daily_floor, -inf), ifNull(max_loss_floor, -inf)), 2)
        AS headroom,
    round(headroom / nullIf(equity, 0) * 100, 2) AS headroom_pct
FROM (
    SELECT account,
        toUnixTimestamp64Micro(max(e.ts)) AS ts,
        argMax(e.status, e.ts) AS status,
        toFloat64(argMax(e.equity, e.ts)) AS equity,
        toFloat64(argMax(e.balance, e.ts)) AS balance,
        -- argMax skips NULLs: through a tuple, the latest sample's floor even when NULL
        CAST(argMax(tuple(e.daily_floor), e.ts).1, 'Nullable(Float64)') AS daily_floor,
        CAST(argMax(tuple(e.max_loss_floor), e.ts).1, 'Nullable(Float64)') AS max_loss_floor
    FROM equity AS e
    WHERE e.tenant = {tenant:UInt64}
      AND e.ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
    GROUP BY account
)
WHERE status IN ('active', 'paused') AND isFinite(headroom)
ORDER BY headroom_pct ASC, account
LIMIT {limit:UInt32}
