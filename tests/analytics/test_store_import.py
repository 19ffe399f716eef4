"""`proptrade import FILE` into the history store: when no analytics process serves the
store it opens the embedded directory itself; importing a file twice keeps one copy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.analytics import MT_REPORTS

TESTER = MT_REPORTS / "mt5-tester-didinska-GoldHedgeRecovery-v330.html"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_importing_a_report_twice_stores_it_once(tmp_path: Path) -> None:
    env = {**os.environ, "PROPTRADE_DATA_DIR": str(tmp_path), "CLICKHOUSE_URL": "",
           "ANALYTICS_PORT": str(_free_port())}  # nothing listens there
    for _ in range(2):
        done = subprocess.run([sys.executable, "-m", "streams.cli", "import", str(TESTER)],
                              env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "account GoldHedgeRecovery-XAUUSD (mt5-tester)" in done.stdout
    # Another process (chDB: one per directory) reads what was stored.
    count = subprocess.run([sys.executable, "-c", (
        "from storage.clickhouse import open_store\n"
        f"store = open_store(None, __import__('pathlib').Path({str(tmp_path)!r}))\n"
        "print(store.query('SELECT count() FROM deals FINAL').rows[0][0],"
        " store.query('SELECT count() FROM balance_operations FINAL').rows[0][0])")],
        env=env, capture_output=True, text=True, timeout=120)
    assert count.returncode == 0, count.stderr
    assert count.stdout.split() == ["290", "0"]  # the deposit opens the account


def test_a_bad_file_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "statement.csv"
    bad.write_text("Time,Deal,Symbol\n")
    done = subprocess.run([sys.executable, "-m", "streams.cli", "import", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("proptrade import: error: statement.csv: ")
