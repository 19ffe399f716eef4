-- An account's equity over [since, until), downsampled without losing the extremes: the
-- range is cut into {buckets} equal time buckets and each keeps its first, lowest, highest
-- and last sample (M4 aggregation), so every peak and every trough of the full curve is
-- still in the answer (a drawdown stays visible at any zoom).
-- Duplicate rows (a redelivered metrics message) change no first/min/max/last: no FINAL.
WITH samples AS (
    SELECT toUnixTimestamp64Micro(ts) AS t, toFloat64(equity) AS e, toFloat64(balance) AS b
    FROM equity
    WHERE tenant = {tenant:UInt64} AND account = {account:String}
      AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
      AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
),
bounds AS (SELECT min(t) AS t0, greatest(max(t) - min(t), 1) AS span FROM samples)
SELECT
    least(intDiv((t - t0) * {buckets:UInt32}, span), {buckets:UInt32} - 1) AS bucket,
    min(t) AS first_t, argMin(e, t) AS first_e, argMin(b, t) AS first_b,
    argMin(t, (e, t)) AS low_t, min(e) AS low_e, argMin(b, (e, t)) AS low_b,
    argMax(t, (e, -t)) AS high_t, max(e) AS high_e, argMax(b, (e, -t)) AS high_b,
    max(t) AS last_t, argMax(e, t) AS last_e, argMax(b, t) AS last_b
FROM samples CROSS JOIN bounds
GROUP BY bucket
ORDER BY bucket
