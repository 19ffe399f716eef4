-- An account's results per symbol over [since, until): trades (out deals), net profit
-- (every deal's profit + commission + swap + fee, the entry costs included, so the
-- symbols add up to the account's total net profit), the share of winning trades and the
-- lots closed. Most traded first.
SELECT
    symbol,
    countIf(entry = 'out') AS trades,
    toFloat64(sum(profit + commission + swap + fee)) AS net_profit,
    if(trades > 0,
       countIf(entry = 'out' AND profit + commission + swap + fee > 0) / trades * 100,
       NULL) AS won_pct,
    sumIf(volume, entry = 'out') AS volume
FROM deals FINAL
WHERE tenant = {tenant:UInt64} AND account = {account:String}
  AND ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC')
  AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
GROUP BY symbol
ORDER BY trades DESC, symbol
