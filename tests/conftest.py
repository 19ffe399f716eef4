"""Fixtures shared by the whole suite: one embedded Kafka broker per test session (each
test takes its own topic prefix and consumer groups on it), and one chDB directory per
test session (chDB runs one embedded server per process, on one directory; each test takes
its own database in it)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.clickhouse import EmbeddedStore, migrate
from streams.broker import EmbeddedBroker


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


@pytest.fixture(scope="session")
def chdb_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb")


@pytest.fixture
def history(chdb_path: Path) -> Iterator[EmbeddedStore]:
    """A migrated history store of its own (a database in the session's chDB)."""
    store = EmbeddedStore(chdb_path, f"t_{uuid.uuid4().hex[:12]}")
    migrate(store)
    yield store
    store.command(f"DROP DATABASE IF EXISTS {store.database}")
    store.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The browser tests share one group under pytest-xdist: one Chromium at a time."""
    for item in items:
        if "browser" in item.path.parent.parts[-1:]:
            item.add_marker(pytest.mark.xdist_group("browser"))
