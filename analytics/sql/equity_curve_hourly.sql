-- The equity curve of a long range (buckets of an hour or more) from the hourly rollup:
-- the hours fully inside [since, until) come from `equity_hourly`, the partial hours at
-- the two edges from the samples themselves, so the answer is exactly the samples' M4
-- (first, lowest, highest, last per bucket) with each hour wholly in one bucket.
WITH
    3600000000 AS hour_us,
    intDiv({since:Int64} + hour_us - 1, hour_us) * hour_us AS inner_from,
    intDiv({until:Int64}, hour_us) * hour_us AS inner_to,
hours AS (
    SELECT min(first_t) AS ft, max(last_t) AS lt, argMinMerge(first) AS f,
        argMaxMerge(last) AS l, argMinMerge(low) AS lo, argMaxMerge(high) AS hi
    FROM equity_hourly
    WHERE tenant = {tenant:UInt64} AND account = {account:String}
      AND hour >= toDateTime(intDiv(inner_from, 1000000), 'UTC')
      AND hour < toDateTime(intDiv(inner_to, 1000000), 'UTC')
    GROUP BY hour
    UNION ALL
    SELECT min(t), max(t), argMin((e, b), t), argMax((e, b), t), argMin((t, e, b), low_key),
        argMax((t, e, b), high_key)
    FROM (
        SELECT toUnixTimestamp64Micro(ts) AS t, toFloat64(equity) AS e, toFloat64(balance) AS b,
            bitShiftLeft(toInt128(equity * 100), 64) + t AS low_key,
            bitShiftLeft(toInt128(equity * 100), 64) - t AS high_key
        FROM equity
        WHERE tenant = {tenant:UInt64} AND account = {account:String}
          AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
          AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
          AND (ts < fromUnixTimestamp64Micro(inner_from, 'UTC')
               OR ts >= fromUnixTimestamp64Micro(inner_to, 'UTC'))
    )
    GROUP BY intDiv(t, hour_us)
),
bounds AS (SELECT min(ft) AS t0, greatest(max(lt) - min(ft), 1) AS span FROM hours)
SELECT
    least(intDiv((ft - t0) * {buckets:UInt32}, span), {buckets:UInt32} - 1) AS bucket,
    min(ft) AS first_t, argMin(f.1, ft) AS first_e, argMin(f.2, ft) AS first_b,
    argMin(lo.1, (lo.2, lo.1)) AS low_t, min(lo.2) AS low_e, argMin(lo.3, (lo.2, lo.1)) AS low_b,
    argMax(hi.1, (hi.2, -hi.1)) AS high_t, max(hi.2) AS high_e,
    argMax(hi.3, (hi.2, -hi.1)) AS high_b,
    max(lt) AS last_t, argMax(l.1, lt) AS last_e, argMax(l.2, lt) AS last_b
FROM hours CROSS JOIN bounds
GROUP BY bucket
ORDER BY bucket
