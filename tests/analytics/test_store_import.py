"""`proptrade import FILE` into the history store, under a firm: the default firm unless
``--firm SLUG`` names another; an unknown firm is refused before anything is written. When
no analytics process serves the store it opens the embedded directory itself; importing a
file twice keeps one copy. The firm's staff then see the account through the API; other
firms' staff do not."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from analytics.imports import read_report
from analytics.store_import import Firm, NoSuchFirm, find_firm, import_report
from storage.database import create_pool, drop_schema
from storage.migrations import migrate
from tests.analytics import MT_REPORTS
from tests.gateway.conftest import Gateway, gateway, sink  # noqa: F401 (fixtures)
from tests.gateway.test_hygiene import add_tenant

TESTER = MT_REPORTS / "mt5-tester-didinska-GoldHedgeRecovery-v330.html"
FTMO = MT_REPORTS / "mt5-history-propfirm-ftmo-1512497509.xlsx"
DSN = "postgresql://localhost:5432/postgres"
real_reports = pytest.mark.skipif(not MT_REPORTS.is_dir(), reason="shared MT reports not present")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def platform() -> Iterator[str]:
    """A platform database of its own (a migrated schema): its default firm, and Acme."""
    schema = f"imp_{uuid.uuid4().hex[:10]}"

    async def create() -> None:
        await migrate(DSN, schema)
        pool = await create_pool(DSN, schema)
        try:
            await pool.execute("INSERT INTO tenants (slug, name) VALUES ('acme', 'Acme Prop')")
        finally:
            await pool.close()

    asyncio.run(create())
    yield schema
    asyncio.run(drop_schema(DSN, schema))


def _firms(schema: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        pool = await create_pool(DSN, schema)
        try:
            return {row["slug"]: row["id"] for row in await pool.fetch(
                "SELECT slug, id FROM tenants")}
        finally:
            await pool.close()

    return asyncio.run(read())


def _import(tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PROPTRADE_DATA_DIR": str(tmp_path), "CLICKHOUSE_URL": "",
           "ANALYTICS_PORT": str(_free_port()),  # nothing listens there
           "DATABASE_URL": DSN}
    return subprocess.run([sys.executable, "-m", "streams.cli", "import", *argv],
                          env=env, capture_output=True, text=True, timeout=120)


def _stored(tmp_path: Path) -> list[object]:
    """(tenant, deals, balance operations) per tenant, read by another process (chDB:
    one process per directory)."""
    count = subprocess.run([sys.executable, "-c", (
        "import json, pathlib\n"
        "from storage.clickhouse import open_store\n"
        f"store = open_store(None, pathlib.Path({str(tmp_path)!r}))\n"
        "print(json.dumps([*store.query('SELECT tenant, count() FROM deals FINAL"
        " GROUP BY tenant ORDER BY tenant').rows,"
        " store.query('SELECT count() FROM balance_operations FINAL').rows[0][0]]))")],
        env={**os.environ, "PROPTRADE_DATA_DIR": str(tmp_path)}, capture_output=True,
        text=True, timeout=120)
    assert count.returncode == 0, count.stderr
    stored: list[object] = json.loads(count.stdout)
    return stored


@real_reports
def test_importing_a_report_twice_stores_it_once(tmp_path: Path, platform: str) -> None:
    default = _firms(platform)["default"]
    for _ in range(2):
        done = _import(tmp_path, str(TESTER), "--schema", platform)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(
            "mt5-tester-didinska-GoldHedgeRecovery-v330.html: account "
            f"GoldHedgeRecovery-XAUUSD (mt5-tester) into firm default (PropTrade, tenant "
            f"{default}): 290 deals, 0 balance operations, 292 events, ")
        assert done.stdout.endswith(" rows stored\n")
    # Into the default firm's tenant, once; the deposit opens the account.
    assert _stored(tmp_path) == [[default, 290], 0]


@real_reports
def test_import_into_a_firm_named_by_its_slug(tmp_path: Path, platform: str) -> None:
    acme = _firms(platform)["acme"]
    done = _import(tmp_path, str(FTMO), "--firm", "acme", "--schema", platform)
    assert done.returncode == 0, done.stderr
    assert (f"account 1512497509 (mt5-history) into firm acme (Acme Prop, tenant {acme}): "
            "116 deals, ") in done.stdout
    done = _import(tmp_path, str(TESTER), "--tenant", str(acme), "--schema", platform)
    assert done.returncode == 0, done.stderr
    assert f"into firm acme (Acme Prop, tenant {acme}): 290 deals" in done.stdout
    assert _stored(tmp_path) == [[acme, 116 + 290], 0]


@real_reports
def test_an_unknown_firm_is_refused_naming_it(tmp_path: Path, platform: str) -> None:
    done = _import(tmp_path, str(TESTER), "--firm", "nope", "--schema", platform)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("proptrade import: error: no firm has the slug 'nope' "
                           "(firms: acme, default)\n")
    done = _import(tmp_path, str(TESTER), "--tenant", "999999", "--schema", platform)
    assert done.returncode == 2
    assert done.stderr == ("proptrade import: error: no firm has the id 999999 "
                           "(firms: acme, default)\n")
    assert not (tmp_path / "chdb").exists()  # nothing written, no store even created
    both = _import(tmp_path, str(TESTER), "--firm", "acme", "--tenant", "1")
    assert both.returncode == 2 and "not allowed with argument" in both.stderr


def test_a_bad_file_is_refused_naming_it(tmp_path: Path) -> None:
    bad = tmp_path / "statement.csv"
    bad.write_text("Time,Deal,Symbol\n")
    done = subprocess.run([sys.executable, "-m", "streams.cli", "import", str(bad)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("proptrade import: error: statement.csv: ")


@real_reports
def test_the_firms_staff_see_the_imported_account(gateway: Gateway) -> None:  # noqa: F811
    """Imported into Acme: Acme's risk officer reads its statistics through the API, the
    default firm's admin gets a 404 (and the other way round for the default firm)."""
    acme_id = add_tenant(gateway, "acme", "trade.acme.test")
    acme = {"Host": "trade.acme.test"}
    acme_firm = gateway.call(find_firm(DSN, gateway.schema, slug="acme"))
    assert acme_firm == Firm(acme_id, "acme", "Acme Capital")
    default_firm = gateway.call(find_firm(DSN, gateway.schema))
    assert default_firm.slug == "default"
    with pytest.raises(NoSuchFirm, match="no firm has the slug 'acne'"):
        gateway.call(find_firm(DSN, gateway.schema, slug="acne"))

    imported = import_report(read_report(FTMO), acme_firm, gateway.history)
    assert (imported.accounts, imported.deals, imported.balance_operations) == (
        ("1512497509",), 116, 0)
    import_report(read_report(TESTER), default_firm, gateway.history)

    gateway.verified_user("risk@acme.test", headers=acme)
    gateway.promote("risk@acme.test", "risk")
    acme_desk = gateway.login("risk@acme.test", headers=acme)["access_token"]
    gateway.verified_user("admin@default.test")
    gateway.promote("admin@default.test", "admin")
    default_desk = gateway.login("admin@default.test")["access_token"]

    seen = gateway.get("/api/v1/accounts/1512497509/statistics", acme_desk, headers=acme)
    assert seen.status_code == 200, seen.text
    assert (seen.json()["total_trades"], seen.json()["total_net_profit"]) == (58, -5025.89)
    assert gateway.get("/api/v1/accounts/1512497509/statistics",
                       default_desk).status_code == 404
    tester = "/api/v1/accounts/GoldHedgeRecovery-XAUUSD/statistics"
    assert gateway.get(tester, default_desk).json()["total_trades"] == 145
    assert gateway.get(tester, acme_desk, headers=acme).status_code == 404
