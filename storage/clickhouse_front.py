"""ClickHouse's HTTP interface over an :class:`~storage.clickhouse.EmbeddedStore`.

chDB lets one process own a data directory. In embedded mode that process is the
analytics sink; it serves this front so the others (the gateway, ``proptrade import``)
use :class:`~storage.clickhouse.ServerStore` — clickhouse-connect — pointed at it, as they
would a ClickHouse server. The front speaks the part of
https://clickhouse.com/docs/interfaces/http that clickhouse-connect uses:

* ``/`` with the query in the ``query`` URL parameter, the body, or both (the body then
  continues the query: ClickHouse joins them with a newline, so an ``INSERT … FORMAT X``
  in the URL takes its rows from the body); a ``multipart/form-data`` body carries
  ``query`` and ``param_*`` as fields. ``GET`` runs read-only queries (``readonly=2``, as
  ClickHouse does); ``GET /`` without a query, ``/ping`` and ``/replicas_status``
  answer ``Ok.``.
* ``param_<name>`` values go to chDB as they are: both parse them as ClickHouse's
  escaped text, so a value means the same here as on a server.
* ``database`` (the session's database is switched for the request, then restored:
  ClickHouse's default, ``default``, when absent), ``default_format`` (else
  ``TabSeparated``), ``readonly`` (checked here: chDB could not set it back), ``query_id``.
  Any other URL parameter is a setting: applied with ``SET`` for the request and set back
  after it, unless it equals the session's value already; the HTTP transport's own
  (``wait_end_of_query``, ``send_progress_in_http_headers``, ``http_*``, compression,
  session and protocol parameters) are accepted and ignored, since the answer is sent
  whole. ``SET`` and ``USE`` statements last for their request only, as over HTTP
  without a session; sessions (``session_id``) are not kept.
* Answers carry ``X-ClickHouse-Query-Id``, ``X-ClickHouse-Timezone``,
  ``X-ClickHouse-Summary`` (rows and bytes read and written) and, for statements with a
  result, ``X-ClickHouse-Format`` and the format's content type. Errors carry ClickHouse's
  text, ``X-ClickHouse-Exception-Code`` and the HTTP status ClickHouse gives the code
  (400 syntax, 404 unknown table, 403 wrong credentials…), so clickhouse-connect raises a
  ``DatabaseError`` with the message.
* chDB runs ``INSERT … SELECT … FROM input('structure') FORMAT X`` with inline data as an
  insert of nothing, silently; the front rewrites ``input(…)`` into
  ``format(X, 'structure', {…:String})`` and passes the rows as that parameter. Other
  inserts (``VALUES``, ``FORMAT X`` with text or binary rows, Native from
  ``client.insert``) go to chDB with their data inline, as ClickHouse reads them.

Queries run in threads: the store's lock serialises them and chDB releases the GIL, so
the event loop stays free. Credentials (``Authorization: Basic``, ``X-ClickHouse-User`` /
``X-ClickHouse-Key`` or ``user`` / ``password`` parameters) must match the front's; a
client without any is ``default`` with an empty password, as for ClickHouse. Binds to
127.0.0.1 unless told otherwise: chDB's ``file()`` functions reach the process's files.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
import re
import threading
import uuid
import zlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web

from storage.clickhouse import EmbeddedStore

__all__ = ["ClickHouseFront", "FrontThread", "serve_front"]

log = logging.getLogger("proptrade.clickhouse_front")

DEFAULT_PORT = 8123
MAX_BODY = 512 * 1024 * 1024  # bytes of one request; the sink's batches are far smaller

# URL parameters of the HTTP interface itself, not settings.
_TRANSPORT = frozenset({
    "query", "database", "default_format", "user", "password", "quota_key", "query_id",
    "session_id", "session_timeout", "session_check", "close_session", "compress",
    "decompress", "buffer_size", "wait_end_of_query", "client_protocol_version", "role",
    "stacktrace", "readonly", "query_kind",
})
# Settings about how the HTTP answer is sent: meaningless for an answer sent whole.
_HTTP_SETTINGS = frozenset({
    "send_progress_in_http_headers", "enable_http_compression", "add_http_cors_header",
    "cancel_http_readonly_queries_on_client_close", "output_format_parallel_formatting",
})
# chDB's Python wrapper turns these "formats" into Python objects, not bytes.
_NOT_FORMATS = frozenset({"dataframe", "datastore", "arrowtable", "debug"})
# Statements with a result (ClickHouse then sends X-ClickHouse-Format) and those a
# read-only request may run.
_RESULT_KINDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS",
                           "EXPLAIN", "CHECK", "("})
_READ_KINDS = _RESULT_KINDS | {"USE"}
_SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUERY_ID = re.compile(r"[\x21-\x7e]{1,128}")  # echoed in a header: printable, bounded
_INPUT_PARAM = "proptrade_front_input"

# ClickHouse's exception code → HTTP status (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp),
# by the code's name, which chDB's messages end with.
_STATUS_BY_NAME: dict[str, int] = {
    "REQUIRED_PASSWORD": 401,
    **dict.fromkeys(("UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED",
                     "SET_NON_GRANTED_ROLE", "ACCESS_DENIED", "READONLY"), 403),
    **dict.fromkeys((
        "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
        "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
        "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
        "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
        "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
        "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"), 400),
    **dict.fromkeys((
        "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
        "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING",
        "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT",
        "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"), 404),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    **dict.fromkeys(("SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"), 503),
    "HTTP_LENGTH_REQUIRED": 411,
    "TIMEOUT_EXCEEDED": 408,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}
_ERROR_CODE = re.compile(r"Code: (\d+)\.")
_ERROR_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*$")


class FrontError(Exception):
    """An error the front answers itself, in ClickHouse's form."""

    def __init__(self, code: int, name: str, text: str) -> None:
        super().__init__(f"Code: {code}. DB::Exception: {text}. ({name})")
        self.code = code
        self.name = name


# -- reading SQL ------------------------------------------------------------------------

# Enough of ClickHouse's lexer to find a statement's kind, its top-level FORMAT clause,
# where an INSERT's data starts and an input('…') call, without being fooled by strings,
# quoted names or comments. Texts are bytes decoded as Latin-1: one character per byte,
# so offsets are byte offsets.
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<comment>--[^\n]*|\#[ !][^\n]*|/\*.*?(?:\*/|\Z))
  | (?P<string>'(?:[^'\\]+|\\.|'')*(?:'|\Z))
  | (?P<quoted>"(?:[^"\\]+|\\.|"")*(?:"|\Z)|`(?:[^`\\]+|\\.|``)*(?:`|\Z))
  | (?P<heredoc>\$(?P<tag>[A-Za-z_]\w*|)\$.*?(?:\$(?P=tag)\$|\Z))
  | (?P<word>\w+)
  | (?P<open>[(\[{])
  | (?P<close>[)\]}])
  | (?P<semicolon>;)
  | (?P<other>.)
""", re.X | re.S)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    start: int
    end: int


def _tokens(text: str) -> Iterator[_Token]:
    position = 0
    while position < len(text):
        match = _TOKEN.match(text, position)
        assert match is not None  # the last alternative takes any character
        kind = match.lastgroup or "other"
        if kind not in ("space", "comment"):
            yield _Token(kind, match.group(), match.start(), match.end())
        position = match.end()


@dataclass(slots=True)
class Shape:
    """What the front needs to know of a statement."""

    kind: str = ""                        # first keyword, upper case ("(" for a subquery)
    output_format: str | None = None      # FORMAT of a statement with a result
    insert_format: str | None = None      # FORMAT of an INSERT, followed by its data
    format_at: int | None = None          # where the INSERT's FORMAT keyword starts
    data_at: int | None = None            # where the INSERT's data starts
    input_call: tuple[int, int, str] | None = None  # span of input('…'), its literal
    statements: int = 1


def shape_of(text: str) -> Shape:
    """Read a statement (Latin-1 text of its bytes) as far as the front needs. Tokens are
    read lazily and an INSERT is read up to its data only: rows are never lexed."""
    shape = Shape()
    depth, seen_select, ended = 0, False, False
    format_at: int | None = None          # a top-level FORMAT keyword, waiting for its name
    check_next = False                    # a result's FORMAT name was just read
    recent: list[_Token] = []
    for token in _tokens(text):
        if ended:
            shape.statements = 2
            break
        if not shape.kind:
            shape.kind = token.text.upper() if token.kind == "word" else token.text
            depth += token.kind == "open"
            continue
        recent = [*recent[-3:], token]
        if (len(recent) == 4 and recent[0].kind == "word" and recent[0].text.lower() == "input"
                and recent[1].text == "(" and recent[2].kind == "string"
                and recent[3].text == ")"):
            shape.input_call = (recent[0].start, recent[3].end, recent[2].text)
        if check_next and not (token.kind == "semicolon" or token.text.upper() == "SETTINGS"):
            shape.output_format = None  # "format" was a name (SELECT format FROM t)
        check_next = False
        if format_at is not None:
            if token.kind == "word" and depth == 0:
                if shape.kind == "INSERT":
                    shape.insert_format, shape.format_at = token.text, format_at
                    shape.data_at = _data_start(text, token.end)
                    return shape
                shape.output_format, format_at, check_next = token.text, None, True
                continue
            format_at = None
        if token.kind == "open":
            depth += 1
        elif token.kind == "close":
            depth = max(0, depth - 1)
        elif token.kind == "semicolon" and depth == 0:
            ended = True
        elif token.kind == "word" and depth == 0:
            word = token.text.upper()
            if word == "FORMAT":
                format_at = token.start
            elif word == "SELECT":
                seen_select = True
            elif shape.kind == "INSERT" and word == "VALUES" and not seen_select:
                shape.insert_format, shape.data_at = "Values", token.start
                return shape
    return shape


def _data_start(text: str, position: int) -> int:
    """Where an INSERT's data starts after its ``FORMAT name`` (ParserInsertQuery: spaces,
    then at most one line break)."""
    while position < len(text) and text[position] in " \t\f":
        position += 1
    if position < len(text) and text[position] == "\r":
        position += 1
    if position < len(text) and text[position] == "\n":
        position += 1
    return position


# String parameters are read as ClickHouse's escaped text: a backslash, a tab or a line
# break must be escaped, and bytes that are not UTF-8 travel as \xHH.
_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in [*range(0x20), 0x7F]}
_ESCAPES.update({ord("\\"): "\\\\", ord("\t"): "\\t", ord("\n"): "\\n"})
_ESCAPES.update({0xDC80 + i: f"\\x{0x80 + i:02x}" for i in range(0x80)})


def escape_param(data: bytes) -> str:
    """``data`` as the value of a ``{name:String}`` parameter that reads back as ``data``."""
    return data.decode("utf-8", "surrogateescape").translate(_ESCAPES)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _identifier(name: str) -> str:
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def _content_type(fmt: str) -> str:
    lower = fmt.lower()
    if lower.startswith(("tabseparated", "tsv")):
        return "text/tab-separated-values; charset=UTF-8"
    if lower.startswith("csv"):
        return "text/csv; charset=UTF-8; header=" + ("present" if "names" in lower
                                                      else "absent")
    if (lower.startswith("json") and "eachrow" in lower) or lower in ("ndjson", "jsonlines"):
        return "application/x-ndjson; charset=UTF-8"
    if lower.startswith("json"):
        return "application/json; charset=UTF-8"
    if lower == "xml":
        return "application/xml; charset=UTF-8"
    if lower.startswith(("pretty", "vertical", "markdown", "values", "template",
                         "rawblob", "linesasstring", "prometheus")):
        return "text/plain; charset=UTF-8"
    return "application/octet-stream"


# -- the engine side --------------------------------------------------------------------

@dataclass(slots=True)
class Call:
    """One request, as the HTTP layer read it."""

    text: bytes
    params: dict[str, str] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    database: str = "default"
    default_format: str = "TabSeparated"
    readonly: int = 0
    query_id: str = ""


@dataclass(slots=True)
class Answer:
    status: int
    body: bytes
    headers: dict[str, str]


@contextmanager
def _locked_session(store: EmbeddedStore) -> Iterator[Any]:
    # EmbeddedStore has no public handle on its session yet: until it has exclusive(), the
    # front takes the lock and the session itself, here only (a request runs USE, SET, its
    # statement and the restoring SET and USE in a row, with no other query in between).
    with store._lock:
        yield store._session


def _exclusive(store: EmbeddedStore) -> AbstractContextManager[Any]:
    """The store's chDB session with the store's lock held."""
    exclusive = getattr(store, "exclusive", None)
    if exclusive is not None:
        return exclusive()  # type: ignore[no-any-return]
    return _locked_session(store)


class ClickHouseFront:
    """ClickHouse's HTTP interface over ``store``: :meth:`start`, then :meth:`stop`."""

    def __init__(self, store: EmbeddedStore, *, user: str = "default", password: str = "",
                 max_body_size: int = MAX_BODY) -> None:
        self.store = store
        self.user = user
        self.password = password
        self.max_body_size = max_body_size
        self.port: int | None = None
        self.server: tornado.httpserver.HTTPServer | None = None
        self._running: set[asyncio.Future[Answer]] = set()
        with _exclusive(store) as session:
            row = session.query("SELECT version(), timezone()", "TabSeparated").bytes()
            self.version, self.timezone = row.decode().rstrip("\n").split("\t")
            listing = session.query("SELECT name, value, changed FROM system.settings",
                                    "JSONCompactEachRow").bytes()
        self._settings: dict[str, tuple[str, bool]] = {
            name: (value, bool(changed))
            for name, value, changed in map(orjson.loads, listing.splitlines())}

    # -- serving ---------------------------------------------------------------------

    def application(self) -> tornado.web.Application:
        return tornado.web.Application([
            (r"/", _QueryHandler, {"front": self}),
            (r"/(?:ping|replicas_status)", _OkHandler),
        ], log_function=_log_request)

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_PORT
                    ) -> tornado.httpserver.HTTPServer:
        """Listen on ``host:port`` (0: a free port, then in :attr:`port`)."""
        sockets = tornado.netutil.bind_sockets(port, host)
        self.port = int(sockets[0].getsockname()[1])
        self.server = tornado.httpserver.HTTPServer(
            self.application(), max_body_size=self.max_body_size,
            max_buffer_size=self.max_body_size, decompress_request=True)
        self.server.add_sockets(sockets)
        log.info("ClickHouse HTTP front for %s on %s:%d", self.store.path, host, self.port)
        return self.server

    async def stop(self) -> None:
        """Stop listening, close connections, wait for the queries under way."""
        if self.server is not None:
            self.server.stop()
            await self.server.close_all_connections()
            self.server = None
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def run(self, call: Call) -> Answer:
        """:meth:`execute` in a thread."""
        future = asyncio.get_running_loop().run_in_executor(None, self.execute, call)
        self._running.add(future)
        try:
            return await future
        finally:
            self._running.discard(future)

    def authenticated(self, user: str, password: str) -> bool:
        return (hmac.compare_digest(user.encode(), self.user.encode())
                & hmac.compare_digest(password.encode(), self.password.encode()))

    # -- one query ---------------------------------------------------------------------

    def execute(self, call: Call) -> Answer:
        """Run one request's statement; ClickHouse's answer to it, error or not."""
        query_id = call.query_id if _QUERY_ID.fullmatch(call.query_id) else str(uuid.uuid4())
        headers = {"X-ClickHouse-Query-Id": query_id, "X-ClickHouse-Timezone": self.timezone,
                   "X-ClickHouse-Server-Display-Name": "proptrade-chdb"}
        try:
            return self._execute(call, headers)
        except FrontError as exc:
            return self.failure(str(exc), headers)
        except Exception as exc:  # chDB raises RuntimeErrors with ClickHouse's text
            message = str(exc).strip()
            if not _ERROR_CODE.match(message):
                log.exception("ClickHouse front: %s", message)
                message = f"Code: 1001. DB::Exception: {message}. (STD_EXCEPTION)"
            return self.failure(message, headers)

    def failure(self, message: str, headers: dict[str, str] | None = None) -> Answer:
        code = _ERROR_CODE.match(message)
        name = _ERROR_NAME.search(message)
        status = _STATUS_BY_NAME.get(name.group(1), 500) if name else 500
        text = f"{message} (version {self.version})\n"
        return Answer(status, text.encode(), {
            **(headers or {}), "Content-Type": "text/plain; charset=UTF-8",
            "X-ClickHouse-Exception-Code": code.group(1) if code else "1001"})

    def _execute(self, call: Call, headers: dict[str, str]) -> Answer:
        if not call.text.strip():
            raise FrontError(62, "SYNTAX_ERROR", "Empty query")
        if (call.default_format.lower() in _NOT_FORMATS
                or not _SETTING_NAME.fullmatch(call.default_format)):
            raise FrontError(73, "UNKNOWN_FORMAT", f"Unknown format {call.default_format}")
        shape = shape_of(call.text.decode("latin-1"))
        if shape.statements > 1:
            raise FrontError(62, "SYNTAX_ERROR",
                             "Syntax error (Multi-statements are not allowed)")
        if call.readonly and shape.kind not in _READ_KINDS and not (
                call.readonly == 2 and shape.kind == "SET"):
            raise FrontError(164, "READONLY", "Cannot execute query in readonly mode")
        changes = self._changes(call.settings)
        if call.readonly == 1 and changes:
            raise FrontError(164, "READONLY",
                             f"Cannot modify '{next(iter(changes))}' setting in readonly mode")
        if shape.kind == "SET":  # lasts for its request: nothing after it to apply to
            return Answer(200, b"", {**headers, "X-ClickHouse-Summary": _summary()})
        sql, params = self._statement(call, shape)
        result = self._query(sql, params, call.default_format, call.database, changes,
                             restore_database=shape.kind == "USE")
        body = result.bytes() or b""
        summary = _summary(read_rows=result.rows_read(), read_bytes=result.bytes_read(),
                           written_rows=result.rows_written(),
                           written_bytes=result.bytes_written(), result_bytes=len(body),
                           elapsed_ns=int(result.elapsed() * 1e9))
        headers["X-ClickHouse-Summary"] = summary
        if shape.kind in _RESULT_KINDS:
            fmt = shape.output_format or call.default_format
            headers["X-ClickHouse-Format"] = fmt
            headers["Content-Type"] = _content_type(fmt)
        else:
            headers["Content-Type"] = "text/plain; charset=UTF-8"
        return Answer(200, body, headers)

    def _statement(self, call: Call, shape: Shape) -> tuple[bytes, dict[str, str]]:
        """The text chDB runs, and its parameters."""
        if shape.input_call is None or shape.kind != "INSERT":
            return call.text, call.params
        if shape.insert_format is None or shape.format_at is None or shape.data_at is None:
            raise FrontError(36, "BAD_ARGUMENTS",
                             "input() needs an INSERT with FORMAT and data after it")
        if _INPUT_PARAM in call.params:
            raise FrontError(36, "BAD_ARGUMENTS", f"parameter {_INPUT_PARAM} is the front's")
        start, end, structure = shape.input_call
        text = call.text
        replacement = (f"format({_identifier(shape.insert_format)}, {structure},"
                       f" {{{_INPUT_PARAM}:String}})").encode("latin-1")
        sql = text[:start] + replacement + text[end:shape.format_at]
        return sql, {**call.params, _INPUT_PARAM: escape_param(text[shape.data_at:])}

    def _changes(self, settings: Mapping[str, str]) -> dict[str, str]:
        """The settings of a request that differ from the session's."""
        changes = {}
        for name, value in settings.items():
            if name in _HTTP_SETTINGS or name.startswith("http_"):
                continue
            if not _SETTING_NAME.fullmatch(name):
                raise FrontError(115, "UNKNOWN_SETTING", f"Unknown setting '{name}'")
            current = self._settings.get(name)
            if current is None or current[0] != value:
                changes[name] = value
        return changes

    def _query(self, sql: bytes, params: dict[str, str], fmt: str, database: str,
               changes: Mapping[str, str], restore_database: bool) -> Any:
        """Run ``sql`` in ``database`` with ``changes`` applied; the session is left as it
        was found (the store's database, the store's settings)."""
        home = self.store.database
        switch = database != home
        with _exclusive(self.store) as session:
            try:
                if switch:
                    session.query(f"USE {_identifier(database)}", "TabSeparated")
                if changes:
                    session.query("SET " + ", ".join(
                        f"{name} = {_quote(value)}" for name, value in changes.items()),
                        "TabSeparated")
                try:
                    result = session.query(sql, fmt, params=params)
                finally:
                    if changes:
                        self._restore(session, changes)
            finally:
                if switch or restore_database:
                    session.query(f"USE {_identifier(home)}", "TabSeparated")
        if result.has_error():
            raise RuntimeError(result.error_message())
        return result

    def _restore(self, session: Any, changes: Mapping[str, str]) -> None:
        parts = []
        for name in changes:
            value, changed = self._settings.get(name, ("", False))
            parts.append(f"{name} = {_quote(value) if changed else 'DEFAULT'}")
        try:
            session.query("SET " + ", ".join(parts), "TabSeparated")
        except Exception:
            log.exception("ClickHouse front: could not set back %s", ", ".join(changes))


def _summary(**counts: int) -> str:
    names = ("read_rows", "read_bytes", "written_rows", "written_bytes", "total_rows_to_read",
             "result_rows", "result_bytes", "elapsed_ns")
    return orjson.dumps({name: str(counts.get(name, 0)) for name in names
                         if name in counts or name != "result_rows"}).decode()


# -- the HTTP side ----------------------------------------------------------------------

def _log_request(handler: tornado.web.RequestHandler) -> None:
    """One line a request, without its URL parameters (they hold query values)."""
    status = handler.get_status()
    log.log(logging.DEBUG if status < 400 else logging.INFO, "%d %s %s %s %.1f ms", status,
            handler.request.method, handler.request.path,
            handler._headers.get("X-ClickHouse-Exception-Code", "-"),
            1000 * handler.request.request_time())


class _OkHandler(tornado.web.RequestHandler):
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "text/plain; charset=UTF-8")

    def get(self) -> None:
        self.finish(b"Ok.\n")

    head = get


class _QueryHandler(tornado.web.RequestHandler):
    front: ClickHouseFront

    def initialize(self, front: ClickHouseFront) -> None:
        self.front = front

    def set_default_headers(self) -> None:
        self.clear_header("Content-Type")

    def compute_etag(self) -> None:
        return None

    async def get(self) -> None:
        if not self.request.query_arguments:
            self.set_header("Content-Type", "text/plain; charset=UTF-8")
            self.finish(b"Ok.\n")
            return
        await self._serve(get=True)

    async def post(self) -> None:
        await self._serve(get=False)

    async def _serve(self, get: bool) -> None:
        try:
            args = {name: _text(values[-1], name)
                    for name, values in self.request.query_arguments.items() if values}
            user, password = self._credentials(args)
            if not self.front.authenticated(user, password):
                raise FrontError(516, "AUTHENTICATION_FAILED",
                                 f"{user}: Authentication failed: password is incorrect, or"
                                 " there is no user with such name")
            call = self._call(args, get)
        except FrontError as exc:
            self._send(self.front.failure(str(exc)))
            return
        self._send(await self.front.run(call))

    def _send(self, answer: Answer) -> None:
        self.set_status(answer.status)
        for name, value in answer.headers.items():
            self.set_header(name, value)
        self.finish(answer.body)

    def _call(self, args: dict[str, str], get: bool) -> Call:
        request = self.request
        body = b"" if get else request.body
        content_type = request.headers.get("Content-Type", "")
        if not get and content_type.startswith("multipart/form-data"):
            fields: dict[str, list[bytes]] = {}
            files: dict[str, list[tornado.httputil.HTTPFile]] = {}
            tornado.httputil.parse_body_arguments(content_type, body, fields, files)
            if files:
                raise FrontError(48, "NOT_IMPLEMENTED", "External data is not supported")
            args.update({name: _text(values[-1], name)
                         for name, values in fields.items() if values})
            body = b""
        else:
            body = _decoded(body, request.headers.get("Content-Encoding", ""))
        for name in ("compress", "decompress"):
            if args.get(name, "0") not in ("0", ""):
                raise FrontError(48, "NOT_IMPLEMENTED",
                                 f"{name}=1 (ClickHouse's own compression) is not supported")
        query = args.get("query", "").encode()
        text = query + b"\n" + body if query and body else query or body
        try:
            readonly = int(args.get("readonly", "0") or 0)
        except ValueError:
            raise FrontError(36, "BAD_ARGUMENTS", "readonly: expected 0, 1 or 2") from None
        return Call(
            text=text,
            params={name[len("param_"):]: value for name, value in args.items()
                    if name.startswith("param_")},
            settings={name: value for name, value in args.items()
                      if name not in _TRANSPORT and not name.startswith("param_")},
            database=args.get("database") or "default",
            default_format=args.get("default_format") or "TabSeparated",
            readonly=(readonly or 2) if get else readonly,
            query_id=args.get("query_id", ""))

    def _credentials(self, args: Mapping[str, str]) -> tuple[str, str]:
        headers = self.request.headers
        authorization = headers.get("Authorization", "")
        if authorization[:6].lower() == "basic ":
            try:
                user, _, password = base64.b64decode(authorization[6:].strip(),
                                                     validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise FrontError(516, "AUTHENTICATION_FAILED",
                                 "Malformed Basic authorization") from None
            return user, password
        if "X-ClickHouse-User" in headers or "X-ClickHouse-Key" in headers:
            return headers.get("X-ClickHouse-User", "default"), headers.get("X-ClickHouse-Key", "")
        return args.get("user", "default"), args.get("password", "")


def _text(value: bytes, name: str) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        raise FrontError(36, "BAD_ARGUMENTS", f"{name}: not UTF-8") from None


def _decoded(body: bytes, encoding: str) -> bytes:
    """The body without its Content-Encoding (gzip is undone by Tornado already)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding == "deflate":
        return zlib.decompress(body)
    raise FrontError(36, "BAD_ARGUMENTS", f"Content-Encoding {encoding} is not supported")


async def serve_front(store: EmbeddedStore, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
                      *, user: str = "default", password: str = ""
                      ) -> tornado.httpserver.HTTPServer:
    """Serve ClickHouse's HTTP interface over ``store`` on the running event loop; stop it
    with ``server.stop()`` (or use :class:`ClickHouseFront` to also wait for queries)."""
    return await ClickHouseFront(store, user=user, password=password).start(host, port)


class FrontThread:
    """The front on its own event loop in a background thread: for tests and for
    processes without an event loop. ``with FrontThread(store) as front: front.url``."""

    def __init__(self, store: EmbeddedStore, host: str = "127.0.0.1", port: int = 0, *,
                 user: str = "default", password: str = "") -> None:
        self.front = ClickHouseFront(store, user=user, password=password)
        self.host = host
        self._port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="clickhouse-front", daemon=True)

    @property
    def port(self) -> int:
        assert self.front.port is not None, "not started"
        return self.front.port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> FrontThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.front.start(self.host, self._port),
                                         self._loop).result(30)
        return self

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(60)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _shutdown(self) -> None:
        await self.front.stop()
        await self._loop.shutdown_default_executor()

    def __enter__(self) -> FrontThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
