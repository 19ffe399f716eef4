"""`proptrade up` stopped and started again, and its answers held against its own log.

A restart keeps everything (firms, users, challenges, accounts, their numbers, the desk's
events, history, imports) and trading goes on on the same accounts; the answers on
``risk.events`` after kills and restarts are exactly what the engine answers to the feed
the broker kept (nothing lost, nothing twice).
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.test_up import (
    _call,
    _staff_token,
    _stop,
    _user_token,
    _wait_for,
    environment,
    free_port,
    own_database,  # noqa: F401 - the autouse fixture: a database of the test's own
    proptrade_command,
    start_up,
)

pytestmark = pytest.mark.xdist_group("up")  # one `up` at a time (see tests/test_up.py)

REPORT = Path(__file__).parent / "analytics" / "reports" / "mt5-history-en.html"


@pytest.mark.timeout(400)
def test_a_restart_keeps_the_account_its_history_the_import_and_the_breach(
        tmp_path: Path) -> None:
    env = environment(tmp_path)
    process, printed, gateway = start_up(tmp_path, env)
    api = f"{gateway}/api/v1"
    try:
        # A demonstration: a trader confirms their own payment (DEMO_PAYMENTS unset).
        assert "payments: demo" in printed, printed
        desk = _staff_token(api, tmp_path)
        trader = _user_token(api, tmp_path, "keeps@trader.test", None)
        status, bought = _call(f"{api}/challenges", {"program": "demo-100k"}, trader)
        assert status == 201, bought
        challenge = bought["id"]  # type: ignore[index]
        status, paid = _call(f"{api}/challenges/{challenge}/confirm-payment", {}, trader)
        assert status == 200 and paid["status"] == "active", paid  # type: ignore[index]
        login = paid["accounts"][0]["login"]  # type: ignore[index]

        def deals() -> int:
            status, stats = _call(f"{api}/accounts/{login}/statistics", token=trader)
            return int(stats["total_deals"] or 0) if status == 200 else 0  # type: ignore[index]

        _wait_for("the bought account's first deals in its history", deals, 120)
        breaches = _wait_for("breaches on the desk", lambda: _call(
            f"{api}/risk/events", token=desk)[1], 60)
        # The simulator's accounts are the demo firm's: their breaches reach its desk.
        assert all(e["kind"] == "breach" for e in breaches)  # type: ignore[union-attr]
        assert any(e["account"].startswith("A") for e in breaches)  # type: ignore[union-attr]
        imported = subprocess.run([*proptrade_command(), "import", str(REPORT)], env=env,
                                  cwd=tmp_path, capture_output=True, text=True, timeout=120)
        assert imported.returncode == 0, imported.stderr
        account = re.search(r"account (\S+) \(mt5-history\)", imported.stdout + imported.stderr)
        assert account, imported.stdout + imported.stderr
        status, report = _call(f"{api}/accounts/{account[1]}/statistics", token=desk)
        assert status == 200, report
        status, before = _call(f"{api}/accounts/{login}", token=trader)
        assert status == 200, before
        curve_before = _call(f"{api}/accounts/{login}/equity?points=500", token=trader)[1]
        assert curve_before, "no equity history before the stop"
        deals_before = deals()
        _stop(process)

        process, printed, gateway = start_up(tmp_path, env)
        api = f"{gateway}/api/v1"
        assert "broker log kept" in printed, printed
        password = "correct horse battery"
        trader = _call(f"{api}/auth/login", {"email": "keeps@trader.test",
                                             "password": password})[1]["access_token"]  # type: ignore[index]
        desk = _call(f"{api}/auth/login", {"email": "desk@firm.test",
                                           "password": password})[1]["access_token"]  # type: ignore[index]
        status, again = _call(f"{api}/challenges/{challenge}", token=trader)
        assert status == 200, again
        assert again["status"] == "active"  # type: ignore[index]
        assert again["accounts"][0]["login"] == login  # type: ignore[index]
        status, numbers = _call(f"{api}/accounts/{login}", token=trader)
        assert status == 200 and numbers["status"] == "active", numbers  # type: ignore[index]
        assert numbers["balance"] is not None, numbers  # type: ignore[index]
        # The desk's events of the first run are all still there.
        kept = {e["id"] for e in _call(f"{api}/risk/events?limit=500", token=desk)[1]}  # type: ignore[union-attr]
        assert {e["id"] for e in breaches} <= kept  # type: ignore[union-attr]
        # The import and the equity history survived.
        assert _call(f"{api}/accounts/{account[1]}/statistics", token=desk) == (200, report)
        curve_after = _call(f"{api}/accounts/{login}/equity?points=500", token=trader)[1]
        assert curve_after and curve_after[0] == curve_before[0]  # type: ignore[index]
        question = {"program": "demo-100k", "phase": 1, "changes": {}}
        status, answer = _call(f"{api}/analytics/what-if", question, desk)
        assert status == 200, answer  # the history knows the platform's account
        # And the account trades again on the demo broker.
        _wait_for("the account's deals after the restart", lambda: deals() > deals_before, 120)
        _stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def answers_match_the_log(tmp_path: Path, env: dict[str, str]) -> tuple[int, int]:
    """Start the broker alone on `up`'s data directory and hold every answer on
    ``risk.events`` against the engine's answers to the feed it kept: per account the
    same answers in the same order — a prefix of them, since the stop may come before the
    worker has read the last events — and no answer twice. Returns (answers, expected)."""
    port = free_port()
    broker = subprocess.Popen([*proptrade_command(), "broker", "--port", str(port)],
                              env=env, cwd=tmp_path, stdout=subprocess.PIPE, text=True,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        assert broker.stdout is not None
        for line in broker.stdout:
            if "ready at" in line:
                break
        else:
            raise AssertionError("the broker did not start on up's data directory")
        return _compare(f"127.0.0.1:{port}", tmp_path / "data" / "programs")
    finally:
        broker.terminate()
        broker.wait(10)
        broker.stdout.close()  # type: ignore[union-attr]


def _compare(bootstrap: str, programs: Path) -> tuple[int, int]:
    from streams.engine import Engine, FeedError
    from streams.events import msgpack_decoder
    from streams.settings import load_settings
    from streams.topics import Topics
    from streams.wire import answer_decoder, batch_decoder
    from streams.worker import programs_from
    from tests.streams.streamkit import read_topic

    topics = Topics.of(load_settings({"KAFKA_BOOTSTRAP": bootstrap}))

    async def read() -> tuple[list[Any], list[Any]]:
        feed = (await read_topic(bootstrap, topics.accounts, topics.partitions)
                + await read_topic(bootstrap, topics.quotes, topics.quote_partitions))
        answers = await read_topic(bootstrap, topics.events, topics.partitions)
        return feed, answers

    feed, records = asyncio.run(read())
    numbered: dict[int, Any] = {}
    for record in feed:
        batch = batch_decoder.decode(record.value)
        for seq, raw in zip(batch.seqs, batch.events, strict=True):
            event = msgpack_decoder.decode(raw)
            # A batch the broker stored but did not acknowledge before a kill is sent
            # again: the same numbers with the same events, which readers drop by number.
            assert numbered.setdefault(seq, event) == event, f"event {seq}: two different"
    engine = Engine(programs_from([str(programs)]))
    expected: dict[str, list[Any]] = defaultdict(list)
    for seq in sorted(numbered):
        try:
            for output in engine.apply(numbered[seq]):
                expected[output.account].append(output)
        except FeedError:
            pass
    # A batch the broker stored but did not acknowledge before a kill is sent again by
    # the worker's producer: the same answers under the same ids, which every reader
    # drops by id (the desk's table, the history). Two different answers under one id, or
    # one answer twice in the engine's order, would be a doubled verdict.
    unique: dict[str, Any] = {}
    for record in records:
        answer = answer_decoder.decode(record.value)
        assert unique.setdefault(answer.id, answer) == answer, f"{answer.id}: two answers"
    answers = list(unique.values())
    published: dict[str, list[Any]] = defaultdict(list)
    for answer in sorted(answers, key=lambda a: a.seq):
        published[answer.output.account].append(answer.output)
    for account, outputs in published.items():
        assert outputs == expected[account][:len(outputs)], account
    return len(answers), sum(len(v) for v in expected.values())
