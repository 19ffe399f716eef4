-- Where the firm is exposed now: the open positions of the tenant's live accounts — not
-- failed or passed by the engine's answers, not stopped by the platform
-- ({stopped_accounts}: the accounts the risk desk stopped) — from the position book, per
-- symbol and per account.
-- Notional is in the symbol's profit currency at the last recorded quote (mid) of the
-- last week of the recording, or the position's open price when there is none.
-- Rows: kind 'symbol' (one per symbol) and kind 'account' (the {top} accounts holding the
-- most lots in one symbol) — shaped here, not in Python: 100,000 (account, symbol) pairs
-- cost more to send and decode than to compute.
WITH
closed AS (
    SELECT DISTINCT account FROM risk_events
    WHERE tenant = {tenant:UInt64} AND (type = 'passed' OR (type = 'breach' AND action = 'fail'))
),
book AS (
    SELECT account, symbol, if(side = 'buy', lots, -lots) AS net, lots, open_price
    FROM positions FINAL
    WHERE tenant = {tenant:UInt64} AND lots > 1e-9 AND account NOT IN (SELECT account FROM closed)
      AND NOT has({stopped_accounts:Array(String)}, account)
),
prices AS (
    SELECT symbol, argMax((bid + ask) / 2, ts) AS mid FROM quotes
    WHERE symbol != '' AND ts >= (SELECT max(ts) FROM quotes) - INTERVAL 7 DAY
    GROUP BY symbol
),
pairs AS MATERIALIZED (
    SELECT b.account AS account, b.symbol AS symbol,
        sum(b.net) AS net_lots, sum(b.lots) AS gross_lots, count() AS positions,
        sum(b.net * if(s.contract_size > 0, s.contract_size, 1)
            * if(q.mid > 0, q.mid, b.open_price)) AS net_notional,
        sum(b.lots * if(s.contract_size > 0, s.contract_size, 1)
            * if(q.mid > 0, q.mid, b.open_price)) AS gross_notional,
        any(s.profit_currency) AS currency
    FROM book AS b
    LEFT JOIN (SELECT symbol, contract_size, profit_currency FROM symbols FINAL) AS s
        ON s.symbol = b.symbol
    LEFT JOIN prices AS q ON q.symbol = b.symbol
    GROUP BY b.account, b.symbol
)
SELECT 'symbol' AS kind, symbol AS name, round(sum(net_lots), 4) AS net_lots,
    round(sum(gross_lots), 4) AS gross_lots, sum(positions) AS positions,
    round(sum(net_notional), 2) AS net_notional, round(sum(gross_notional), 2) AS gross_notional,
    any(currency) AS currency, count() AS holders, '' AS largest_symbol, 0.0 AS largest_lots
FROM pairs GROUP BY symbol
UNION ALL
SELECT * FROM (
    SELECT 'account', account, round(sum(net_lots), 4), round(sum(gross_lots), 4),
        sum(positions), round(sum(net_notional), 2), round(sum(gross_notional), 2), '',
        count(), argMax(symbol, gross_lots), round(max(gross_lots), 4) AS largest
    FROM pairs GROUP BY account ORDER BY largest DESC, account LIMIT {top:UInt32})
SETTINGS enable_materialized_cte = 1
