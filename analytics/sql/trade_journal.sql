-- An account's closed trades, newest first: each out deal (a whole or partial close), as
-- the statistics count a trade, with its position's opening: the time of its first in
-- deal and the volume-weighted price of its in deals up to the close. Money is the
-- closing deal's (profit, commission, swap, fee; net = their sum, the trade's result as
-- MetaTrader counts it). Closed before {before} (µs, exclusive), {limit} from {offset}.
WITH
closes AS (
    SELECT ts, deal, position, symbol, side, volume, price, profit, commission, swap, fee
    FROM deals FINAL
    WHERE tenant = {tenant:UInt64} AND account = {account:String} AND entry = 'out'
      AND ts < fromUnixTimestamp64Micro({before:Int64}, 'UTC')
    ORDER BY ts DESC, deal DESC
    LIMIT {limit:UInt32} OFFSET {offset:UInt32}
),
opens AS (
    SELECT ts, position, price, volume
    FROM deals FINAL
    WHERE tenant = {tenant:UInt64} AND account = {account:String} AND entry = 'in'
      AND position IN (SELECT position FROM closes)
)
SELECT
    toUnixTimestamp64Micro(minIf(o.ts, o.ts <= c.ts)) AS opened_at,
    toUnixTimestamp64Micro(c.ts) AS closed_at,
    c.symbol AS symbol,
    if(c.side = 'sell', 'buy', 'sell') AS side,
    c.volume AS volume,
    sumIf(o.price * o.volume, o.ts <= c.ts) / nullIf(sumIf(o.volume, o.ts <= c.ts), 0)
        AS open_price,
    c.price AS close_price,
    toFloat64(c.profit) AS profit,
    toFloat64(c.commission) AS commission,
    toFloat64(c.swap) AS swap,
    toFloat64(c.fee) AS fee,
    toFloat64(c.profit + c.commission + c.swap + c.fee) AS net,
    c.position AS position,
    c.deal AS deal
FROM closes AS c
LEFT JOIN opens AS o ON o.position = c.position
GROUP BY c.ts, c.deal, c.position, c.symbol, c.side, c.volume, c.price, c.profit,
         c.commission, c.swap, c.fee
ORDER BY c.ts DESC, c.deal DESC
