"""Fixtures shared by the whole suite: one embedded Kafka broker per test session (each
test takes its own topic prefix and consumer groups on it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from streams.broker import EmbeddedBroker


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running
