-- Open positions of the tenant's live accounts (not failed, not passed), rebuilt from
-- the deals: a position's open volume is its volume in minus its volume out.
-- Notional is in the symbol's profit currency, at the last recorded quote (mid), or the
-- position's volume-weighted open price when the market was not recorded.
WITH
closed AS (
    SELECT DISTINCT account FROM risk_events
    WHERE tenant = {tenant:UInt64} AND (type = 'passed' OR (type = 'breach' AND action = 'fail'))
),
positions AS (
    SELECT account, position,
        any(symbol) AS symbol,
        argMinIf(side, ts, entry = 'in') AS side,
        sumIf(volume, entry = 'in') - sumIf(volume, entry = 'out') AS lots,
        sumIf(volume * price, entry = 'in') / nullIf(sumIf(volume, entry = 'in'), 0)
            AS open_price
    FROM deals FINAL
    WHERE tenant = {tenant:UInt64} AND account NOT IN (SELECT account FROM closed)
    GROUP BY account, position
    HAVING lots > 1e-9
),
prices AS (
    SELECT symbol, argMax((bid + ask) / 2, ts) AS mid FROM quotes
    WHERE symbol IN (SELECT DISTINCT symbol FROM positions) GROUP BY symbol
)
SELECT p.account AS account, p.symbol AS symbol,
    sum(if(p.side = 'buy', p.lots, -p.lots)) AS net_lots,
    sum(p.lots) AS gross_lots,
    count() AS positions,
    sum(if(p.side = 'buy', 1, -1) * p.lots * if(s.contract_size > 0, s.contract_size, 1)
        * if(q.mid > 0, q.mid, p.open_price)) AS net_notional,
    sum(p.lots * if(s.contract_size > 0, s.contract_size, 1) * if(q.mid > 0, q.mid, p.open_price))
        AS gross_notional,
    any(s.profit_currency) AS currency
FROM positions AS p
LEFT JOIN (SELECT symbol, contract_size, profit_currency FROM symbols FINAL) AS s
    ON s.symbol = p.symbol
LEFT JOIN prices AS q ON q.symbol = p.symbol
GROUP BY p.account, p.symbol
