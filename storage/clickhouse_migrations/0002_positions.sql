-- The open-position book: each position's state after the last deal the sink applied to
-- it (volume still open, volume-weighted open price). The risk desk's exposure reads this
-- instead of rebuilding every position from the whole deal history (10 M deals: seconds;
-- the book: milliseconds). `seq` is the last deal applied: the row with the highest wins,
-- so writing the same state again (a redelivered deal) changes nothing.
CREATE TABLE IF NOT EXISTS positions (
    tenant UInt64,
    account String,
    position String,
    symbol LowCardinality(String),
    side Enum8('buy' = 1, 'sell' = 2),
    lots Float64,
    open_price Float64,
    opened_at DateTime64(6, 'UTC'),
    updated_at DateTime64(6, 'UTC'),
    seq UInt64
) ENGINE = ReplacingMergeTree(seq)
ORDER BY (tenant, account, position);
