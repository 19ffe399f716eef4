-- An account's equity over [since, until), downsampled without losing the extremes: the
-- range is cut into {buckets} equal time buckets and each keeps its first, lowest, highest
-- and last sample (M4 aggregation), so every peak and every trough of the full curve is
-- still in the answer (a drawdown stays visible at any zoom).
-- Duplicate rows (a redelivered metrics message) change no first/min/max/last: no FINAL.
-- Ties on equity go to the earliest sample, through one Int128 key (cents << 64 ± µs):
-- argMin over a tuple (e, t) compares generically and made this query ~4x slower
-- (240 ms vs 60 ms on a year of 1-minute samples). The bounds are a scalar subquery that
-- reads `ts` alone, not a CROSS JOIN with the samples.
WITH
    (SELECT (min(ts), max(ts)) FROM equity
     WHERE tenant = {tenant:UInt64} AND account = {account:String}
       AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
       AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')) AS bounds,
    toUnixTimestamp64Micro(bounds.1) AS t0,
    greatest(toUnixTimestamp64Micro(bounds.2) - t0, 1) AS span,
samples AS (
    SELECT toUnixTimestamp64Micro(ts) AS t, toFloat64(equity) AS e, toFloat64(balance) AS b,
        bitShiftLeft(toInt128(equity * 100), 64) + t AS low_key,
        bitShiftLeft(toInt128(equity * 100), 64) - t AS high_key
    FROM equity
    WHERE tenant = {tenant:UInt64} AND account = {account:String}
      AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
      AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
)
SELECT
    least(intDiv((t - t0) * {buckets:UInt32}, span), {buckets:UInt32} - 1) AS bucket,
    min(t) AS first_t, argMin(e, t) AS first_e, argMin(b, t) AS first_b,
    argMin(t, low_key) AS low_t, min(e) AS low_e, argMin(b, low_key) AS low_b,
    argMax(t, high_key) AS high_t, max(e) AS high_e, argMax(b, high_key) AS high_b,
    max(t) AS last_t, argMax(e, t) AS last_e, argMax(b, t) AS last_b
FROM samples
GROUP BY bucket
ORDER BY bucket
