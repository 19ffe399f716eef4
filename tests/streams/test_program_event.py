"""The ``program`` feed event (an extension of CONTRACTS.md §1): programs published in the
feed reach the engine before the accounts that use them."""

from __future__ import annotations

LIVE = {"id": "live-1", "initial_balance": 1000, "rules": {"max_loss": {"amount": 100}}}
FILED = {"id": "filed", "initial_balance": 5000, "rules": {}}


def test_an_account_opens_on_a_program_from_the_feed(replay, feed) -> None:
    feed.symbol().add({"type": "program", "document": LIVE})
    feed.account("2026-03-02T08:00:00Z", "live-1")
    feed.quote("2026-03-02T08:00:00Z", 2000, 2000.5)
    feed.buy("2026-03-02T08:00:01Z", 1, 1, 2000.5)
    feed.quote("2026-03-02T08:00:02Z", 1999, 1999.5)  # −150 on 1 lot: below 900
    result = replay(FILED, feed)
    assert result.code == 0, result.stderr
    assert result.brief("breach", "account", "rule", "floor") == [
        {"account": "A1", "rule": "max_loss", "floor": 900.0}]


def test_a_redefinition_applies_to_accounts_opened_after_it(replay, feed) -> None:
    feed.symbol().add({"type": "program", "document": LIVE})
    feed.account("2026-03-02T08:00:00Z", "live-1", account="OLD")
    tighter = {**LIVE, "rules": {"max_loss": {"amount": 10}}}
    feed.add({"type": "program", "document": tighter})
    feed.account("2026-03-02T08:00:00Z", "live-1", account="NEW")
    result = replay(FILED, feed)
    assert result.state("OLD")["max_loss_floor"] == 900.0
    assert result.state("NEW")["max_loss_floor"] == 990.0


def test_an_invalid_program_in_the_feed_names_the_field_and_the_run_goes_on(replay,
                                                                             feed) -> None:
    bad = {"id": "bad", "initial_balance": 1000,
           "rules": {"max_loss": {"amount": 5, "mode": "sideways"}}}
    feed.symbol().add({"type": "program", "document": bad})
    feed.account("2026-03-02T08:00:00Z", "bad")
    feed.account("2026-03-02T08:00:00Z", "filed", account="A2")
    result = replay(FILED, feed)
    assert result.code == 1
    assert result.stderr[0].startswith("line 2: document.rules.max_loss.mode: ")
    assert result.stderr[1].startswith("line 3: ")  # its account has no program
    assert result.state("A2")["status"] == "active"
