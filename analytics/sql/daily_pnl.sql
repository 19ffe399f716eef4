-- An account's P&L calendar over [since, until): per UTC day with deals, the net closed
-- profit (profit + commission + swap + fee of every deal booked that day, entry costs
-- included, as the balance moved) and the trades closed (out deals).
SELECT
    toString(toDate(ts)) AS date,
    toFloat64(sum(profit + commission + swap + fee)) AS net_profit,
    countIf(entry = 'out') AS trades
FROM deals FINAL
WHERE tenant = {tenant:UInt64} AND account = {account:String}
  AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
  AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
GROUP BY date
ORDER BY date
