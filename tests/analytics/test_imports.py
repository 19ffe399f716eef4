"""``analytics.imports``: MetaTrader reports read as feed events.

The four real reports (``../shared/data/mt-reports``, read in place, never copied) are the
outside oracle: the deals read must add up to what MetaTrader printed. The small reports
under ``reports/`` are synthetic, laid out as real ones, for what those two lack (English
history, MT5 hidden cells, netting reversal, MT4).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import types
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import TypeVar

import msgspec
import pytest

from analytics.imports import Report, ReportError, read_report
from analytics.imports import command as import_command
from analytics.imports.values import normalize_number
from streams import replay
from streams.events import Account, Balance, Deal, Event, Symbol, json_decoder
from tests.analytics import MT_REPORTS

HERE = Path(__file__).parent / "reports"
REAL = MT_REPORTS
TESTER = REAL / "mt5-tester-didinska-GoldHedgeRecovery-v330.html"
FTMO = REAL / "mt5-history-propfirm-ftmo-1512497509.xlsx"
FTMO_OPEN = REAL / "mt5-history-propfirm-ftmo-1512568197.xlsx"  # 85 positions open at the end
FTMO_ZEROS = REAL / "mt5-history-propfirm-ftmo-1512442430.xlsx"  # three trades of 0.00
HISTORY_EN = HERE / "mt5-history-en.html"
HISTORY_FR = HERE / "mt5-history-fr.html"
STATEMENT = HERE / "mt4-statement-en.htm"

T = TypeVar("T")

real_reports = pytest.mark.skipif(not REAL.is_dir(), reason="shared MT reports not present")

# Statistics every MT5 report prints (history and tester); the tester prints the rest too.
HISTORY_KEYS = {
    "total_net_profit", "gross_profit", "gross_loss", "profit_factor", "expected_payoff",
    "recovery_factor", "sharpe_ratio", "balance_drawdown_absolute",
    "balance_drawdown_maximal", "balance_drawdown_maximal_pct", "balance_drawdown_relative",
    "balance_drawdown_relative_money", "total_trades", "short_trades",
    "short_trades_won_pct", "long_trades", "long_trades_won_pct", "profit_trades",
    "profit_trades_pct", "loss_trades", "loss_trades_pct", "largest_profit_trade",
    "largest_loss_trade", "average_profit_trade", "average_loss_trade",
    "max_consecutive_wins", "max_consecutive_wins_money", "max_consecutive_losses",
    "max_consecutive_losses_money", "maximal_consecutive_profit",
    "maximal_consecutive_profit_count", "maximal_consecutive_loss",
    "maximal_consecutive_loss_count", "average_consecutive_wins", "average_consecutive_losses",
}
TESTER_KEYS = HISTORY_KEYS | {
    "total_deals", "z_score", "z_score_pct", "ahpr", "ahpr_pct", "ghpr", "ghpr_pct",
    "lr_correlation", "lr_standard_error", "equity_drawdown_absolute",
    "equity_drawdown_maximal", "equity_drawdown_maximal_pct", "equity_drawdown_relative",
    "equity_drawdown_relative_money", "margin_level", "initial_deposit",
}
ACCOUNT_BLOCK_KEYS = {"balance", "credit_facility", "floating_pl", "equity", "free_margin",
                      "margin", "margin_level"}


def of_type(report: Report, kind: type[T]) -> list[T]:
    return [event for event in report.events if isinstance(event, kind)]


def final_balance(report: Report) -> float:
    """The balance the engine ends on: the opening balance plus every operation and deal."""
    (account,) = of_type(report, Account)
    money = sum(event.amount for event in of_type(report, Balance))
    money += sum((deal.profit or 0) + (deal.commission or 0) + (deal.swap or 0)
                 + (deal.fee or 0) for deal in of_type(report, Deal))
    return round((account.balance or 0) + money, 2)


def assert_paired(report: Report) -> None:
    """Every out deal closes an open position of its symbol, on the opposite side, for no
    more volume than is open; symbols precede deals; the account precedes its deals."""
    kinds = [type(event).__name__ for event in report.events]
    first_account = kinds.index("Account")
    assert set(kinds[:first_account]) == {"Symbol"}
    assert "Symbol" not in kinds[first_account:]
    open_volume: dict[object, float] = defaultdict(float)
    opened: dict[object, Deal] = {}
    times = [event.ts for event in report.events[first_account:]
             if isinstance(event, (Account, Deal, Balance))]
    assert times == sorted(times)
    for deal in of_type(report, Deal):
        if deal.entry == "in":
            if open_volume[deal.position] <= 1e-9:
                opened[deal.position] = deal
            assert opened[deal.position].side == deal.side
            open_volume[deal.position] += deal.volume
            continue
        opening = opened[deal.position]
        assert opening.symbol == deal.symbol
        assert opening.side != deal.side
        assert deal.volume <= open_volume[deal.position] + 1e-9
        open_volume[deal.position] -= deal.volume
    ids = [deal.deal for deal in of_type(report, Deal)]
    assert len(ids) == len(set(ids)), "deal ids are unique (the store keys deals by them)"


def outs(report: Report) -> list[Deal]:
    return [deal for deal in of_type(report, Deal) if deal.entry == "out"]


# ------------------------------------------------------------------ real reports


@real_reports
def test_tester_report_adds_up_to_what_metatrader_printed() -> None:
    report = read_report(TESTER)
    assert (report.kind, report.language) == ("mt5-tester", "en")
    assert (report.account, report.currency) == ("GoldHedgeRecovery-XAUUSD", "USD")
    assert report.initial_balance == 3000.0
    assert len(outs(report)) == int(report.printed["total_trades"]) == 145
    assert len(of_type(report, Deal)) == int(report.printed["total_deals"]) == 290
    assert final_balance(report) == pytest.approx(
        report.initial_balance + float(report.printed["total_net_profit"]), abs=0.005)
    assert final_balance(report) == 3012.48
    assert_paired(report)
    assert of_type(report, Symbol) == [Symbol("XAUUSD", 100.0, "USD")]


@real_reports
def test_tester_report_prints_every_statistic() -> None:
    printed = read_report(TESTER).printed
    assert printed.keys() >= TESTER_KEYS
    assert printed["total_net_profit"] == "12.48"
    assert printed["profit_factor"] == "1.02"
    assert (printed["balance_drawdown_maximal"], printed["balance_drawdown_maximal_pct"]) == (
        "152.73", "5.06")
    assert (printed["balance_drawdown_relative"],
            printed["balance_drawdown_relative_money"]) == ("5.06", "152.73")
    assert (printed["z_score"], printed["z_score_pct"]) == ("-1.09", "72.43")
    assert (printed["ahpr"], printed["ahpr_pct"]) == ("1.0000", "0.00")
    assert (printed["short_trades"], printed["short_trades_won_pct"]) == ("65", "66.15")
    assert (printed["max_consecutive_losses"], printed["max_consecutive_losses_money"]) == (
        "6", "-145.14")
    assert (printed["maximal_consecutive_profit"],
            printed["maximal_consecutive_profit_count"]) == ("97.83", "15")
    assert printed["initial_deposit"] == "3000.00"
    assert printed["average_position_holding_time"] == "1:31:01"


@real_reports
def test_ftmo_xlsx_in_french_adds_up() -> None:
    report = read_report(FTMO, program="ftmo-2step-100k-p1")
    assert (report.kind, report.language) == ("mt5-history", "fr")
    assert (report.account, report.currency, report.initial_balance) == (
        "1512497509", "USD", 100000.0)
    assert len(of_type(report, Symbol)) == 11
    assert len(outs(report)) == int(report.printed["total_trades"]) == 58
    assert final_balance(report) == float(report.printed["balance"]) == 94974.11
    assert final_balance(report) == pytest.approx(
        report.initial_balance + float(report.printed["total_net_profit"]), abs=0.005)
    assert of_type(report, Account)[0].program == "ftmo-2step-100k-p1"
    assert_paired(report)


@real_reports
def test_ftmo_printed_statistics_at_printed_precision() -> None:
    printed = read_report(FTMO).printed
    assert printed.keys() >= HISTORY_KEYS | ACCOUNT_BLOCK_KEYS
    # stored as -5025.890000 and 0.116109 under the cell format "# ##0.00"
    assert printed["total_net_profit"] == "-5025.89"
    assert printed["profit_factor"] == "0.12"
    assert printed["total_trades"] == "58"
    assert (printed["balance_drawdown_maximal"], printed["balance_drawdown_maximal_pct"]) == (
        "5338.90", "5.32")
    assert (printed["max_consecutive_losses"], printed["max_consecutive_losses_money"]) == (
        "13", "-5338.90")


@real_reports
@pytest.mark.parametrize(("path", "trades", "still_open", "final"), [
    (FTMO_OPEN, 2134, 85, 198788.40), (FTMO_ZEROS, 716, 0, 189026.44)])
def test_larger_ftmo_reports_add_up(path: Path, trades: int, still_open: int, final: float
                                    ) -> None:
    report = read_report(path)
    assert (report.kind, report.language, report.initial_balance) == (
        "mt5-history", "fr", 200000.0)
    assert len(outs(report)) == int(report.printed["total_trades"]) == trades
    assert final_balance(report) == float(report.printed["balance"]) == final
    assert_paired(report)
    lots: dict[object, float] = defaultdict(float)
    for deal in of_type(report, Deal):
        lots[deal.position] += deal.volume if deal.entry == "in" else -deal.volume
    assert sum(1 for volume in lots.values() if volume > 1e-9) == still_open


@real_reports
def test_xlsx_statistics_keep_the_digits_their_cells_store() -> None:
    """The cells show two decimals and store six: both are kept (``printed``, ``stored``)."""
    report = read_report(FTMO)
    assert (report.printed["profit_factor"], report.stored["profit_factor"]) == (
        "0.12", "0.116109")
    assert (report.printed["sharpe_ratio"], report.stored["sharpe_ratio"]) == (
        "-0.29", "-0.289665")
    assert report.stored["total_net_profit"] == "-5025.890000"
    # a compound cell ("5 338.90 (5.32%)") is text: printed only
    assert "balance_drawdown_maximal" in report.printed
    assert "balance_drawdown_maximal" not in report.stored
    assert read_report(TESTER).stored == {}  # HTML shows what it has


@real_reports
def test_ftmo_contract_sizes_are_measured_from_the_trades() -> None:
    symbols = {event.symbol: event for event in of_type(read_report(FTMO), Symbol)}
    sizes = {name: symbol.contract_size for name, symbol in symbols.items()}
    assert sizes["XAUUSD"] == 100 and sizes["EURUSD"] == 100_000 and sizes["ETHUSD"] == 10
    assert sizes["US500.cash"] == 1
    assert sizes["USDJPY"] == 100_000 and symbols["USDJPY"].profit_currency == "JPY"
    assert symbols["XAUUSD"].profit_currency == "USD"
    # JP225 profits in JPY, which the report does not say: its USD value per point is kept
    assert sizes["JP225.cash"] == pytest.approx(0.0641)


@real_reports
def test_every_close_is_explained_by_its_position_and_size() -> None:
    for path in (TESTER, FTMO):
        report = read_report(path)
        symbols = {event.symbol: event for event in of_type(report, Symbol)}
        opened = {deal.position: deal for deal in of_type(report, Deal) if deal.entry == "in"}
        for deal in outs(report):
            symbol = symbols[deal.symbol]
            if symbol.profit_currency != report.currency:
                continue
            opening = opened[deal.position]
            move = (deal.price - opening.price) * (1 if opening.side == "buy" else -1)
            expected = move * deal.volume * symbol.contract_size
            assert deal.profit == pytest.approx(expected, abs=0.015 * max(1, abs(expected)))


# ------------------------------------------------------------------ synthetic reports


def test_english_history_with_a_partial_close() -> None:
    report = read_report(HISTORY_EN)
    assert (report.kind, report.language, report.account, report.currency) == (
        "mt5-history", "en", "50123456", "USD")
    assert report.initial_balance == 10000.0
    deals = {deal.deal: deal for deal in of_type(report, Deal)}
    assert (deals[1002].position, deals[1002].volume) == (2001, 1.0)
    # half of position 2001 closes, position 2004 opens, then both close
    assert [(deals[t].position, deals[t].volume) for t in (1004, 1007, 1008)] == [
        (2001, 0.5), (2001, 0.5), (2004, 0.3)]
    assert (deals[1006].position, deals[1006].swap, deals[1006].profit) == (2002, -2.4, 45.0)
    assert of_type(report, Balance) == [Balance(
        ts=deals[1008].ts.replace(day=6, hour=8, second=0), account="50123456",
        amount=-500.0, kind="withdrawal")]
    assert len(outs(report)) == int(report.printed["total_trades"])
    assert final_balance(report) == float(report.printed["balance"]) == 9518.30
    assert report.printed.keys() >= HISTORY_KEYS | ACCOUNT_BLOCK_KEYS
    assert report.printed["balance"] == "9518.30"  # printed "9,518.30"
    assert_paired(report)


def test_a_close_whose_open_is_before_the_report(tmp_path: Path) -> None:
    """The XAUUSD sell opened before the report's period: its close gets a made-up open at
    the price the Positions table gives, so the engine has a position to close."""
    lines = HISTORY_EN.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / "ReportHistory-50123456.html"
    path.write_text("".join(line for line in lines if "<td>1003</td>" not in line),
                    encoding="utf-8")
    report = read_report(path)
    made_up, close = (deal for deal in of_type(report, Deal) if deal.symbol == "XAUUSD")
    assert (made_up.deal, made_up.position, made_up.side, made_up.entry) == (
        "1006.open", 2002, "sell", "in")
    assert (made_up.ts, made_up.volume, made_up.price, made_up.profit) == (
        close.ts, 0.1, 2100.0, 0.0)
    assert (close.deal, close.position, close.profit) == (1006, 2002, 45.0)
    assert final_balance(report) == 9519.30  # the missing open's commission is not paid
    assert_paired(report)


def test_html_markup_the_reader_must_see_through() -> None:
    """Upper-case tags, unclosed cells, comments and scripts holding table markup, a
    quoted ``>`` in an attribute, entities, ``<br>`` and inline tags inside a cell, hidden
    cells and spans."""
    from analytics.imports.html_tables import read_html

    document = read_html(
        "<HTML><HEAD><TITLE>R&amp;D report</TITLE><STYLE>td { x: '<td>' }</STYLE>"
        "<script>document.write('<tr><td>no</td></tr>')</script></HEAD><BODY>"
        "<!-- <table><tr><td>commented</td></tr></table> -->"
        "<TABLE><TR><TD>A&nbsp;b</TD><td title='x > y' colspan=2>1&#44;5<br>c</td>"
        '<td class="hidden">drill</td><td><b>bold</b> text</td></tr>'
        "<tr><td>unclosed<td>  spaced   out  </tr></TABLE></BODY></HTML>")
    assert document.title == "R&D report"
    assert document.complete
    assert [(row.cells, row.titles) for row in document.rows] == [
        ({0: "A b", 1: "1,5 c", 3: "bold text"}, {1: "x > y"}),
        ({0: "unclosed", 1: "spaced out"}, {}),
    ]
    assert not read_html("<table><tr><td>cut").complete


def test_the_orders_table_is_skipped_and_nothing_else() -> None:
    """No reader uses the Orders table's rows (a third of a history): they are cut before
    the scan, from the banner row to the next banner row; a cell reading "Orders" in a
    data row is not a banner."""
    from analytics.imports.html_tables import read_html

    document = read_html(
        "<table><tr><th colspan=3><div><b>Positions</b></div></th></tr>"
        "<tr><td>Time</td><td>Position</td><td>Comment</td></tr>"
        "<tr><td>2024.01.02 10:00:00</td><td>1</td><td>Orders</td></tr>"
        "<tr><th colspan=3><b>Orders</b></th></tr>"
        "<tr><td>Open Time</td><td>Order</td></tr>"
        "<tr><td>2024.01.02 10:00:00</td><td>1</td></tr>"
        "<tr><th colspan=3><b>Deals</b></th></tr>"
        "<tr><td>2024.01.02 10:00:00</td><td>7</td></tr></table>")
    assert [row.texts() for row in document.rows] == [
        ["Positions"], ["Time", "Position", "Comment"],
        ["2024.01.02 10:00:00", "1", "Orders"], ["Orders"], ["Deals"],
        ["2024.01.02 10:00:00", "7"]]


def test_utf16_with_bom_reads_the_same(tmp_path: Path) -> None:
    path = tmp_path / "ReportHistory-50123456.html"
    path.write_bytes(HISTORY_EN.read_text(encoding="utf-8").encode("utf-16"))  # BOM + LE
    assert read_report(path).events == read_report(HISTORY_EN).events


def test_french_netting_history_with_a_reversal() -> None:
    report = read_report(HISTORY_FR)
    assert (report.kind, report.language, report.account, report.currency) == (
        "mt5-history", "fr", "7700123", "EUR")
    ger40 = [(d.deal, d.side, d.entry, d.volume, d.price, d.profit)
             for d in of_type(report, Deal) if d.symbol == "GER40"]
    assert ger40 == [
        (5002, "buy", "in", 2.0, 18250.5, 0.0),
        (5003, "sell", "out", 1.0, 18270.5, 20.0),  # partial close
        (5004, "sell", "out", 1.0, 18260.0, 9.5),  # in/out: closes the rest …
        ("5004.2", "sell", "in", 2.0, 18260.0, 0.0),  # … and opens the other way
        (5005, "buy", "out", 2.0, 18240.0, 40.0),
    ]
    assert {deal.position for deal in of_type(report, Deal) if deal.symbol == "GER40"} == {6001}
    symbols = {event.symbol: event for event in of_type(report, Symbol)}
    assert symbols["GER40"] == Symbol("GER40", 1.0, "EUR")
    assert symbols["EURUSD"] == Symbol("EURUSD", 100_000.0, "USD")  # measured via the rate
    assert of_type(report, Balance)[0].kind == "correction"
    assert len(outs(report)) == int(report.printed["total_trades"])  # 5004's out part counts
    assert final_balance(report) == float(report.printed["balance"]) == 4961.30
    assert report.printed.keys() >= HISTORY_KEYS | ACCOUNT_BLOCK_KEYS
    assert report.printed["profit_factor"] == "0.71"  # printed "0,71"
    assert (report.printed["balance_drawdown_relative"],
            report.printed["balance_drawdown_relative_money"]) == ("2.13", "108.20")
    assert_paired(report)


def test_mt4_statement_with_a_partial_close() -> None:
    report = read_report(STATEMENT)
    assert (report.kind, report.language, report.account, report.currency) == (
        "mt4-statement", "en", "2090123", "USD")
    deals = [(d.deal, d.position, d.side, d.entry, d.volume) for d in of_type(report, Deal)]
    assert deals == [
        ("1000002-in", 1000002, "buy", "in", 1.0),
        ("1000002-out", 1000002, "sell", "out", 1.0),
        # 1000005 is the rest of 1000003 ("from #1000003"): one position of 1 lot
        ("1000003-in", 1000003, "sell", "in", 1.0),
        ("1000003-out", 1000003, "buy", "out", 0.5),
        ("1000005-out", 1000003, "buy", "out", 0.5),
        ("1000007-in", 1000007, "buy", "in", 0.2),  # still open; the buy limit was cancelled
    ]
    assert [symbol.symbol for symbol in of_type(report, Symbol)] == [
        "EURUSD", "XAUUSD", "GBPUSD"]
    assert [balance.amount for balance in of_type(report, Balance)] == [-1000.0]
    assert len(outs(report)) == int(report.printed["total_trades"])  # MT4 counts tickets
    assert final_balance(report) == float(report.printed["balance"]) == 9184.80
    printed = report.printed
    assert (printed["largest_profit_trade"], printed["average_loss_trade"]) == (
        "246.50", "-204.70")  # MT4 splits these labels: "Largest" | "profit trade:"
    assert (printed["maximal_drawdown"], printed["maximal_drawdown_pct"]) == ("204.70", "1.97")
    assert (printed["short_trades"], printed["short_trades_won_pct"]) == ("2", "50.00")
    assert printed["closed_trade_pl"] == "184.80"
    assert_paired(report)


# ------------------------------------------------------------------ replay


@pytest.mark.parametrize("path", [HISTORY_EN, HISTORY_FR, STATEMENT])
def test_jsonl_replays_to_the_printed_balance(path: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    program = tmp_path / "imported.json"
    program.write_text(json.dumps({"id": "imported", "currency": "USD",
                                   "initial_balance": 10000, "rules": {}}))
    assert run_command([str(path), "--jsonl"]) == 0
    lines = capsys.readouterr().out.encode().splitlines()
    assert [json_decoder.decode(line) for line in lines] == read_report(path).events
    out, err = io.StringIO(), io.StringIO()
    assert replay.run([str(program)], lines, out, err) == 0, err.getvalue()
    state = json.loads(out.getvalue().splitlines()[-1])
    assert state["balance"] == float(read_report(path).printed["balance"])


def run_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    import_command.add_arguments(parser)
    return import_command.main(parser.parse_args(argv))


def test_command_without_jsonl_hands_the_report_to_the_store(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from analytics.store_import import Firm, Imported, NoSuchFirm

    received: list[tuple[Report, dict[str, object]]] = []

    def import_events(report: Report, **where: object) -> Imported:
        if where["firm"] == "nope":
            raise NoSuchFirm("no firm has the slug 'nope' (firms: acme, default)")
        received.append((report, where))
        return Imported(Firm(3, "acme", "Acme Prop"), (report.account,), 5, 1, 11, 42)

    store = types.ModuleType(import_command.STORE_MODULE)
    store.import_events = import_events  # type: ignore[attr-defined]
    store.NoSuchFirm = NoSuchFirm  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, import_command.STORE_MODULE, store)
    assert run_command([str(STATEMENT), "--program", "p1", "--firm", "acme"]) == 0
    [(report, where)] = received
    assert report.account == "2090123"
    assert where == {"firm": "acme", "tenant": None, "schema": "public"}
    assert of_type(report, Account)[0].program == "p1"
    assert capsys.readouterr().out == (
        "mt4-statement-en.htm: account 2090123 (mt4-statement) into firm acme (Acme Prop, "
        "tenant 3): 5 deals, 1 balance operations, 11 events, 42 rows stored\n")
    # No firm named: the default one (None lets the store pick it).
    assert run_command([str(STATEMENT)]) == 0
    assert received[-1][1] == {"firm": None, "tenant": None, "schema": "public"}
    capsys.readouterr()
    assert run_command([str(STATEMENT), "--firm", "nope"]) == 2
    assert capsys.readouterr().err == (
        "proptrade import: error: no firm has the slug 'nope' (firms: acme, default)\n")


def test_command_reports_a_bad_file_with_status_2(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "trades.csv"
    path.write_text("time,symbol,volume\n2024.01.01 10:00,EURUSD,1\n")
    assert run_command([str(path), "--jsonl"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("proptrade import: error: trades.csv: not a MetaTrader report")


# ------------------------------------------------------------------ bad files


def refused(path: Path) -> str:
    with pytest.raises(ReportError) as caught:
        read_report(path)
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith(f"{path.name}: ")
    return caught.value.reason


@real_reports
def test_truncated_tester_report(tmp_path: Path) -> None:
    data = TESTER.read_bytes()
    path = tmp_path / "ReportTester-cut.html"
    path.write_bytes(data[: int(len(data) * 0.4)])
    assert refused(path) == ("truncated: the file ends inside the Orders table, "
                             "before the Deals table")


@real_reports
def test_truncated_xlsx(tmp_path: Path) -> None:
    data = FTMO.read_bytes()
    path = tmp_path / "ReportHistory-cut.xlsx"
    path.write_bytes(data[: int(len(data) * 0.4)])
    assert refused(path).startswith("truncated or damaged XLSX")


@real_reports
def test_xlsx_whose_worksheet_is_cut_short(tmp_path: Path) -> None:
    """A well-formed archive whose worksheet XML stops in the middle (a broken export)."""
    path = tmp_path / "ReportHistory-cut-sheet.xlsx"
    with zipfile.ZipFile(FTMO) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    assert refused(path) == ("truncated or damaged XLSX (xl/worksheets/sheet1.xml is not "
                             "a whole worksheet)")


def _workbook(path: Path, sheet: str, strings: list[str]) -> None:
    """A minimal XLSX (UTF-8) holding ``sheet``'s rows and ``strings`` as shared strings;
    style 1 shows numbers with two decimals."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    shared = "".join(f"<si><t>{text}</t></si>" for text in strings)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", f"<workbook {ns}/>")
        archive.writestr("xl/sharedStrings.xml", f"<sst {ns}>{shared}</sst>")
        archive.writestr("xl/styles.xml", (
            f'<styleSheet {ns}><numFmts><numFmt numFmtId="164" formatCode="# ##0.00"/>'
            '</numFmts><cellXfs><xf numFmtId="0"/><xf numFmtId="164"/></cellXfs>'
            "</styleSheet>"))
        archive.writestr("xl/worksheets/sheet1.xml", (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<worksheet {ns}><sheetData>{sheet}'
            "</sheetData></worksheet>"))


def test_xlsx_cells_as_other_writers_write_them(tmp_path: Path) -> None:
    """Excel and other writers than MetaTrader: attributes in another order, a cell
    without its reference, inline strings with entities and runs, a formula's value,
    single quotes, empty rows; the stored digits of a rounded number are kept."""
    from analytics.imports.xlsx_tables import read_xlsx

    sheet = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c s="1" r="C1"><v>-5025.891</v></c></row>'
        '<row r="2"/>'
        '<row r="3"><c r="B3" t="inlineStr"><is><r><t>P&amp;L</t></r>'
        '<r><t xml:space="preserve"> net </t></r></is></c><c t="n"><v>7</v></c></row>'
        "<row r='4'><c r='A4' t='str'><f>A1</f><v>Deals</v></c><c r=\"B4\"></c>"
        '<c r="C4" s="1"/><c r="D4" s="1"><v>12</v></c></row>')
    path = tmp_path / "other.xlsx"
    _workbook(path, sheet, ["Balance:"])
    document = read_xlsx(path.read_bytes())
    assert [row.cells for row in document.rows] == [
        {0: "Balance:", 2: "-5025.89"}, {1: "P&L net", 2: "7"}, {0: "Deals", 3: "12.00"}]
    assert [row.stored for row in document.rows] == [{2: "-5025.891"}, {}, {3: "12"}]


def test_deals_table_without_its_closing_rows(tmp_path: Path) -> None:
    text = HISTORY_EN.read_text(encoding="utf-8")
    cut = text.index("<td>1008</td>")
    path = tmp_path / "ReportHistory-cut.html"
    path.write_text(text[:cut] + "</td></tr></table></body></html>", encoding="utf-8")
    assert refused(path) == "truncated: the Deals table has no closing rows"


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("empty.html", b"", "empty file"),
    ("chart.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64),
     "not a MetaTrader report (a PNG image)"),
    ("trades.csv", b"Time;Symbol;Profit\n2024.01.02 10:00:00;EURUSD;12.5\n",
     "not a MetaTrader report (no HTML table: MetaTrader exports reports as HTML or XLSX)"),
    ("page.html", b"<html><body><table><tr><td>Menu</td><td>Home</td></tr></table></body></html>",
     "not a MetaTrader report (no Deals/Positions table found)"),
    ("random.bin", bytes(range(256)) * 4,
     "not a MetaTrader report (binary data, not HTML or XLSX)"),
])
def test_not_a_report(tmp_path: Path, name: str, data: bytes, reason: str) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    assert refused(path) == reason


def test_missing_file(tmp_path: Path) -> None:
    assert refused(tmp_path / "nowhere.html").startswith("cannot read the file")


def test_mt4_statement_in_windows_1252(tmp_path: Path) -> None:
    text = STATEMENT.read_text(encoding="utf-8").replace("John Smith", "José Smith")
    text = text.replace("<head>", '<head><meta http-equiv="Content-Type" '
                                  'content="text/html; charset=windows-1252">')
    path = tmp_path / "Statement.htm"
    path.write_bytes(text.encode("cp1252"))
    assert read_report(path).events == read_report(STATEMENT).events


ITALIAN = {"Trade History Report": "Rapporto della cronologia di trading",
           ">Positions<": ">Posizioni<", ">Orders<": ">Ordini<", ">Deals<": ">Operazioni<",
           ">Results<": ">Risultati<", ">Time<": ">Tempo<", ">Symbol<": ">Simbolo<",
           ">Type<": ">Tipo<", ">Price<": ">Prezzo<", ">Deal<": ">Operazione<",
           ">Direction<": ">Direzione<", ">Profit<": ">Profitto<", ">Balance<": ">Saldo<",
           ">Commission<": ">Commissione<", ">Order<": ">Ordine<", ">Position<": ">Posizione<",
           ">Comment<": ">Commento<", "Account:": "Conto:"}


def test_unsupported_language(tmp_path: Path) -> None:
    text = HISTORY_EN.read_text(encoding="utf-8")
    for english, italian in ITALIAN.items():
        text = text.replace(english, italian)
    path = tmp_path / "ReportHistory-it.html"
    path.write_text(text, encoding="utf-8")
    reason = refused(path)
    assert reason.startswith("labels in an unsupported language (found '50123456: Jane "
                             "Trader - Rapporto della cronologia di trading', "
                             "'Rapporto della cronologia di trading', 'Posizioni')")
    assert reason.endswith("supported: English, French, German (unverified), "
                           "Spanish (unverified)")


def test_events_encode_as_the_feed_does() -> None:
    encoded = msgspec.json.encode(read_report(HISTORY_FR).events)
    decoded: list[Event] = msgspec.json.decode(encoded, type=list[Event])
    assert decoded[0] == Symbol("GER40", 1.0, "EUR")


# ------------------------------------------------------------------ numbers


@pytest.mark.parametrize(("text", "decimal_comma", "expected"), [
    ("3 000.00", False, "3000.00"),
    ("10\u00a0093.75", False, "10093.75"),
    ("1,234.56", False, "1234.56"),
    ("-5 338,90", True, "-5338.90"),
    ("5.06%", False, "5.06"),
    ("1.0000", False, "1.0000"),
    ("12", True, "12"),
    ("1,234,567", True, "1234567"),
    ("abc", False, None),
    ("", False, None),
])
def test_normalize_number(text: str, decimal_comma: bool, expected: str | None) -> None:
    assert normalize_number(text, decimal_comma=decimal_comma) == expected


@pytest.mark.parametrize("code", ["0.00", "# ##0.00", "0", "0.00000", "#,##0.000"])
def test_xlsx_numbers_shown_as_excel_shows_them(code: str) -> None:
    """A number with no more decimals than its format is padded without Decimal; the
    result is the same as Excel's rounding (half away from zero) in every case."""
    from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

    from analytics.imports.xlsx_tables import _Format

    number_format = _Format(code)
    step = Decimal(1).scaleb(-number_format.decimals)
    for value in ["5", "-5", "0", "-0", "0.5", "-0.00", "00012", "1.005", "1211.600000",
                  "2134.000000", "-4.65", "0.77551", "1E-5", "12.3456789", "-0.005", "abc",
                  *(f"{n / 7:.{n % 8}f}" for n in range(-3000, 3000, 7))]:
        try:
            expected = str(Decimal(value).quantize(step, rounding=ROUND_HALF_UP))
        except InvalidOperation:
            expected = value
        assert number_format.render(value) == expected, value


def test_a_file_over_the_size_limit_is_refused_unread(monkeypatch: pytest.MonkeyPatch) -> None:
    """``proptrade import`` and the gateway's upload share one limit (MAX_REPORT_BYTES)."""
    from analytics.imports import report as report_module

    path = MT_REPORTS / "mt5-history-propfirm-ftmo-1512497509.xlsx"
    monkeypatch.setattr(report_module, "MAX_REPORT_BYTES", path.stat().st_size - 1)
    with pytest.raises(ReportError, match=r"too large: 50,183 bytes"):
        read_report(path)
    monkeypatch.setattr(report_module, "MAX_REPORT_BYTES", path.stat().st_size)
    assert read_report(path).account == "1512497509"
