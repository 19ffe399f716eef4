"""MetaTrader's labels in every supported language, one :class:`Language` each.

Every label is stored *normalised* (:func:`normalize`: lower case, accents and a trailing
colon removed, spaces collapsed), so "Solde Drawdown Maximal:" and "solde drawdown
maximal" are one key. Adding a language is adding one :class:`Language` to
:data:`LANGUAGES`: MetaTrader keeps its layout in every language and translates only the
words, so the parsers need nothing else.

English and French are verified against real reports (``mt-reports/README.md``: an English
Strategy Tester report and a French Trade History XLSX); the French words of sections that
file does not print (tester settings, equity drawdown, …), and all of German and Spanish,
are from memory of MT5's localisation and marked unverified where they stand.

Statistic keys (``Report.printed``) are MetaTrader's *English* label in snake_case, the
same key in every language. A compound cell gives two keys, the second named by what the
part in brackets holds: ``"152.73 (5.06%)"`` → ``key`` and ``key_pct``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ENGLISH", "LANGUAGES", "Language", "Stat", "normalize"]

Stat = tuple[str, str | None]  # (key of the main number, key of the bracketed number)


def normalize(text: str) -> str:
    """A label as the tables hold it: ``"Facilités de crédit :"`` → ``"facilites de credit"``."""
    if text.isascii():  # most cells (numbers, times, English words): no accents to strip
        return " ".join(text.lower().split()).rstrip(":").rstrip()
    decomposed = unicodedata.normalize("NFKD", text.replace("’", "'"))
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(plain.lower().split()).rstrip(":").rstrip()


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    verified: bool
    decimal_comma: bool  # "1,5" is one and a half (else the comma separates thousands)
    titles: Mapping[str, str]  # report title → kind
    sections: Mapping[str, str]  # section banner → section key
    columns: Mapping[str, str]  # table header → column key
    deal_types: Mapping[str, str]  # value of a Type column → canonical type
    directions: Mapping[str, str]  # value of a Direction column → in / out / inout
    meta: Mapping[str, str]  # header or settings label → meta key
    stats: Mapping[str, Stat]  # statistic label → keys in Report.printed
    prefixes: frozenset[str] = frozenset()  # MT4 splits "Largest | profit trade:" in two cells

    def label_count(self, texts: set[str]) -> int:
        """How many of ``texts`` (normalised) are labels of this language: picks the language."""
        tables = (self.titles, self.sections, self.columns, self.meta, self.stats)
        return sum(1 for text in texts if any(text in table for table in tables))


# Kinds of report, as Report.kind names them.
HISTORY, TESTER, STATEMENT = "mt5-history", "mt5-tester", "mt4-statement"

# Section keys. MT4's "Closed Transactions" is its own key: its table has one row per trade.
POSITIONS, ORDERS, DEALS, RESULTS, SETTINGS = "positions", "orders", "deals", "results", "settings"
OPEN_POSITIONS, WORKING_ORDERS = "open_positions", "working_orders"
CLOSED_TRANSACTIONS, OPEN_TRADES, SUMMARY = "closed_transactions", "open_trades", "summary"

_EN_COLUMNS = {
    "time": "time", "open time": "open_time", "close time": "close_time", "deal": "deal",
    "order": "order", "position": "position", "ticket": "ticket", "symbol": "symbol",
    "item": "symbol", "type": "type", "direction": "direction", "volume": "volume",
    "size": "volume", "price": "price", "s / l": "sl", "s/l": "sl", "t / p": "tp",
    "t/p": "tp", "commission": "commission", "fee": "fee", "taxes": "taxes", "swap": "swap",
    "profit": "profit", "balance": "balance", "comment": "comment", "state": "state",
}

# MT5 writes deal types and directions in English whatever the interface language (the
# French FTMO report says "buy", "balance", "in"); each language adds its own words.
_EN_DEAL_TYPES = {
    "buy": "buy", "sell": "sell", "balance": "balance", "credit": "credit",
    "charge": "charge", "correction": "correction", "bonus": "bonus",
    "commission": "commission", "commission daily": "commission",
    "commission monthly": "commission", "agent commission daily": "commission",
    "agent commission monthly": "commission", "interest": "interest",
    "dividend": "dividend", "franked dividend": "dividend", "tax": "tax",
    "deposit": "balance", "withdrawal": "balance",
}
_EN_DIRECTIONS = {"in": "in", "out": "out", "in/out": "inout", "inout": "inout",
                  "out by": "out"}

_EN_META = {
    "name": "name", "account": "account", "company": "company", "broker": "company",
    "date": "date", "expert": "expert", "symbol": "symbol", "period": "period",
    "currency": "currency", "initial deposit": "initial_deposit", "leverage": "leverage",
}

_EN_STATS: dict[str, Stat] = {
    # MT5 Results (tester and history)
    "total net profit": ("total_net_profit", None),
    "gross profit": ("gross_profit", None),
    "gross loss": ("gross_loss", None),
    "profit factor": ("profit_factor", None),
    "expected payoff": ("expected_payoff", None),
    "recovery factor": ("recovery_factor", None),
    "sharpe ratio": ("sharpe_ratio", None),
    "z-score": ("z_score", "z_score_pct"),
    "ahpr": ("ahpr", "ahpr_pct"),
    "ghpr": ("ghpr", "ghpr_pct"),
    "lr correlation": ("lr_correlation", None),
    "lr standard error": ("lr_standard_error", None),
    "ontester result": ("on_tester_result", None),
    "balance drawdown absolute": ("balance_drawdown_absolute", None),
    "balance drawdown maximal": ("balance_drawdown_maximal", "balance_drawdown_maximal_pct"),
    "balance drawdown relative": ("balance_drawdown_relative",
                                  "balance_drawdown_relative_money"),
    "equity drawdown absolute": ("equity_drawdown_absolute", None),
    "equity drawdown maximal": ("equity_drawdown_maximal", "equity_drawdown_maximal_pct"),
    "equity drawdown relative": ("equity_drawdown_relative", "equity_drawdown_relative_money"),
    "margin level": ("margin_level", None),
    "total trades": ("total_trades", None),
    "total deals": ("total_deals", None),
    "short trades (won %)": ("short_trades", "short_trades_won_pct"),
    "long trades (won %)": ("long_trades", "long_trades_won_pct"),
    "profit trades (% of total)": ("profit_trades", "profit_trades_pct"),
    "loss trades (% of total)": ("loss_trades", "loss_trades_pct"),
    "largest profit trade": ("largest_profit_trade", None),
    "largest loss trade": ("largest_loss_trade", None),
    "average profit trade": ("average_profit_trade", None),
    "average loss trade": ("average_loss_trade", None),
    "maximum consecutive wins ($)": ("max_consecutive_wins", "max_consecutive_wins_money"),
    "maximum consecutive losses ($)": ("max_consecutive_losses",
                                       "max_consecutive_losses_money"),
    "maximal consecutive profit (count)": ("maximal_consecutive_profit",
                                           "maximal_consecutive_profit_count"),
    "maximal consecutive loss (count)": ("maximal_consecutive_loss",
                                         "maximal_consecutive_loss_count"),
    "average consecutive wins": ("average_consecutive_wins", None),
    "average consecutive losses": ("average_consecutive_losses", None),
    "correlation (profits,mfe)": ("correlation_profits_mfe", None),
    "correlation (profits,mae)": ("correlation_profits_mae", None),
    "correlation (mfe,mae)": ("correlation_mfe_mae", None),
    "minimal position holding time": ("minimal_position_holding_time", None),
    "maximal position holding time": ("maximal_position_holding_time", None),
    "average position holding time": ("average_position_holding_time", None),
    "history quality": ("history_quality", None),
    "bars": ("bars", None),
    "ticks": ("ticks", None),
    "symbols": ("symbols", None),
    # the account block under an MT5 history's Deals, and MT4's Summary
    "balance": ("balance", None),
    "credit facility": ("credit_facility", None),
    "floating p/l": ("floating_pl", None),
    "equity": ("equity", None),
    "free margin": ("free_margin", None),
    "margin": ("margin", None),
    "deposit/withdrawal": ("deposit_withdrawal", None),
    "closed trade p/l": ("closed_trade_pl", None),
    # MT4 names for the same statistics; its drawdowns keep their own keys (MT4 measures
    # them its own way, so they are not the MT5 balance drawdowns)
    "absolute drawdown": ("absolute_drawdown", None),
    "maximal drawdown": ("maximal_drawdown", "maximal_drawdown_pct"),
    "relative drawdown": ("relative_drawdown", "relative_drawdown_money"),
    "short positions (won %)": ("short_trades", "short_trades_won_pct"),
    "long positions (won %)": ("long_trades", "long_trades_won_pct"),
    "maximum consecutive wins (profit in money)": ("max_consecutive_wins",
                                                   "max_consecutive_wins_money"),
    "maximum consecutive losses (loss in money)": ("max_consecutive_losses",
                                                   "max_consecutive_losses_money"),
    "maximal consecutive profit (count of wins)": ("maximal_consecutive_profit",
                                                   "maximal_consecutive_profit_count"),
    "maximal consecutive loss (count of losses)": ("maximal_consecutive_loss",
                                                   "maximal_consecutive_loss_count"),
}

ENGLISH = Language(
    code="en", name="English", verified=True, decimal_comma=False,
    titles={"trade history report": HISTORY, "strategy tester report": TESTER},
    sections={
        "positions": POSITIONS, "orders": ORDERS, "deals": DEALS, "results": RESULTS,
        "settings": SETTINGS, "open positions": OPEN_POSITIONS,
        "working orders": WORKING_ORDERS, "closed transactions": CLOSED_TRANSACTIONS,
        "open trades": OPEN_TRADES, "summary": SUMMARY,
    },
    columns=_EN_COLUMNS, deal_types=_EN_DEAL_TYPES, directions=_EN_DIRECTIONS,
    meta=_EN_META, stats=_EN_STATS,
    prefixes=frozenset({"largest", "average", "maximum", "maximal"}),
)

# Verified against the FTMO report (mt5-history-propfirm-ftmo-1512497509.xlsx), including
# MetaQuotes' own oddities: swap is "Echange", equity is "Action".
_FR_STATS_VERIFIED: dict[str, Stat] = {
    "profit total net": ("total_net_profit", None),
    "profit brut": ("gross_profit", None),
    "perte brut": ("gross_loss", None),
    "facteur de profit": ("profit_factor", None),
    "remboursement attendu": ("expected_payoff", None),
    "facteur de recuperation": ("recovery_factor", None),
    "ratio de sharpe": ("sharpe_ratio", None),
    "solde drawdown absolu": ("balance_drawdown_absolute", None),
    "solde drawdown maximal": ("balance_drawdown_maximal", "balance_drawdown_maximal_pct"),
    "solde drawdown relatif": ("balance_drawdown_relative", "balance_drawdown_relative_money"),
    "nb trades": ("total_trades", None),
    "positions courtes (gagnees %)": ("short_trades", "short_trades_won_pct"),
    "positions longues (gagnees %)": ("long_trades", "long_trades_won_pct"),
    "positions gagnantes (% du total)": ("profit_trades", "profit_trades_pct"),
    "positions perdantes (% du total)": ("loss_trades", "loss_trades_pct"),
    "plus large position gagnante": ("largest_profit_trade", None),
    "plus large position perdante": ("largest_loss_trade", None),
    "moyenne position gagnante": ("average_profit_trade", None),
    "moyenne position perdante": ("average_loss_trade", None),
    "maximum realisations consecutives ($)": ("max_consecutive_wins",
                                              "max_consecutive_wins_money"),
    "maximum pertes consecutives ($)": ("max_consecutive_losses",
                                        "max_consecutive_losses_money"),
    "maximum gains consecutifs (nombre)": ("maximal_consecutive_profit",
                                           "maximal_consecutive_profit_count"),
    "maximum pertes consecutives (nombre)": ("maximal_consecutive_loss",
                                             "maximal_consecutive_loss_count"),
    "moyenne gains consecutifs": ("average_consecutive_wins", None),
    "moyenne pertes consecutives": ("average_consecutive_losses", None),
    "solde": ("balance", None),
    "facilites de credit": ("credit_facility", None),
    "p/l flottant": ("floating_pl", None),
    "action": ("equity", None),
    "marge libre": ("free_margin", None),
    "marge": ("margin", None),
    "niveau de la marge": ("margin_level", None),
}
# Unverified: printed only by the tester, or by MT4, which the FTMO file is not.
_FR_STATS_UNVERIFIED: dict[str, Stat] = {
    "nb transactions": ("total_deals", None),
    "z-score": ("z_score", "z_score_pct"),
    "ahpr": ("ahpr", "ahpr_pct"),
    "ghpr": ("ghpr", "ghpr_pct"),
    "correlation lr": ("lr_correlation", None),
    "erreur standard lr": ("lr_standard_error", None),
    "fonds propres drawdown absolu": ("equity_drawdown_absolute", None),
    "fonds propres drawdown maximal": ("equity_drawdown_maximal",
                                       "equity_drawdown_maximal_pct"),
    "fonds propres drawdown relatif": ("equity_drawdown_relative",
                                       "equity_drawdown_relative_money"),
    "niveau de marge": ("margin_level", None),
    "qualite de l'historique": ("history_quality", None),
    "barres": ("bars", None),
    "symboles": ("symbols", None),
}

FRENCH = Language(
    code="fr", name="French", verified=True, decimal_comma=True,
    titles={"rapport d'historique de trading": HISTORY,
            "rapport de l'historique de trading": HISTORY,
            "rapport du testeur de strategie": TESTER},  # tester title unverified
    sections={
        "positions": POSITIONS, "ordres": ORDERS, "transactions": DEALS,
        "resultats": RESULTS,
        # unverified from here on
        "parametres": SETTINGS, "positions ouvertes": OPEN_POSITIONS,
        "ordres en cours": WORKING_ORDERS, "transactions fermees": CLOSED_TRANSACTIONS,
        "transactions cloturees": CLOSED_TRANSACTIONS, "trades ouverts": OPEN_TRADES,
        "resume": SUMMARY,
    },
    columns={
        "heure": "time", "heure d'ouverture": "open_time", "operation": "deal",
        "ordre": "order", "position": "position", "symbole": "symbol", "type": "type",
        "direction": "direction", "volume": "volume", "prix": "price", "s / l": "sl",
        "t / p": "tp", "commission": "commission", "frais": "fee", "echange": "swap",
        "profit": "profit", "solde": "balance", "commentaire": "comment", "etat": "state",
        # unverified
        "ticket": "ticket", "heure de fermeture": "close_time", "taille": "volume",
        "swap": "swap", "taxes": "taxes",
    },
    deal_types={**_EN_DEAL_TYPES, "achat": "buy", "vente": "sell", "solde": "balance",
                "credit": "credit", "bonus": "bonus", "frais": "charge"},
    directions={**_EN_DIRECTIONS, "entree": "in", "sortie": "out"},  # French words unverified
    meta={"nom": "name", "compte": "account", "courtier": "company", "date": "date",
          # unverified: tester settings
          "expert": "expert", "symbole": "symbol", "periode": "period", "devise": "currency",
          "depot initial": "initial_deposit", "effet de levier": "leverage",
          "societe": "company"},
    stats={**_FR_STATS_VERIFIED, **_FR_STATS_UNVERIFIED},
)

# German: unverified, from memory of MT5's German interface; report titles and a few
# words are given in two forms where MetaQuotes' choice is uncertain.
GERMAN = Language(
    code="de", name="German", verified=False, decimal_comma=True,
    titles={"handelshistorie bericht": HISTORY, "bericht uber die handelshistorie": HISTORY,
            "strategietester bericht": TESTER, "bericht des strategietesters": TESTER},
    sections={"positionen": POSITIONS, "orders": ORDERS, "auftrage": ORDERS,
              "deals": DEALS, "geschafte": DEALS, "ergebnisse": RESULTS,
              "einstellungen": SETTINGS, "offene positionen": OPEN_POSITIONS},
    columns={"zeit": "time", "eroffnungszeit": "open_time", "deal": "deal",
             "geschaft": "deal", "order": "order", "auftrag": "order",
             "position": "position", "symbol": "symbol", "typ": "type",
             "richtung": "direction", "volumen": "volume", "preis": "price", "s / l": "sl",
             "t / p": "tp", "kommission": "commission", "provision": "commission",
             "gebuhr": "fee", "swap": "swap", "gewinn": "profit", "kontostand": "balance",
             "saldo": "balance", "kommentar": "comment", "status": "state"},
    deal_types={**_EN_DEAL_TYPES, "kauf": "buy", "verkauf": "sell", "kontostand": "balance",
                "guthaben": "balance", "kredit": "credit", "korrektur": "correction"},
    directions=_EN_DIRECTIONS,
    meta={"name": "name", "konto": "account", "firma": "company", "unternehmen": "company",
          "datum": "date", "experte": "expert", "symbol": "symbol", "zeitraum": "period",
          "wahrung": "currency", "ersteinzahlung": "initial_deposit",
          "hebel": "leverage"},
    stats={
        "gesamtnettogewinn": ("total_net_profit", None),
        "bruttogewinn": ("gross_profit", None),
        "bruttoverlust": ("gross_loss", None),
        "profitfaktor": ("profit_factor", None),
        "erwartetes ergebnis": ("expected_payoff", None),
        "erholungsfaktor": ("recovery_factor", None),
        "sharpe ratio": ("sharpe_ratio", None),
        "trades gesamt": ("total_trades", None),
        "deals gesamt": ("total_deals", None),
        "kontostand": ("balance", None),
        "kapital": ("equity", None),
    },
)

# Spanish: unverified, from memory of MT5's Spanish interface.
SPANISH = Language(
    code="es", name="Spanish", verified=False, decimal_comma=True,
    titles={"informe del historial de trading": HISTORY,
            "informe del historial comercial": HISTORY,
            "informe del simulador de estrategias": TESTER},
    sections={"posiciones": POSITIONS, "ordenes": ORDERS, "transacciones": DEALS,
              "resultados": RESULTS, "configuracion": SETTINGS,
              "posiciones abiertas": OPEN_POSITIONS},
    columns={"fecha/hora": "time", "hora": "time", "tiempo": "time",
             "transaccion": "deal", "operacion": "deal", "orden": "order",
             "posicion": "position", "simbolo": "symbol", "tipo": "type",
             "direccion": "direction", "volumen": "volume", "precio": "price",
             "s / l": "sl", "t / p": "tp", "comision": "commission", "cargo": "fee",
             "tarifa": "fee", "swap": "swap", "beneficio": "profit", "balance": "balance",
             "comentario": "comment", "estado": "state"},
    deal_types={**_EN_DEAL_TYPES, "compra": "buy", "venta": "sell", "balance": "balance",
                "credito": "credit", "correccion": "correction"},
    directions=_EN_DIRECTIONS,
    meta={"nombre": "name", "cuenta": "account", "compania": "company", "fecha": "date",
          "experto": "expert", "simbolo": "symbol", "periodo": "period", "divisa": "currency",
          "deposito inicial": "initial_deposit", "apalancamiento": "leverage"},
    stats={
        "beneficio neto total": ("total_net_profit", None),
        "beneficio bruto": ("gross_profit", None),
        "perdidas brutas": ("gross_loss", None),
        "factor de beneficio": ("profit_factor", None),
        "beneficio esperado": ("expected_payoff", None),
        "factor de recuperacion": ("recovery_factor", None),
        "ratio de sharpe": ("sharpe_ratio", None),
        "total de operaciones": ("total_trades", None),
        "total de transacciones": ("total_deals", None),
        "balance": ("balance", None),
        "equidad": ("equity", None),
    },
)

# In order of preference when two languages recognise as many labels.
LANGUAGES: tuple[Language, ...] = (ENGLISH, FRENCH, GERMAN, SPANISH)


def supported_names() -> str:
    """``"English, French, German (unverified), Spanish (unverified)"``, for error messages."""
    return ", ".join(lang.name if lang.verified else f"{lang.name} (unverified)"
                     for lang in LANGUAGES)
