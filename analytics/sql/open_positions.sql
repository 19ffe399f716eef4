-- An account's open positions from the position book (volume still open, volume-weighted
-- open price), newest first.
SELECT
    toUnixTimestamp64Micro(opened_at) AS opened_at,
    symbol,
    toString(side) AS side,
    lots AS volume,
    open_price,
    position
FROM positions FINAL
WHERE tenant = {tenant:UInt64} AND account = {account:String} AND lots > 1e-9
ORDER BY opened_at DESC, position DESC
