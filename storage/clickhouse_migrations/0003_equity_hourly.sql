-- Equity rolled up per account and hour as the samples arrive (a materialized view): each
-- hour's first, last, lowest and highest sample. A year of 1-minute samples is 525,600
-- rows but 8,760 hours, so a curve of a long range downsamples the hours instead of the
-- samples, and keeps the same extremes (the lowest of an hour's lowest is the lowest).
-- A duplicated sample changes no first/last/min/max.
CREATE TABLE IF NOT EXISTS equity_hourly (
    tenant UInt64,
    account String,
    hour DateTime('UTC'),
    first_t SimpleAggregateFunction(min, Int64),
    last_t SimpleAggregateFunction(max, Int64),
    first AggregateFunction(argMin, Tuple(Float64, Float64), Int64),
    last AggregateFunction(argMax, Tuple(Float64, Float64), Int64),
    low AggregateFunction(argMin, Tuple(Int64, Float64, Float64), Int128),
    high AggregateFunction(argMax, Tuple(Int64, Float64, Float64), Int128)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (tenant, account, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS equity_hourly_mv TO equity_hourly AS
SELECT tenant, account, toStartOfHour(ts) AS hour,
    min(toUnixTimestamp64Micro(ts)) AS first_t,
    max(toUnixTimestamp64Micro(ts)) AS last_t,
    argMinState((toFloat64(equity), toFloat64(balance)), toUnixTimestamp64Micro(ts)) AS first,
    argMaxState((toFloat64(equity), toFloat64(balance)), toUnixTimestamp64Micro(ts)) AS last,
    argMinState((toUnixTimestamp64Micro(ts), toFloat64(equity), toFloat64(balance)),
        bitShiftLeft(toInt128(equity * 100), 64) + toUnixTimestamp64Micro(ts)) AS low,
    argMaxState((toUnixTimestamp64Micro(ts), toFloat64(equity), toFloat64(balance)),
        bitShiftLeft(toInt128(equity * 100), 64) - toUnixTimestamp64Micro(ts)) AS high
FROM equity
GROUP BY tenant, account, hour;

-- The samples recorded before the view existed.
INSERT INTO equity_hourly
SELECT tenant, account, toStartOfHour(ts) AS hour,
    min(toUnixTimestamp64Micro(ts)),
    max(toUnixTimestamp64Micro(ts)),
    argMinState((toFloat64(equity), toFloat64(balance)), toUnixTimestamp64Micro(ts)),
    argMaxState((toFloat64(equity), toFloat64(balance)), toUnixTimestamp64Micro(ts)),
    argMinState((toUnixTimestamp64Micro(ts), toFloat64(equity), toFloat64(balance)),
        bitShiftLeft(toInt128(equity * 100), 64) + toUnixTimestamp64Micro(ts)),
    argMaxState((toUnixTimestamp64Micro(ts), toFloat64(equity), toFloat64(balance)),
        bitShiftLeft(toInt128(equity * 100), 64) - toUnixTimestamp64Micro(ts))
FROM equity
GROUP BY tenant, account, hour;
