-- The equity curve of a long range (buckets of an hour or more) from the hourly rollup:
-- the hours fully inside [since, until) come from `equity_hourly`, the partial hours at
-- the two edges from the samples themselves (two primary-key ranges: an OR would scan
-- every sample), so the extremes are exactly the samples'; each hour falls wholly in one
-- bucket of [t0, t0 + span), the range's first and last sample times.
-- Per bucket: first and last (time, equity, balance); low (cents, time, equity, balance)
-- and high (cents, -time, equity, balance).
WITH
    3600000000 AS hour_us,
    intDiv({since:Int64} + hour_us - 1, hour_us) * hour_us AS inner_from,
    intDiv({until:Int64}, hour_us) * hour_us AS inner_to,
parts AS (
    SELECT toInt64(toUInt32(hour)) * 1000000 AS h, first, last, low, high
    FROM equity_hourly
    WHERE tenant = {tenant:UInt64} AND account = {account:String}
      AND hour >= toDateTime(intDiv(inner_from, 1000000), 'UTC')
      AND hour < toDateTime(least(intDiv(inner_to, 1000000), 4294967295), 'UTC')
    UNION ALL
    SELECT t, (t, e, b), (t, e, b), (c, t, e, b), (c, -t, e, b)
    FROM (
        SELECT toUnixTimestamp64Micro(ts) AS t, toFloat64(equity) AS e, toFloat64(balance) AS b,
            toInt64(equity * 100) AS c
        FROM equity
        WHERE tenant = {tenant:UInt64} AND account = {account:String}
          AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
          AND ts < fromUnixTimestamp64Micro(least({until:Int64}, inner_from), 'UTC')
        UNION ALL
        SELECT toUnixTimestamp64Micro(ts) AS t, toFloat64(equity) AS e, toFloat64(balance) AS b,
            toInt64(equity * 100) AS c
        FROM equity
        WHERE tenant = {tenant:UInt64} AND account = {account:String}
          AND ts >= fromUnixTimestamp64Micro(greatest({since:Int64}, inner_to), 'UTC')
          AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
          AND inner_from < inner_to
    )
)
SELECT
    least(greatest(intDiv((h - {t0:Int64}) * {buckets:UInt32}, {span:Int64}), 0),
          {buckets:UInt32} - 1) AS bucket,
    min(first) AS first, max(last) AS last, min(low) AS low, max(high) AS high
FROM parts
GROUP BY bucket
ORDER BY bucket
