"""Run Lambdex locally: ``python -m chalicelib.local.runner``.

Start-up, in order:

1. DynamoDB Local on 127.0.0.1:``LAMBDEX_DDB_PORT`` with its data in ``LAMBDEX_DATA_DIR``
   (moto's server, in memory, when there is no ``java`` or no jar; see ``dynamodb_local``);
2. ``LAMBDEX_DYNAMODB_ENDPOINT`` (and dummy AWS credentials and region, if unset) in the
   environment, then ``chalicelib.settings`` is imported and its table printed;
3. ``chalicelib.local.tables.ensure_tables(client)`` creates the missing tables;
4. ``app.py`` is imported: ``app.app`` is served over HTTP on 127.0.0.1:``PORT`` by the
   local HTTP/1.1 server (``http_server``: keep-alive, chunked bodies, a thread per
   connection), ``app.match_orders`` is fed the orders table's stream by a
   :class:`StreamPoller`, and ``app.run_scheduler`` is called every
   ``LAMBDEX_SCHEDULE_INTERVAL`` seconds with a scheduled-event-shaped dict.

Ctrl-C or SIGTERM stops the HTTP server, the poller, the scheduler and the database, and
exits 0. A failure half-way through start-up stops what was started and exits 1.
Logs are JSON lines on stderr.
"""

from __future__ import annotations

import functools
import importlib
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from chalice.config import Config
from chalice.deploy.validate import validate_routes
from chalice.local import LambdaContext

from chalicelib.local import http_server, jsonlog, routing
from chalicelib.local.dynamodb_local import LocalDatabase
from chalicelib.local.jsonlog import fields
from chalicelib.local.stream_poller import StreamPoller
from chalicelib.local.ws_server import LocalWebSocketServer

log = logging.getLogger("lambdex_local.runner")

PROJECT_DIR = Path(__file__).resolve().parents[2]
STAGE = "local"
PASS_THROUGH = ("LAMBDEX_ADMIN_TOKEN", "LAMBDEX_ALGOD_TOKEN", "LAMBDEX_BLOCK_SECONDS")
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass(frozen=True)
class RunnerSettings:
    """The runner's own settings (the application's live in ``chalicelib.settings``)."""

    port: int = 8000
    data_dir: Path = Path(".local/ddb")
    ddb_port: int = 8010
    ws_port: int = 8001
    schedule_interval: float = 5.0
    host: str = "127.0.0.1"
    passthrough: dict[str, str | None] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: MutableMapping[str, str] | None = None,
                 project_dir: Path = PROJECT_DIR) -> RunnerSettings:
        env = os.environ if environ is None else environ

        def number(name: str, default: str, kind: Callable[[str], Any]) -> Any:
            raw = env.get(name, default)
            try:
                value = kind(raw)
            except ValueError:
                raise SystemExit(f"{name}={raw!r} is not a valid {kind.__name__}") from None
            if value <= 0:
                raise SystemExit(f"{name}={raw!r} must be positive")
            return value

        data_dir = Path(env.get("LAMBDEX_DATA_DIR", ".local/ddb"))
        if not data_dir.is_absolute():
            data_dir = project_dir / data_dir
        return cls(
            port=number("PORT", "8000", int),
            data_dir=data_dir,
            ddb_port=number("LAMBDEX_DDB_PORT", "8010", int),
            ws_port=number("LAMBDEX_WS_PORT", "8001", int),
            schedule_interval=number("LAMBDEX_SCHEDULE_INTERVAL", "5", float),
            passthrough={name: env.get(name) for name in PASS_THROUGH},
        )

    def rows(self) -> list[tuple[str, str, str]]:
        rows = [
            ("PORT", str(self.port), f"HTTP API on http://{self.host}:{self.port}"),
            ("LAMBDEX_DATA_DIR", str(self.data_dir), "DynamoDB Local data (empty directory = fresh ledger)"),
            ("LAMBDEX_DDB_PORT", str(self.ddb_port), f"DynamoDB Local on http://{self.host}:{self.ddb_port}"),
            ("LAMBDEX_WS_PORT", str(self.ws_port), f"WebSocket API on ws://{self.host}:{self.ws_port}"),
            ("LAMBDEX_SCHEDULE_INTERVAL", f"{self.schedule_interval:g}", "seconds between scheduler runs"),
        ]
        for name, value in self.passthrough.items():
            rows.append((name, value if value is not None else "(default)", "passed to the app"))
        return rows


def format_table(rows: list[tuple[str, str, str]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(2)]
    return "\n".join(f"  {name:<{widths[0]}}  {value:<{widths[1]}}  {description}".rstrip()
                     for name, value, description in rows)


def scheduled_event(region: str, rule: str = "lambdex-local-run_scheduler") -> dict[str, Any]:
    """An EventBridge (CloudWatch Events) scheduled event, as Lambda receives it."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [f"arn:aws:events:{region}:000000000000:rule/{rule}"],
        "detail": {},
    }


def _import_app() -> ModuleType:
    if str(PROJECT_DIR) not in sys.path:
        sys.path.insert(0, str(PROJECT_DIR))
    return importlib.import_module("app")


def _import_tables() -> ModuleType:
    return importlib.import_module("chalicelib.local.tables")


def _import_settings() -> ModuleType | None:
    try:
        return importlib.import_module("chalicelib.settings")
    except ImportError:
        return None


class Runner:
    """The local stack, its dependencies passed in so that tests can fake them.

    ``load_app()`` returns the app module (``app``, ``match_orders``, ``run_scheduler``);
    ``load_tables()`` returns a module/object with ``ensure_tables(client)`` and
    ``orders_table_name()``. Both are called only after the database is up and the
    environment points at it, because they read the endpoint at import time.
    """

    def __init__(
        self,
        settings: RunnerSettings,
        *,
        load_app: Callable[[], Any] = _import_app,
        load_tables: Callable[[], Any] = _import_tables,
        load_settings: Callable[[], Any] = _import_settings,
        database: LocalDatabase | None = None,
        environ: MutableMapping[str, str] | None = None,
        project_dir: Path = PROJECT_DIR,
        out: Any = None,
        poll_interval: float = 0.25,
    ) -> None:
        self.settings = settings
        self.load_app = load_app
        self.load_tables = load_tables
        self.load_settings = load_settings
        self.environ = os.environ if environ is None else environ
        self.project_dir = project_dir
        self.out = out or sys.stdout
        self.poll_interval = poll_interval
        self.database = database or LocalDatabase(settings.data_dir, settings.ddb_port, host=settings.host,
                                                  root=project_dir)
        self.stop_event = threading.Event()
        self.http_server: Any = None
        self.poller: StreamPoller | None = None
        self.publish_pollers: list[StreamPoller] = []
        self.ws_server: LocalWebSocketServer | None = None
        self._threads: list[threading.Thread] = []
        self.started = False

    @property
    def http_url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    # -- start-up -------------------------------------------------------------------------

    def start(self) -> None:
        """Start everything; on any failure (or Ctrl-C) stop what was started and re-raise."""
        try:
            self._start()
        except BaseException:
            log.exception("runner.start_failed")
            self.stop()
            raise
        self.started = True
        log.info("runner.ready", extra=fields(http=self.http_url, dynamodb=self.database.endpoint_url,
                                              backend=self.database.backend))

    def _start(self) -> None:
        self._print("Lambdex local runner\n" + format_table(self.settings.rows()))
        endpoint = self.database.start()
        self.environ["LAMBDEX_DYNAMODB_ENDPOINT"] = endpoint
        for name, value in DUMMY_AWS.items():
            self.environ.setdefault(name, value)
        # EMF metric lines only mean something to CloudWatch: off locally unless asked for
        self.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
        for name, value in self._chalice_config().environment_variables.items():
            self.environ.setdefault(name, str(value))
        for name, value in self.settings.passthrough.items():
            if value is not None:
                self.environ[name] = value
        self.environ.setdefault("LAMBDEX_WS_URL", self.ws_url)  # what the market pages connect to

        app_settings = self.load_settings()
        describe = getattr(app_settings, "describe", None)
        if callable(describe):
            self._print("Application settings (chalicelib.settings)\n" + format_table(
                [(str(n), str(v), str(d)) for n, v, d in describe()]))

        dynamodb, streams = self._clients(endpoint)
        tables = self.load_tables()
        created = tables.ensure_tables(dynamodb)
        log.info("runner.tables_ready", extra=fields(created=created))

        from chalicelib.local import faults as local_faults

        faults = local_faults.install_from_environment(self.environ)  # the soak test's, else None
        app_module = self.load_app()
        self._start_http(app_module.app, self._chalice_config(app_module.app))
        match_orders = getattr(app_module, "match_orders", None)
        if match_orders is None:
            log.warning("runner.no_stream_handler", extra=fields(
                missing="app.match_orders", effect="the orders stream is NOT polled: nothing is matched"))
        else:
            self._start_poller(dynamodb, streams, tables.orders_table_name(),
                               local_faults.wrap_stream_handler(match_orders, faults))
        self._start_realtime(app_module, dynamodb, streams, tables)
        run_scheduler = getattr(app_module, "run_scheduler", None)
        if run_scheduler is None:
            log.warning("runner.no_scheduler", extra=fields(
                missing="app.run_scheduler", effect="deposits, withdrawals and expirations are NOT processed"))
        else:
            self._start_scheduler(run_scheduler)

    def _print(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    def _clients(self, endpoint: str) -> tuple[Any, Any]:
        import boto3

        region = self.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        session = boto3.session.Session(
            aws_access_key_id=self.environ.get("AWS_ACCESS_KEY_ID", "local"),
            aws_secret_access_key=self.environ.get("AWS_SECRET_ACCESS_KEY", "local"),
            region_name=region,
        )
        return (session.client("dynamodb", endpoint_url=endpoint),
                session.client("dynamodbstreams", endpoint_url=endpoint))

    def _chalice_config(self, app_obj: Any = None) -> Config:
        config_file = self.project_dir / ".chalice" / "config.json"
        config_from_disk = json.loads(config_file.read_text()) if config_file.exists() else {}
        return Config(
            chalice_stage=STAGE,
            user_provided_params={"chalice_app": app_obj} if app_obj is not None else {},
            config_from_disk=config_from_disk,
            default_params={"project_dir": str(self.project_dir), "api_gateway_stage": "api",
                            "autogen_policy": True},
        )

    def _start_http(self, app_obj: Any, config: Any) -> None:
        validate_routes(app_obj.routes)  # as `chalice local` does: only routes that would deploy
        routing.install()  # the catch-all /{proxy+} answers unknown paths, as in API Gateway
        server = http_server.serve(app_obj, config, self.settings.host, self.settings.port)
        self.http_server = server
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                                  name="http", daemon=True)
        thread.start()
        self._threads.append(thread)
        log.info("http.listening", extra=fields(url=self.http_url, stage=STAGE))

    def _start_poller(self, dynamodb: Any, streams: Any, table: str, handler: Callable) -> None:
        checkpoint = (self.settings.data_dir / "stream-checkpoints.json") if self.database.persistent else None
        self.poller = StreamPoller(dynamodb, streams, table, handler, checkpoint_path=checkpoint,
                                   poll_interval=self.poll_interval,
                                   context_factory=functools.partial(_lambda_context, "match_orders"))
        thread = threading.Thread(target=self.poller.run, args=(self.stop_event,), name="stream-poller",
                                  daemon=True)
        thread.start()
        self._threads.append(thread)

    def _start_realtime(self, app_module: Any, dynamodb: Any, streams: Any, tables: Any) -> None:
        """The WebSocket API on ws://host:ws_port (the app's own handlers; posts go to this server)
        and the publisher fed by the orders and matches streams, as in AWS."""
        handlers = [getattr(app_module, name, None) for name in
                    ("websocket_connect", "websocket_message", "websocket_disconnect")]
        if not all(handlers):
            log.info("runner.no_websocket_api", extra=fields(effect="no WebSocket server"))
            return
        from chalicelib.realtime import gateway

        self.ws_server = LocalWebSocketServer(*handlers, host=self.settings.host, port=self.settings.ws_port,
                                              context_factory=_lambda_context)
        self.ws_server.start()
        gateway.install(self.ws_server)
        publish = getattr(app_module, "publish_realtime", None)
        if publish is None:
            log.warning("runner.no_publisher", extra=fields(effect="nothing is published to WebSocket clients"))
            return
        matches = tables.table_name(tables.table_resources()["MatchesTable"])
        for name, table in (("orders", tables.orders_table_name()), ("matches", matches)):
            checkpoint = (self.settings.data_dir / f"stream-checkpoints-publish-{name}.json"
                          if self.database.persistent else None)
            poller = StreamPoller(dynamodb, streams, table, publish, checkpoint_path=checkpoint,
                                  poll_interval=self.poll_interval,
                                  context_factory=functools.partial(_lambda_context, "publish_realtime"))
            self.publish_pollers.append(poller)
            thread = threading.Thread(target=poller.run, args=(self.stop_event,), name=f"publish-{name}",
                                      daemon=True)
            thread.start()
            self._threads.append(thread)

    @property
    def ws_url(self) -> str:
        return f"ws://{self.settings.host}:{self.settings.ws_port}"

    def _start_scheduler(self, handler: Callable) -> None:
        thread = threading.Thread(target=self._scheduler_loop, args=(handler,), name="scheduler", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _scheduler_loop(self, handler: Callable) -> None:
        interval = self.settings.schedule_interval
        region = self.environ.get("AWS_DEFAULT_REGION", "us-east-1")
        log.info("scheduler.started", extra=fields(interval_seconds=interval))
        next_run = time.monotonic()
        while not self.stop_event.wait(max(0.0, next_run - time.monotonic())):
            event = scheduled_event(region)
            started = time.monotonic()
            try:
                handler(event, _lambda_context("run_scheduler"))
                log.info("scheduler.run", extra=fields(
                    event_id=event["id"], duration_ms=round((time.monotonic() - started) * 1000, 1)))
            except Exception as error:
                log.exception("scheduler.failed", extra=fields(
                    event_id=event["id"], error=f"{type(error).__name__}: {error}",
                    duration_ms=round((time.monotonic() - started) * 1000, 1)))
            next_run += interval
            if next_run < time.monotonic():  # a run took longer than the interval: skip, don't pile up
                next_run = time.monotonic() + interval
        log.info("scheduler.stopped")

    # -- shut-down ------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the HTTP server, the poller and scheduler threads, then the database. Idempotent."""
        self.stop_event.set()
        server, self.http_server = self.http_server, None
        if server is not None:
            server.shutdown()
            server.server_close()
            log.info("http.stopped")
        ws_server, self.ws_server = self.ws_server, None
        if ws_server is not None:
            from chalicelib.realtime import gateway

            ws_server.stop()
            gateway.install(None)
        for thread in self._threads:
            thread.join(timeout=15)
            if thread.is_alive():
                log.warning("runner.thread_still_running", extra=fields(thread=thread.name))
        self._threads.clear()
        self.database.stop()
        self.started = False


def _lambda_context(function_name: str) -> LambdaContext:
    return LambdaContext(function_name=function_name, memory_size=128, max_runtime_ms=900_000)


def main(runner_factory: Callable[[RunnerSettings], Runner] = Runner) -> int:
    """Run until SIGINT/SIGTERM; 0 on a clean stop, 1 if start-up failed."""
    jsonlog.configure(os.environ.get("LAMBDEX_LOG_LEVEL", "INFO").upper())
    settings = RunnerSettings.from_env()
    runner = runner_factory(settings)

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("runner.signal", extra=fields(signal=signal.Signals(signum).name))
        runner.stop_event.set()
        if not runner.started:
            raise KeyboardInterrupt  # interrupt a start-up in progress; start() cleans up

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        runner.start()
    except KeyboardInterrupt:
        log.info("runner.stopped", extra=fields(during="start-up"))
        return 0
    except Exception:  # noqa: BLE001 - Runner.start logged it and cleaned up
        return 1
    websocket = f", WebSocket {runner.ws_url}" if runner.ws_server is not None else ""
    print(f"Lambdex is running: API {runner.http_url}{websocket}, DynamoDB {runner.database.endpoint_url} "
          f"({runner.database.backend}). Ctrl-C to stop.", flush=True)
    while not runner.stop_event.wait(1.0):
        pass
    runner.stop()
    log.info("runner.stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
