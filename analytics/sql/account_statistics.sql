-- The statistics MetaTrader 5 prints in its reports, for one account over [since, until),
-- computed the way MetaTrader computes them (checked against a Strategy Tester and a Trade
-- History report; the formulas are in analytics/statistics.py). One row, unrounded; an
-- undefined ratio (no trade, no loss, no drawdown…) is NaN or infinite, which the JSON
-- output turns into null.
--
-- * A trade is an `out` deal; its result is profit + commission + swap + fee of that deal.
--   A result of exactly 0.00 is a profit trade, as MetaTrader counts it (in the counts,
--   the averages and the runs: a zero extends a run of wins and breaks a run of losses).
--   The costs of `in` deals belong to no trade: they count in the net profit and, as in
--   MetaTrader, in the gross loss (gross profit if positive), the entry commissions of
--   positions still open included.
-- * analytics/deal_statistics.py computes the same figures in Python for
--   `proptrade report-stats`; a test holds the two equal on every shared real report.
-- * The balance curve is every deal and balance operation (credit is not balance) in feed
--   order (ts, seq), the opening balance first; rows before `since` only lead up to the
--   window. A balance operation restarts the drawdown measurement from the balance it
--   leaves (MetaTrader's rule for withdrawals), the window's start from the balance it
--   finds; the largest drawdowns of all the parts are kept.
-- * Money is Float64 in the account currency, as MetaTrader computes it (doubles).
--
-- Speed: planning this query costs chDB about as much as running it on 10,000 trades,
-- and a subquery referenced twice is run twice. So every table is read once, each level
-- passes on only what the next one uses, the order-free figures are aggregates and the
-- sequence is one sorted array: the balance is its running sum, the drawdown below the
-- peak its clamped running sum of falls (arrayCumSumNonNegative: D = max(0, D - change),
-- a huge rise at each restart), no window function. The query plan optimisations are
-- off: they cost more time than they save here (the table filters still use the
-- primary key).
WITH
events AS (
    SELECT ts, seq, 0 AS op, side = 'buy' AS short, cityHash64(position) AS position_key,
        toFloat64(profit + commission + swap + fee) AS money,
        ts >= fromUnixTimestamp64Micro({since:Int64}, 'UTC') AS deal,
        deal AND entry = 'out' AS trade
    FROM deals FINAL
    WHERE tenant = {tenant:UInt64} AND account = {account:String}
      AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
    UNION ALL
    SELECT ts, seq, 1, 0, 0, toFloat64(amount), 0, 0
    FROM balance_operations FINAL
    WHERE tenant = {tenant:UInt64} AND account = {account:String} AND kind != 'credit'
      AND ts < fromUnixTimestamp64Micro({until:Int64}, 'UTC')
    UNION ALL
    SELECT toDateTime64(0, 6, 'UTC'), 0, 1, 0, 0, toFloat64(initial_balance), 0, 0
    FROM accounts FINAL
    WHERE tenant = {tenant:UInt64} AND account = {account:String}
),
totals AS (
    SELECT
        -- (1 net, 2 gains, 3 deals, 4 trades, 5 wins, 6 losses, 7 shorts, 8 short wins,
        --  9 best trade, 10 worst trade, 11 per UTC day: (days, net, deals))
        tuple(sumIf(money, deal), sumIf(money, deal AND money > 0), countIf(deal),
              countIf(trade), countIf(trade AND money >= 0), countIf(trade AND money < 0),
              countIf(trade AND short), countIf(trade AND short AND money >= 0),
              maxIf(money, trade), minIf(money, trade),
              sumMapIf([toDate(ts)], [money], [1], deal)) AS k,
        -- the feed in order: (…, 4 money, 5 a restart: an operation or a row before the
        -- window, 6 a trade, 7 what the drawdown grows by, 8 a trade's result)
        arraySort(groupArray((ts, seq, -op, money, op OR NOT deal, trade,
                              if(op OR NOT deal, -1e18, -money), if(trade, money, 0))))
            AS feed,
        -- the deals by position, then time: a position opens at its first deal
        arraySort(groupArrayIf((position_key, toUnixTimestamp64Micro(ts), trade), NOT op))
            AS by_position
    FROM events
),
curve AS (
    SELECT k, feed.6 AS trade_flags,
        arrayCumSum(feed.4) AS balances,
        arrayCumSumNonNegative(feed.7) AS drawdowns,
        -- how far below the balance its part started from (the absolute drawdown)
        arrayMax(arrayFill((b, restart) -> restart, balances, feed.5) - balances)
            AS below_open,
        arrayMap((b, c) -> b / (b - c), balances, feed.4) AS hprs,
        arrayFilter((x, t) -> t, feed.8, feed.6) AS results,
        -- the regression's points: the balance before the window's first deal, then the
        -- balance after each trade
        arrayPushFront(arrayFilter((b, t) -> t, balances, feed.6),
                       balances[indexOf(feed.5, 0)] - feed.4[indexOf(feed.5, 0)]) AS points,
        -- the time every trade was held, from its position's first deal
        arrayFilter((h, t) -> t, by_position.2 - arrayFill((t, first) -> first,
            by_position.2, arrayMap((key, previous) -> key != previous, by_position.1,
                                    arrayPopBack(arrayPushFront(by_position.1, 0)))),
            by_position.3) AS held
    FROM totals
),
summary AS (
    SELECT k, below_open, held, drawdowns,
        arrayMax(drawdowns) AS dd_max,
        balances[indexOf(drawdowns, dd_max)] AS dd_max_balance,
        arrayMap((d, b) -> d / (d + b), drawdowns, balances) AS dd_shares,
        arrayReduce('avgIf', hprs, trade_flags) AS ahpr,
        arrayReduce('avgIf', arrayMap(h -> log(h), hprs), trade_flags) AS log_ghpr,
        arrayReduce('stddevPopStableIf', hprs, trade_flags) AS hpr_sigma,
        -- runs of wins (a zero is one) and losses: split where that changes
        arraySplit((x, y) -> (x >= 0) != (y >= 0), results,
                   arrayPopBack(arrayPushFront(results, 0))) AS runs,
        arrayReduce('corrStable', range(length(points)), points) AS lr_r,
        arrayReduce('varPopStable', points) AS lr_variance
    FROM curve
),
series AS (
    SELECT k, k.4 AS trades, below_open, held, dd_max, dd_max_balance, ahpr, log_ghpr,
        hpr_sigma, lr_r, lr_variance,
        arrayMax(dd_shares) AS dd_rel,
        drawdowns[indexOf(dd_shares, dd_rel)] AS dd_rel_money,
        arrayMap(r -> length(r) * if(r[1] >= 0, 1, -1), runs) AS run_lengths,
        arrayMap(r -> arraySum(r), runs) AS run_money,
        -- runs test: Z = (N (R - 0.5) - X) / sqrt(X (X - N) / (N - 1)), X = 2 W L
        ((k.5 + k.6) * (length(runs) - 0.5) - 2 * k.5 * k.6)
            / sqrt(2 * k.5 * k.6 * (2 * k.5 * k.6 - k.5 - k.6) / (k.5 + k.6 - 1)) AS z
    FROM summary
)
SELECT
    k.1 AS total_net_profit,
    k.2 AS gross_profit,
    k.1 - k.2 AS gross_loss,
    k.2 / (k.2 - k.1) AS profit_factor,
    k.1 / trades AS expected_payoff,
    k.1 / dd_max AS recovery_factor,
    (ahpr - 1) / hpr_sigma AS sharpe_ratio,
    greatest(below_open, 0) AS balance_drawdown_absolute,
    dd_max AS balance_drawdown_maximal,
    dd_max / (dd_max + dd_max_balance) * 100 AS balance_drawdown_maximal_pct,
    dd_rel * 100 AS balance_drawdown_relative,
    dd_rel_money AS balance_drawdown_relative_money,
    trades AS total_trades,
    k.3 AS total_deals,
    k.7 AS short_trades,
    k.8 / k.7 * 100 AS short_trades_won_pct,
    trades - k.7 AS long_trades,
    (k.5 - k.8) / (trades - k.7) * 100 AS long_trades_won_pct,
    k.5 AS profit_trades,
    k.5 / trades * 100 AS profit_trades_pct,
    k.6 AS loss_trades,
    k.6 / trades * 100 AS loss_trades_pct,
    greatest(k.9, 0) AS largest_profit_trade,
    least(k.10, 0) AS largest_loss_trade,
    -- MetaTrader divides the gross figures (entry costs in) by the numbers of trades
    k.2 / k.5 AS average_profit_trade,
    (k.1 - k.2) / k.6 AS average_loss_trade,
    -- the longest run, of runs as long the one of the larger amount (MetaTrader); the
    -- first run of the most money
    greatest(arrayMax(run_lengths), 0) AS max_consecutive_wins,
    arrayMax(arrayFilter((m, l) -> l = max_consecutive_wins, run_money, run_lengths))
        AS max_consecutive_wins_money,
    greatest(-arrayMin(run_lengths), 0) AS max_consecutive_losses,
    arrayMin(arrayFilter((m, l) -> l = -max_consecutive_losses, run_money, run_lengths))
        AS max_consecutive_losses_money,
    greatest(arrayMax(run_money), 0) AS maximal_consecutive_profit,
    run_lengths[indexOf(run_money, arrayMax(run_money))] * (arrayMax(run_money) > 0)
        AS maximal_consecutive_profit_count,
    least(arrayMin(run_money), 0) AS maximal_consecutive_loss,
    -run_lengths[indexOf(run_money, arrayMin(run_money))] * (arrayMin(run_money) < 0)
        AS maximal_consecutive_loss_count,
    arrayAvg(arrayFilter(l -> l > 0, run_lengths)) AS average_consecutive_wins,
    -arrayAvg(arrayFilter(l -> l < 0, run_lengths)) AS average_consecutive_losses,
    z AS z_score,
    -- MetaTrader reads the probability off the Z it prints, at two decimals
    if(isFinite(z), erf(abs(round(z, 2)) / sqrt(2)) * 100, nan) AS z_score_pct,
    ahpr,
    ahpr * 100 - 100 AS ahpr_pct,
    exp(log_ghpr) AS ghpr,
    exp(log_ghpr) * 100 - 100 AS ghpr_pct,
    lr_r AS lr_correlation,
    -- sqrt(squared residuals / (n - 2)), n = trades + 1 points
    sqrt(lr_variance * (1 - lr_r * lr_r) * (trades + 1) / (trades - 1))
        AS lr_standard_error,
    if(empty(held), nan, arrayMin(held) / 1e6) AS minimal_holding_seconds,
    if(empty(held), nan, arrayMax(held) / 1e6) AS maximal_holding_seconds,
    k.5 / trades * 100 AS win_rate,
    arraySum(held) / trades / 1e6 AS average_holding_seconds,
    if(k.1 > 0, arrayMax(k.11.2) / k.1, NULL) AS best_day_share,
    length(k.11.1) AS trading_days
FROM series
SETTINGS query_plan_enable_optimizations = 0
