"""The ClickHouse history store: one interface, two drivers, the same SQL.

* :class:`EmbeddedStore` runs ClickHouse in this process with chDB, on a data directory.
  chDB lets one process own a directory at a time (a second one gets "Cannot lock file
  … status"), so in embedded mode the analytics process (``proptrade analytics``: the
  sink) owns it and serves ClickHouse's HTTP interface to the others
  (``storage.clickhouse_front``); they use the second driver, pointed at it.
* :class:`ServerStore` speaks to a ClickHouse server (or that front) over HTTP with
  clickhouse-connect, when ``CLICKHOUSE_URL`` names one.

Both return query results decoded from the same ``JSONCompact`` output, so a query gives
the same Python values on either driver. Conventions the SQL relies on:

* Timestamps are passed in and selected out as microseconds since the epoch (``Int64``;
  ``toUnixTimestamp64Micro(ts)`` in a SELECT): no datetime parsing on the hot paths.
* Money is passed in as floats and stored as ``Decimal(18, 2)``. ClickHouse truncates a
  float cast to a decimal (0.29 would become 0.28), so :meth:`Store.insert` converts
  through the cents, rounded: ``toDecimal64(round(v * 100), 2) / 100``. A NaN is NULL
  for a nullable column.
* Parameters use ClickHouse's server-side syntax, ``{name:Type}``, on both drivers.
"""

from __future__ import annotations

import hashlib
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import orjson

__all__ = [
    "MIGRATIONS",
    "EmbeddedStore",
    "Result",
    "ServerStore",
    "Store",
    "StoreError",
    "migrate",
    "open_store",
]

MIGRATIONS = Path(__file__).with_name("clickhouse_migrations")
_MIGRATION_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_DATABASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


# A server quotes 64-bit integers in JSON by default; chDB does not. Make both alike.
_OUTPUT_SETTINGS = {"output_format_json_quote_64bit_integers": 0}


class StoreError(RuntimeError):
    """A query the store refused or could not run; the message is ClickHouse's."""


@dataclass(frozen=True, slots=True)
class Result:
    """Rows of a query, as ``JSONCompact`` decodes them (numbers, strings, lists)."""

    columns: list[str]
    rows: list[list[Any]]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def one(self) -> dict[str, Any] | None:
        return dict(zip(self.columns, self.rows[0], strict=True)) if self.rows else None


def _decode(payload: bytes) -> Result:
    if not payload.strip():
        return Result([], [])
    document = orjson.loads(payload)
    return Result([column["name"] for column in document["meta"]], document["data"])


class Store(ABC):
    """A ClickHouse database: run SQL, insert columns."""

    def __init__(self, database: str) -> None:
        if not _DATABASE_NAME.fullmatch(database):
            raise StoreError(f"database name {database!r}: letters, digits and _ only")
        self.database = database
        self._plans: dict[tuple[str, tuple[str, ...]], tuple[str, str, str]] = {}

    @abstractmethod
    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str | None) -> bytes:
        """Run one statement; the output in ``fmt`` (None: a statement without output)."""

    def query(self, sql: str, params: Mapping[str, Any] | None = None) -> Result:
        """Run a SELECT; the rows come back decoded."""
        return _decode(self._run(sql, params, "JSONCompact"))

    def command(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._run(sql, params, None)

    def insert(self, table: str, columns: Mapping[str, Sequence[Any]]) -> int:
        """Insert equal-length columns (timestamps in µs, money as floats); returns the
        number of rows. Columns the table has and ``columns`` lacks take their defaults."""
        names = list(columns)
        count = len(columns[names[0]]) if names else 0
        if count == 0:
            return 0
        if any(len(columns[name]) != count for name in names):
            raise StoreError(f"insert into {table}: columns of different lengths")
        self._insert(table, names, columns)
        return count

    @abstractmethod
    def _insert(self, table: str, names: list[str],
                columns: Mapping[str, Sequence[Any]]) -> None: ...

    def _plan(self, table: str, names: list[str]) -> tuple[str, str, str]:
        """An insert's target columns, the SELECT converting the input columns, and the
        input's structure (name type, …); built once per table and column list."""
        key = (table, tuple(names))
        if key not in self._plans:
            plan = self._conversions(table, names)
            self._plans[key] = (", ".join(f"`{name}`" for name, _, _ in plan),
                                ", ".join(expression for _, expression, _ in plan),
                                ", ".join(f"`{name}` {kind}" for name, _, kind in plan))
        return self._plans[key]

    def _column_types(self, table: str) -> dict[str, str]:
        result = self.query(
            "SELECT name, type FROM system.columns WHERE database = {db:String}"
            " AND table = {table:String}", {"db": self.database, "table": table})
        if not result.rows:
            raise StoreError(f"insert into {table}: no such table in {self.database}")
        return {name: kind for name, kind in result.rows}

    def _conversions(self, table: str, names: list[str]) -> list[tuple[str, str, str]]:
        """(column, expression over the input column, input type) for each column."""
        types = self._column_types(table)
        plan = []
        for name in names:
            kind = types.get(name)
            if kind is None:
                raise StoreError(f"insert into {table}: no column {name!r}")
            plan.append((name, *_conversion(name, kind)))
        return plan

    def close(self) -> None:  # noqa: B027 - drivers without resources need nothing
        """Release the connection or the data directory."""


def _conversion(name: str, kind: str) -> tuple[str, str]:
    column = f"`{name}`"
    nullable = kind.startswith("Nullable(")
    inner = kind[len("Nullable("):-1] if nullable else kind
    if inner.startswith("DateTime64"):
        return f"fromUnixTimestamp64Micro(toInt64({column}), 'UTC')", "Int64"
    if inner.startswith("Decimal"):
        exact = f"toDecimal64(round({column} * 100), 2) / 100"
        if nullable:  # NaN from Python lists (chDB), null from JSON (a server): NULL
            return (f"if(isNull({column}) OR isNaN({column}), NULL, {exact})",
                    "Nullable(Float64)")
        return exact, "Float64"
    if inner.startswith(("Enum", "LowCardinality(String")):
        return column, "String"
    return column, inner


def _split_statements(sql: str) -> list[str]:
    """Statements of a migration file: separated by ``;`` at the end of a line."""
    body = "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--"))
    return [part.strip() for part in re.split(r";\s*$", body, flags=re.M) if part.strip()]


def _chdb_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    """chDB reads a parameter as ClickHouse's escaped text (as the HTTP interface does):
    format each value the way clickhouse-connect sends it to a server, so a tab, a quote,
    a None or a list mean the same on both drivers."""
    from clickhouse_connect.driver.binding import format_bind_value

    return {name: format_bind_value(value) for name, value in (params or {}).items()}


class EmbeddedStore(Store):
    """ClickHouse in this process (chDB) on ``path``; queries are serialised by a lock and
    run without the GIL, so callers may use threads to keep an event loop free.

    chDB runs one embedded server per process, on one directory: several stores in a
    process (the sink's and the gateway's in ``proptrade up``, the tests') share the
    directory and differ by database; each has its own session (its own current
    database)."""

    def __init__(self, path: Path | str, database: str = "proptrade") -> None:
        super().__init__(database)
        from chdb import session  # heavy import (the engine): only when embedded is used

        Path(path).mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        self._lock = threading.Lock()
        try:
            self._session: Any = cast(Any, session).Session(str(path))
        except Exception as exc:  # chDB raises plain RuntimeErrors
            reason = str(exc)
            if "already initialized" in reason:
                reason = ("this process already runs chDB on another directory (one per"
                          f" process): {reason}")
            raise StoreError(f"chDB data directory {path}: {reason}") from exc
        self._run(f"CREATE DATABASE IF NOT EXISTS {database}", None, None)
        self._run(f"USE {database}", None, None)
        for name, value in _OUTPUT_SETTINGS.items():
            self._run(f"SET {name} = {value}", None, None)

    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str | None) -> bytes:
        with self._lock:
            try:
                result = self._session.query(sql, fmt or "TSV", params=_chdb_params(params))
            except Exception as exc:
                raise StoreError(str(exc).strip()) from exc
        return result.bytes() if fmt else b""

    def _insert(self, table: str, names: list[str],
                columns: Mapping[str, Sequence[Any]]) -> None:
        target, select, _ = self._plan(table, names)
        sql = f"INSERT INTO {table} ({target}) SELECT {select} FROM Python(__columns__)"
        # chDB's Python() table function reads a dict of lists named in the query, from
        # the caller's frame: keep the name local to this function.
        __columns__ = {name: list(values) for name, values in columns.items()}  # noqa: F841
        with self._lock:
            try:
                self._session.query(sql, "TSV")
            except Exception as exc:
                raise StoreError(f"insert into {table}: {str(exc).strip()}") from exc

    @contextmanager
    def exclusive(self) -> Iterator[Any]:
        """The chDB session with the store's lock held (``storage.clickhouse_front``)."""
        with self._lock:
            yield self._session

    def close(self) -> None:
        with self._lock:
            self._session.close()


class ServerStore(Store):
    """A ClickHouse server over HTTP (clickhouse-connect); ``url`` like
    ``http://user:password@host:8123`` — the path, if any, names the database."""

    def __init__(self, url: str, database: str = "proptrade", *, connect_timeout: int = 3,
                 read_timeout: int = 300) -> None:
        from urllib.parse import unquote, urlsplit

        import clickhouse_connect

        parts = urlsplit(url)
        super().__init__(parts.path.strip("/") or database)
        try:
            self._client = clickhouse_connect.get_client(
                host=parts.hostname or "localhost", port=parts.port or 8123,
                username=unquote(parts.username or "default"),
                password=unquote(parts.password or ""), secure=parts.scheme == "https",
                compress=False, autogenerate_session_id=False,
                connect_timeout=connect_timeout, send_receive_timeout=read_timeout)
            self._client.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
        except Exception as exc:
            raise StoreError(f"ClickHouse at {parts.hostname}:{parts.port}: {exc}") from exc
        self._client.database = self.database

    def _run(self, sql: str, params: Mapping[str, Any] | None, fmt: str | None) -> bytes:
        try:
            if fmt is None:
                self._client.command(sql, parameters=dict(params or {}) or None)
                return b""
            return bytes(self._client.raw_query(sql, parameters=dict(params or {}) or None,
                                                fmt=fmt, settings=_OUTPUT_SETTINGS))
        except Exception as exc:
            raise StoreError(str(exc).strip()) from exc

    def _insert(self, table: str, names: list[str],
                columns: Mapping[str, Sequence[Any]]) -> None:
        target, select, structure = self._plan(table, names)
        sql = (f"INSERT INTO {table} ({target}) SELECT {select}"
               f" FROM input('{structure}') FORMAT JSONCompactEachRow")
        body = b"\n".join(orjson.dumps(list(row), option=orjson.OPT_SERIALIZE_NUMPY)
                          for row in zip(*(columns[name] for name in names), strict=True))
        try:
            self._client.command(sql, data=body)
        except Exception as exc:
            raise StoreError(f"insert into {table}: {str(exc).strip()}") from exc

    def close(self) -> None:
        self._client.close()


def open_store(url: str | None, data_dir: Path, database: str = "proptrade") -> Store:
    """The server store when ``url`` is given, else chDB under ``data_dir/chdb``."""
    if url:
        return ServerStore(url, database)
    return EmbeddedStore(data_dir / "chdb", database)


def migrate(store: Store, folder: Path = MIGRATIONS) -> list[str]:
    """Apply the migration files not applied yet (``NNNN_name.sql``), in order; returns
    their names. A file changed after it was applied is refused, as for PostgreSQL."""
    store.command("CREATE TABLE IF NOT EXISTS schema_migrations (version UInt32, name String,"
                  " checksum String, applied_at DateTime DEFAULT now())"
                  " ENGINE = ReplacingMergeTree ORDER BY version")
    done = {int(v): c for v, c in store.query(
        "SELECT version, checksum FROM schema_migrations FINAL").rows}
    applied = []
    for path in sorted(folder.glob("*.sql")):
        match = _MIGRATION_NAME.fullmatch(path.name)
        if match is None:
            raise StoreError(f"{path.name}: expected NNNN_lower_case_name.sql")
        version, sql = int(match.group(1)), path.read_text()
        checksum = hashlib.sha256(sql.encode()).hexdigest()
        if version in done:
            if done[version] != checksum:
                raise StoreError(f"ClickHouse migration {path.name} changed after it was"
                                 " applied; add a new migration instead")
            continue
        for statement in _split_statements(sql):
            store.command(statement)
        store.command("INSERT INTO schema_migrations (version, name, checksum)"
                      " VALUES ({v:UInt32}, {n:String}, {c:String})",
                      {"v": version, "n": match.group(2), "c": checksum})
        applied.append(path.name)
    return applied
