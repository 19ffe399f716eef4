"""MetaTrader history reports read as PropTrade feed events.

    report = read_report(Path("ReportHistory-1512497509.xlsx"), program="ftmo-2step-100k-p1")
    report.kind, report.account, report.printed["total_net_profit"]
    # ("mt5-history", "1512497509", "-5025.89")

Formats: MT5 Trade History Report (HTML in UTF-16LE or UTF-8, and XLSX), MT5 Strategy
Tester report (HTML), MT4 Detailed Statement (HTML); labels in English or French (German
and Spanish tables are unverified, see :mod:`analytics.imports.labels`). A file that is
none of these raises :class:`ReportError` naming the file and what is missing.

Events (``Report.events``), replayable by ``proptrade replay``:

- one ``Symbol`` per symbol traded (contract size measured from the closed trades,
  :mod:`analytics.imports.sizes`);
- one ``Account`` at the first operation's time, its ``balance`` the opening balance (the
  first deposit; :mod:`analytics.imports.feed`), so that the engine's balance ends equal to
  the report's final balance;
- ``Balance`` events for balance operations and ``Deal`` events, positions paired as
  :mod:`analytics.imports.pairing` describes.

Report times are the trade server's and are read as UTC (:mod:`analytics.imports.values`).

Printed statistics (``Report.printed``): every statistic the report prints, keyed by
MetaTrader's English label in snake_case whatever the report's language, valued as the
printed number normalised (thousands separators removed, decimal point) at the printed
precision. Compound cells give two keys::

    total_net_profit  gross_profit  gross_loss  profit_factor  expected_payoff
    recovery_factor  sharpe_ratio  lr_correlation  lr_standard_error  on_tester_result
    z_score, z_score_pct                  "-1.09 (72.43%)"
    ahpr, ahpr_pct / ghpr, ghpr_pct       "1.0000 (0.00%)"
    balance_drawdown_absolute
    balance_drawdown_maximal, balance_drawdown_maximal_pct      "152.73 (5.06%)"
    balance_drawdown_relative, balance_drawdown_relative_money  "5.06% (152.73)"
    equity_drawdown_absolute / _maximal, _maximal_pct / _relative, _relative_money
    total_trades  total_deals
    short_trades, short_trades_won_pct  /  long_trades, long_trades_won_pct   "70 (52.86%)"
    profit_trades, profit_trades_pct  /  loss_trades, loss_trades_pct
    largest_profit_trade  largest_loss_trade  average_profit_trade  average_loss_trade
    max_consecutive_wins, max_consecutive_wins_money              "12 (-42.31)"
    max_consecutive_losses, max_consecutive_losses_money
    maximal_consecutive_profit, maximal_consecutive_profit_count  "97.83 (15)"
    maximal_consecutive_loss, maximal_consecutive_loss_count
    average_consecutive_wins  average_consecutive_losses
    correlation_profits_mfe  correlation_profits_mae  correlation_mfe_mae
    minimal/maximal/average_position_holding_time ("1:31:01", kept as text)
    history_quality (text)  bars  ticks  symbols  initial_deposit (tester settings)
    balance  credit_facility  floating_pl  equity  free_margin  margin  margin_level
    MT4 only: deposit_withdrawal  closed_trade_pl  absolute_drawdown
              maximal_drawdown, maximal_drawdown_pct  relative_drawdown, relative_drawdown_money
"""

from __future__ import annotations

from analytics.imports.errors import ReportError
from analytics.imports.report import MAX_REPORT_BYTES, Report, parse_report, read_report

__all__ = ["MAX_REPORT_BYTES", "Report", "ReportError", "parse_report", "read_report"]
