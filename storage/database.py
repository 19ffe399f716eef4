"""PostgreSQL, the system of record: creating the database, pools scoped to a schema.

A deployment lives in one schema (``public`` by default); each test gets its own schema,
so tests share the server and never each other's rows.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


def check_schema(schema: str) -> str:
    """A schema name safe to put in SQL text (lower-case identifier)."""
    if not IDENTIFIER.fullmatch(schema):
        raise ValueError(f"schema {schema!r}: expected a lower-case SQL identifier")
    return schema


async def ensure_database(dsn: str) -> None:
    """Create the database the DSN names when it does not exist (``make run`` on a fresh
    machine); the server's ``postgres`` database is used to create it."""
    try:
        connection = await asyncpg.connect(dsn)
    except asyncpg.InvalidCatalogNameError:
        parts = urlsplit(dsn)
        name = parts.path.lstrip("/")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"database name {name!r}: expected an SQL identifier") from None
        admin = await asyncpg.connect(urlunsplit(parts._replace(path="/postgres")))
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        except asyncpg.DuplicateDatabaseError:
            pass  # created meanwhile by another process
        finally:
            await admin.close()
    else:
        await connection.close()


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop a schema and everything in it (a test's or a benchmark's own)."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {check_schema(schema)} CASCADE")
    finally:
        await connection.close()


async def create_pool(dsn: str, schema: str = "public", **options: Any) -> asyncpg.Pool:
    """A connection pool whose unqualified names resolve in ``schema`` (created if
    missing)."""
    check_schema(schema)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    finally:
        await connection.close()
    options.setdefault("min_size", 1)
    options.setdefault("max_size", 10)
    # asyncpg resets a connection's session state each time it returns to the pool: one
    # more round trip per query (measured: a tenth of a REST read). Nothing here leaves
    # session state behind (no LISTEN, no SET; advisory locks are released explicitly),
    # so the reset is skipped.
    options.setdefault("reset", _no_reset)
    return await asyncpg.create_pool(dsn, server_settings={"search_path": schema},
                                     **options)


async def _no_reset(connection: asyncpg.Connection) -> None:
    return None
