-- The history store: what the stream recorded, for analytics and what-if replays.
--
-- Every table is ordered by tenant, account and time and partitioned by month, so one
-- account's year is a handful of contiguous ranges. Tables fed by the sink are
-- ReplacingMergeTree keyed on the event's id: a message delivered twice is one row once
-- merged, and the queries that sum money read them with FINAL (counts of a key are
-- already exact). Money is Decimal(18, 2): exact cents, as in the engine.
-- `tenant` is the platform's tenant id (0 for a store of imported reports); `seq` is the
-- event's place in its feed (the producer's numbering; the line number for an import), so
-- a replay applies the recorded events in the order the engine first saw them.

CREATE TABLE IF NOT EXISTS accounts (
    tenant UInt64,
    account String,
    program LowCardinality(String),
    opened_at DateTime64(6, 'UTC'),
    initial_balance Decimal(18, 2),
    currency LowCardinality(String),
    seq UInt64,
    event_id String
) ENGINE = ReplacingMergeTree(seq)
ORDER BY (tenant, account);

-- Every version of a program document, at its place in the feed: an account keeps the
-- rules in force when it opened (CONTRACTS.md), so a replay needs them all.
CREATE TABLE IF NOT EXISTS programs (
    program String,
    document String,
    seq UInt64,
    event_id String
) ENGINE = ReplacingMergeTree
ORDER BY (program, seq);

CREATE TABLE IF NOT EXISTS symbols (
    symbol String,
    contract_size Float64,
    profit_currency LowCardinality(String),
    base_currency LowCardinality(String),
    seq UInt64,
    event_id String
) ENGINE = ReplacingMergeTree(seq)
ORDER BY symbol;

CREATE TABLE IF NOT EXISTS deals (
    tenant UInt64,
    account String,
    ts DateTime64(6, 'UTC'),
    deal String,
    position String,
    symbol LowCardinality(String),
    side Enum8('buy' = 1, 'sell' = 2),
    entry Enum8('in' = 1, 'out' = 2),
    volume Float64,
    price Float64,
    profit Decimal(18, 2),
    commission Decimal(18, 2),
    swap Decimal(18, 2),
    fee Decimal(18, 2),
    has_profit Bool,
    seq UInt64,
    event_id String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, account, ts, event_id);

CREATE TABLE IF NOT EXISTS balance_operations (
    tenant UInt64,
    account String,
    ts DateTime64(6, 'UTC'),
    amount Decimal(18, 2),
    kind LowCardinality(String),
    seq UInt64,
    event_id String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, account, ts, event_id);

-- Account events other than deals and balance operations (swap accruals, broker-reported
-- equity), kept as their feed JSON for replays.
CREATE TABLE IF NOT EXISTS account_events (
    tenant UInt64,
    account String,
    ts DateTime64(6, 'UTC'),
    type LowCardinality(String),
    body String,
    seq UInt64,
    event_id String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, account, ts, event_id);

-- The market: quotes and clocks (clock rows have an empty symbol), for replays and prices.
CREATE TABLE IF NOT EXISTS quotes (
    ts DateTime64(6, 'UTC'),
    symbol LowCardinality(String),
    bid Float64,
    ask Float64,
    seq UInt64
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (symbol, ts, seq);

-- The engine's live numbers (risk.metrics), one row per account and publication.
CREATE TABLE IF NOT EXISTS equity (
    tenant UInt64,
    account String,
    ts DateTime64(6, 'UTC'),
    status LowCardinality(String),
    balance Decimal(18, 2),
    equity Decimal(18, 2),
    daily_floor Nullable(Decimal(18, 2)),
    max_loss_floor Nullable(Decimal(18, 2)),
    open_positions UInt32
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, account, ts);

-- The engine's answers (risk.events): breaches, objectives, passes.
CREATE TABLE IF NOT EXISTS risk_events (
    tenant UInt64,
    account String,
    ts DateTime64(6, 'UTC'),
    type LowCardinality(String),
    rule LowCardinality(String),
    action LowCardinality(String),
    equity Nullable(Decimal(18, 2)),
    floor Nullable(Decimal(18, 2)),
    body String,
    event_id String
) ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant, account, ts, event_id);
