"""The ClickHouse HTTP front: clickhouse-connect (ServerStore) against chDB (EmbeddedStore).

Each test takes a database of its own in the session's chDB directory (``chdb_path``: one
per process) and a front on a free port over it, running on its own event loop in a
background thread (``FrontThread``). The same calls are made through the front and on the
EmbeddedStore directly, and must give the same values.
"""

from __future__ import annotations

import base64
import struct
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import clickhouse_connect
import pytest
import requests

from storage.clickhouse import MIGRATIONS, EmbeddedStore, ServerStore, StoreError, migrate
from storage.clickhouse_front import FrontThread, escape_param, shape_of

PASSWORD = "front secret"
DEALS_SQL = (
    "SELECT account, toUnixTimestamp64Micro(ts) AS ts, deal, symbol, side, entry, volume,"
    " price, profit, commission, swap, fee, has_profit, seq, event_id"
    " FROM deals FINAL WHERE account = {account:String} ORDER BY ts, deal")

ALL_MIGRATIONS = sorted(path.name for path in MIGRATIONS.glob("*.sql"))


@pytest.fixture
def embedded(chdb_path: Path) -> Iterator[EmbeddedStore]:
    store = EmbeddedStore(chdb_path, f"front_{uuid.uuid4().hex[:12]}")
    try:
        yield store
    finally:
        for database in (store.database, f"{store.database}_other"):
            store.command(f"DROP DATABASE IF EXISTS {database}")
        store.close()


@pytest.fixture
def front(embedded: EmbeddedStore) -> Iterator[FrontThread]:
    with FrontThread(embedded, password=PASSWORD) as running:
        yield running


def server_store(front: FrontThread, database: str | None = None,
                 password: str = PASSWORD) -> ServerStore:
    return ServerStore(f"http://default:{password}@127.0.0.1:{front.port}",
                       database or front.front.store.database)


@pytest.fixture
def remote(front: FrontThread) -> Iterator[ServerStore]:
    store = server_store(front)
    try:
        yield store
    finally:
        store.close()


def http(front: FrontThread, method: str = "POST", body: bytes | str | None = None,
         auth: tuple[str, str] | None = ("default", PASSWORD), path: str = "/",
         **params: Any) -> requests.Response:
    with requests.Session() as session:
        return session.request(method, front.url + path, params=params, data=body,
                               auth=auth, timeout=30)


def deals(account: str, start: int = 0) -> dict[str, list[Any]]:
    """Three deals of ``account``, with cents a float cast would get wrong (0.29, -0.07)."""
    n = 3
    return {
        "tenant": [7] * n, "account": [account] * n,
        "ts": [1_700_000_000_000_000 + start + i * 1_000_001 for i in range(n)],
        "deal": [f"{account}-d{i}" for i in range(n)], "position": ["p1"] * n,
        "symbol": ["XAUUSD", "EURUSD", "XAUUSD"], "side": ["buy", "sell", "buy"],
        "entry": ["in", "out", "out"], "volume": [0.1, 1.0, 0.01],
        "price": [2000.5, 1.08345, 1999.99], "profit": [0.0, 0.29, -12.34],
        "commission": [-0.07, -0.07, 0.0], "swap": [0.0, -1.1, 0.0], "fee": [0.0, 0.0, 0.01],
        "has_profit": [False, True, True], "seq": [start + i for i in range(n)],
        "event_id": [f"{account}-e{i}" for i in range(n)],
    }


def test_migrate_through_the_front(embedded, remote):
    assert migrate(remote) == ALL_MIGRATIONS
    assert migrate(embedded) == []  # the same directory: applied once, seen by both
    tables = "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"
    assert remote.query(tables) == embedded.query(tables)
    assert "deals" in [row[0] for row in embedded.query(tables).rows]


def test_insert_and_query_give_the_same_values_on_both_drivers(embedded, remote):
    migrate(remote)
    assert remote.insert("deals", deals("via front")) == 3
    assert embedded.insert("deals", deals("direct")) == 3
    for account in ("via front", "direct"):
        through_front = remote.query(DEALS_SQL, {"account": account})
        direct = embedded.query(DEALS_SQL, {"account": account})
        assert through_front == direct
        assert [[type(v) for v in row] for row in through_front.rows] == [
            [type(v) for v in row] for row in direct.rows]
    front_rows = remote.query(DEALS_SQL, {"account": "via front"}).dicts()
    direct_rows = embedded.query(DEALS_SQL, {"account": "direct"}).dicts()
    for row in front_rows + direct_rows:
        row.pop("account"), row.pop("deal"), row.pop("event_id")
    assert front_rows == direct_rows  # inserted through either driver: the same rows
    assert [row["profit"] for row in front_rows] == [0, 0.29, -12.34]
    assert [row["commission"] for row in front_rows] == [-0.07, -0.07, 0]
    assert [row["ts"] for row in front_rows] == deals("x")["ts"]
    assert [row["side"] for row in front_rows] == ["buy", "sell", "buy"]
    assert [row["has_profit"] for row in front_rows] == [False, True, True]
    total = "SELECT sum(profit) AS p, count() AS n FROM deals WHERE account = {account:String}"
    assert remote.query(total, {"account": "via front"}).one() == {"p": -12.05, "n": 3}


def test_text_through_input_arrives_byte_for_byte(embedded, remote):
    migrate(remote)
    odd = ["tab\there", "back\\slash \\n", 'quote \' and "', "line\nbreak", "ünïcødé €", ""]
    columns = deals("x")
    n = len(odd)
    rows = {name: (values * n)[:n] for name, values in columns.items()}
    rows["account"] = odd
    rows["event_id"] = [f"odd-{i}" for i in range(n)]
    assert remote.insert("deals", rows) == n
    stored = embedded.query("SELECT event_id, account FROM deals WHERE event_id LIKE 'odd-%'"
                            " ORDER BY event_id").rows
    assert stored == [[f"odd-{i}", value] for i, value in enumerate(odd)]


def test_binary_rows_through_input(front, embedded):
    client = clickhouse_connect.get_client(host="127.0.0.1", port=front.port,
                                           password=PASSWORD, compress=False)
    try:
        client.command(f"CREATE TABLE {embedded.database}.raw (a Int64, s String)"
                       " ENGINE = Memory")
        data = (struct.pack("<q", -1) + b"\x03\xff\x00\n" + struct.pack("<q", 2) + b"\x01\\")
        client.command(f"INSERT INTO {embedded.database}.raw SELECT a, s"
                       " FROM input('a Int64, s String') FORMAT RowBinary", data=data)
    finally:
        client.close()
    assert embedded.query("SELECT a, hex(s) FROM raw ORDER BY a").rows == [
        [-1, "FF000A"], [2, "5C"]]


def test_an_invalid_query_raises_store_error_with_clickhouse_message(embedded, remote):
    with pytest.raises(StoreError) as direct:
        embedded.query("SELECT * FROM no_such_table")
    with pytest.raises(StoreError) as through_front:
        remote.query("SELECT * FROM no_such_table")
    assert "UNKNOWN_TABLE" in str(direct.value)
    assert "Code: 60. DB::Exception: Unknown table expression identifier 'no_such_table'" in (
        str(through_front.value))
    assert "(UNKNOWN_TABLE)" in str(through_front.value)
    with pytest.raises(StoreError, match=r"Code: 62\. DB::Exception: Syntax error"):
        remote.command("SELEC 1")
    with pytest.raises(StoreError, match="insert into deals: no such table"):
        remote.insert("deals", deals("nowhere"))


def test_errors_carry_clickhouse_code_and_status(front):
    answer = http(front, body="SELECT * FROM no_such_table")
    assert answer.status_code == 404
    assert answer.headers["X-ClickHouse-Exception-Code"] == "60"
    assert answer.text.startswith("Code: 60. DB::Exception:")
    answer = http(front, body="SELEC 1")
    assert (answer.status_code, answer.headers["X-ClickHouse-Exception-Code"]) == (400, "62")
    answer = http(front, body="SELECT 1; SELECT 2")
    assert answer.status_code == 400
    assert "Multi-statements are not allowed" in answer.text


def test_a_wrong_password_is_refused(front):
    with pytest.raises(StoreError, match="AUTHENTICATION_FAILED"):
        server_store(front, password="wrong")
    for auth in (("default", "wrong"), ("intruder", PASSWORD), None):
        answer = http(front, body="SELECT 1", auth=auth)
        assert answer.status_code == 403
        assert answer.headers["X-ClickHouse-Exception-Code"] == "516"
        assert "Authentication failed" in answer.text
    assert http(front, body="SELECT 1").text == "1\n"
    answer = http(front, body="SELECT 2", auth=None,
                  **{"user": "default", "password": PASSWORD})
    assert answer.text == "2\n"
    key = {"X-ClickHouse-User": "default", "X-ClickHouse-Key": PASSWORD}
    with requests.Session() as session:
        assert session.post(front.url, data="SELECT 3", headers=key, timeout=30).text == "3\n"
        bad = {"Authorization": "Basic " + base64.b64encode(b"default:nope").decode()}
        assert session.post(front.url, data="SELECT 3", headers=bad,
                            timeout=30).status_code == 403


def test_the_http_interface(front, embedded):
    own = {"database": embedded.database}
    assert http(front, "GET", path="/ping").text == "Ok.\n"
    assert http(front, "GET").text == "Ok.\n"
    answer = http(front, "GET", query="SELECT 1 AS one", default_format="JSONCompact")
    assert answer.json()["data"] == [[1]]
    assert answer.headers["X-ClickHouse-Format"] == "JSONCompact"
    assert answer.headers["Content-Type"].startswith("application/json")
    assert answer.headers["X-ClickHouse-Timezone"]
    answer = http(front, body="SELECT 1 FORMAT CSVWithNames", query_id="q-1")
    assert (answer.text, answer.headers["X-ClickHouse-Query-Id"]) == ('"1"\n1\n', "q-1")
    # a GET is read-only; the query in the URL, the rows in the body
    answer = http(front, "GET", query="CREATE TABLE t (a Int8) ENGINE = Memory")
    assert (answer.status_code, answer.headers["X-ClickHouse-Exception-Code"]) == (403, "164")
    assert http(front, body="CREATE TABLE t (a Int8, b String) ENGINE = Memory", **own).ok
    answer = http(front, body="1\tone\n2\ttwo\n", query="INSERT INTO t FORMAT TabSeparated",
                  **own)
    assert answer.ok, answer.text
    assert answer.headers["X-ClickHouse-Summary"].count('"written_rows":"2"') == 1
    assert "X-ClickHouse-Format" not in answer.headers
    assert embedded.query("SELECT a, b FROM t ORDER BY a").rows == [[1, "one"], [2, "two"]]
    answer = http(front, body="INSERT INTO t VALUES (3, 'three')", readonly="1", **own)
    assert answer.status_code == 403
    assert http(front, body="INSERT INTO t VALUES ({a:Int8}, {b:String})",
                param_a="4", param_b="it's", **own).ok
    assert embedded.query("SELECT b FROM t WHERE a = 4").rows == [["it's"]]


def test_settings_and_database_last_for_their_request(front, embedded):
    setting = "SELECT getSetting('max_threads')"
    before = embedded.query(setting).rows
    assert http(front, body=setting, max_threads="1").text == "1\n"
    assert embedded.query(setting).rows == before
    answer = http(front, body="SELECT 1", no_such_setting="1")
    assert answer.status_code == 404
    assert answer.headers["X-ClickHouse-Exception-Code"] == "115"
    # the transport's own parameters are accepted and ignored
    assert http(front, body="SELECT 5", wait_end_of_query="1", send_progress_in_http_headers="1",
                http_headers_progress_interval_ms="1000", session_id="s").text == "5\n"
    assert http(front, body="SELECT currentDatabase()").text == "default\n"
    assert http(front, body="SELECT currentDatabase()", database="system").text == "system\n"
    assert http(front, body="USE system").ok
    assert http(front, body="SET max_threads = 1").ok
    assert http(front, body="SELECT currentDatabase()", database="nowhere").status_code == 404
    assert embedded.query("SELECT currentDatabase() AS db").rows == [[embedded.database]]
    assert embedded.query(setting).rows == before


def test_another_database_through_the_front(front, embedded):
    elsewhere = f"{embedded.database}_other"
    other = server_store(front, elsewhere)
    try:
        assert migrate(other) == ALL_MIGRATIONS
        other.insert("deals", deals("there"))
        assert len(other.query(DEALS_SQL, {"account": "there"}).rows) == 3
    finally:
        other.close()
    assert embedded.query("SELECT currentDatabase() AS db").rows == [[embedded.database]]
    assert embedded.query(f"SELECT count() FROM {elsewhere}.deals").rows == [[3]]


def test_clickhouse_connect_client_api(front, embedded):
    """Beyond ServerStore: Native queries and inserts, large parameters (form encoding)."""
    migrate(embedded)
    embedded.insert("deals", deals("native"))
    client = clickhouse_connect.get_client(host="127.0.0.1", port=front.port,
                                           password=PASSWORD, database=embedded.database,
                                           compress=False)
    try:
        assert client.server_version == embedded.query("SELECT version()").rows[0][0]
        result = client.query("SELECT symbol, profit, side FROM deals WHERE account = {a:String}"
                              " ORDER BY ts", parameters={"a": "native"})
        assert [(s, str(p), side) for s, p, side in result.result_rows] == [
            ("XAUUSD", "0.00", "buy"), ("EURUSD", "0.29", "sell"), ("XAUUSD", "-12.34", "buy")]
        long = "x" * 10_000
        assert client.command("SELECT length({s:String})", parameters={"s": long}) == 10_000
        odd = "tab\tback\\slash\nline 'q'"
        assert client.query("SELECT {s:String}", parameters={"s": odd}).result_rows == [(odd,)]
        client.command("CREATE TABLE t (a UInt32, s LowCardinality(String)) ENGINE = Memory")
        summary = client.insert("t", [[1, "a"], [2, "b"]], column_names=["a", "s"])
        assert summary.written_rows == 2
        assert client.query("SELECT a, s FROM t ORDER BY a").result_rows == [(1, "a"), (2, "b")]
        assert client.command("SELECT count() FROM t WHERE a > 5") == 0
        assert client.command("SELECT s FROM t WHERE a > 5") == ""
    finally:
        client.close()


def test_the_server_answers_while_a_query_runs(front):
    slow: dict[str, requests.Response] = {}
    thread = threading.Thread(target=lambda: slow.update(answer=http(
        front, body="SELECT sum(sleepEachRow(0.5)) FROM numbers(3)")))
    thread.start()
    try:
        time.sleep(0.2)
        started = time.monotonic()
        assert http(front, "GET", path="/ping").text == "Ok.\n"
        assert time.monotonic() - started < 0.5
    finally:
        thread.join(30)
    assert slow["answer"].text == "0\n"


@pytest.mark.parametrize(("sql", "kind", "output"), [
    ("SELECT 1", "SELECT", None),
    ("select x AS format FROM t", "SELECT", None),
    ("SELECT format FROM t FORMAT JSON", "SELECT", "JSON"),
    ("SELECT 1 FORMAT Native SETTINGS max_threads = 1", "SELECT", "Native"),
    ("(SELECT 1) FORMAT TSV;", "(", "TSV"),
    ("/* FORMAT x */ WITH 'FORMAT y' AS f SELECT f -- FORMAT z", "WITH", None),
    ("SELECT $$ FORMAT x; $$", "SELECT", None),
])
def test_shape_of_queries(sql, kind, output):
    shape = shape_of(sql)
    assert (shape.kind, shape.output_format, shape.statements) == (kind, output, 1)


def test_shape_of_inserts():
    sql = "INSERT INTO t (a) SELECT a FROM input('a Int64') FORMAT JSONEachRow  \n{\"a\": 1}\n"
    shape = shape_of(sql)
    assert (shape.kind, shape.insert_format) == ("INSERT", "JSONEachRow")
    assert shape.input_call == (sql.index("input"), sql.index(") FORMAT") + 1, "'a Int64'")
    assert shape.data_at is not None and sql[shape.data_at:] == '{"a": 1}\n'
    assert shape.format_at == sql.index("FORMAT")
    shape = shape_of("INSERT INTO t VALUES (1, 'a;b'); garbage")
    assert (shape.insert_format, shape.statements) == ("Values", 1)
    shape = shape_of("INSERT INTO t FORMAT TSV\r\n1\t2")
    assert shape.data_at == len("INSERT INTO t FORMAT TSV\r\n")
    assert shape_of("SELECT 1; SELECT 2").statements == 2


def test_escape_param():
    assert escape_param(b"a\tb\\c\nd'e") == "a\\tb\\\\c\\nd'e"
    assert escape_param("é".encode() + b"\xff\x00") == "é\\xff\\x00"


def test_a_missing_floor_is_null_on_both_drivers(embedded, remote):
    migrate(remote)
    row = {"tenant": [1], "ts": [1], "status": ["active"], "balance": [10.29],
           "equity": [10.57], "daily_floor": [float("nan")], "max_loss_floor": [9.29],
           "open_positions": [0]}
    embedded.insert("equity", {**row, "account": ["direct"]})
    remote.insert("equity", {**row, "account": ["remote"]})
    query = ("SELECT account, balance, equity, daily_floor, max_loss_floor FROM equity"
             " ORDER BY account")
    assert remote.query(query).rows == [["direct", 10.29, 10.57, None, 9.29],
                                        ["remote", 10.29, 10.57, None, 9.29]]
