"""Versioned SQL migrations: ``storage/migrations/NNNN_name.sql``, applied in order.

``proptrade migrate`` (and ``make run``, and the tests) call :func:`migrate`. It runs
under a PostgreSQL advisory lock, so two processes starting together apply each file
once; each file runs in its own transaction with its row in ``schema_migrations``. A file
that was applied and has changed since is refused: migrations are history, a fix is a new
file.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from storage.database import check_schema, create_pool, ensure_database

FOLDER = Path(__file__).with_name("migrations")
NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")


class MigrationError(RuntimeError):
    """A migration folder or database history PropTrade cannot reconcile."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(folder: Path = FOLDER) -> list[Migration]:
    """The migration files in version order; a misnamed or duplicate version is refused."""
    found: dict[int, Migration] = {}
    for path in sorted(folder.glob("*.sql")):
        match = NAME.fullmatch(path.name)
        if match is None:
            raise MigrationError(f"{path.name}: expected NNNN_lower_case_name.sql")
        version = int(match.group(1))
        if version in found:
            raise MigrationError(f"{path.name}: version {version} appears twice")
        found[version] = Migration(version, match.group(2), path.read_text())
    return [found[v] for v in sorted(found)]


async def migrate(dsn: str, schema: str = "public", folder: Path = FOLDER) -> list[Migration]:
    """Create the database if missing and apply the migrations not applied yet; returns
    those applied now."""
    check_schema(schema)
    await ensure_database(dsn)
    migrations = discover(folder)
    pool = await create_pool(dsn, schema, min_size=1, max_size=1)
    applied: list[Migration] = []
    try:
        async with pool.acquire() as connection:
            await connection.execute("SELECT pg_advisory_lock(hashtext($1))",
                                     f"proptrade.migrations.{schema}")
            try:
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())")
                done = {row["version"]: row["checksum"] for row in await connection.fetch(
                    "SELECT version, checksum FROM schema_migrations")}
                for migration in migrations:
                    if migration.version in done:
                        if done[migration.version] != migration.checksum:
                            raise MigrationError(
                                f"migration {migration.version:04d}_{migration.name} changed "
                                "after it was applied; add a new migration instead")
                        continue
                    async with connection.transaction():
                        await connection.execute(migration.sql)
                        await connection.execute(
                            "INSERT INTO schema_migrations (version, name, checksum) "
                            "VALUES ($1, $2, $3)",
                            migration.version, migration.name, migration.checksum)
                    applied.append(migration)
            finally:
                await connection.execute("SELECT pg_advisory_unlock(hashtext($1))",
                                         f"proptrade.migrations.{schema}")
    finally:
        await pool.close()
    return applied
