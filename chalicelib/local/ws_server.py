"""The WebSocket API, locally: a real WebSocket server (the `websockets` library) that turns
each connection's open, messages and close into the API Gateway events the app's
`$connect` / `$default` / `$disconnect` handlers take, and serves `post_to_connection` for
the same code (it is installed as `chalicelib.realtime.gateway`'s gateway).

The server runs its own asyncio loop on a thread; the handlers are the app's synchronous
Lambda handlers and run on a small thread pool, one message of a connection at a time (in
order). A post is queued to the connection's writer task and never waits for the client:
a client that does not read and lets `MAX_QUEUE` messages pile up is disconnected, as a
slow consumer should be, instead of slowing the publisher down.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from chalicelib.local.jsonlog import fields
from chalicelib.realtime.gateway import Gone

log = logging.getLogger("lambdex_local.ws")

MAX_QUEUE = 10_000
STAGE = "api"
API_ID = "local"


@dataclass
class _Client:
    websocket: Any
    queue: asyncio.Queue
    connected_at_ms: int


class LocalWebSocketServer:
    def __init__(self, connect: Callable, message: Callable, disconnect: Callable, host: str, port: int,
                 context_factory: Callable[[str], Any], workers: int = 8):
        self.handlers = {"$connect": connect, "$default": message, "$disconnect": disconnect}
        self.host, self.port = host, port
        self.context_factory = context_factory
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ws-handler")
        self.clients: dict[str, _Client] = {}
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # -- life cycle -------------------------------------------------------------------

    def start(self, timeout: float = 30) -> None:
        self._thread = threading.Thread(target=self._run, name="ws-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError(f"the WebSocket server did not start on {self.url}")
        if self._error is not None:
            raise self._error
        log.info("ws.listening", extra=fields(url=self.url))

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._listen())
        except BaseException as error:  # noqa: BLE001 - reported to start()
            self._error = error
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.close()

    async def _listen(self) -> None:
        from websockets.asyncio.server import serve

        self._server = await serve(self._serve, self.host, self.port, max_size=128 * 1024,
                                   ping_interval=30, ping_timeout=30)

    def stop(self) -> None:
        loop = self.loop
        if loop is None or not loop.is_running():
            return

        async def close() -> None:
            self._server.close()
            await self._server.wait_closed()

        try:
            asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=10)
        except Exception:  # noqa: BLE001 - stopping anyway
            log.warning("ws.close_failed", exc_info=True)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.pool.shutdown(wait=True, cancel_futures=True)
        log.info("ws.stopped")

    # -- the gateway ------------------------------------------------------------------

    def post(self, connection_id: str, data: bytes) -> None:
        """post_to_connection: queue `data` for the connection, or raise Gone."""
        client = self.clients.get(connection_id)
        if client is None or self.loop is None:
            raise Gone(connection_id)
        self.loop.call_soon_threadsafe(self._enqueue, connection_id, client, data)

    def _enqueue(self, connection_id: str, client: _Client, data: bytes) -> None:
        if client.queue.qsize() >= MAX_QUEUE:
            log.warning("ws.slow_consumer", extra=fields(connection=connection_id, queued=client.queue.qsize()))
            asyncio.ensure_future(client.websocket.close(1008, "too slow"))
            return
        client.queue.put_nowait(data)

    # -- one connection -----------------------------------------------------------------

    def _event(self, route: str, connection_id: str, connected_at_ms: int, body: str | None = None) -> dict:
        kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
        event: dict[str, Any] = {
            "requestContext": {
                "routeKey": route, "eventType": kind, "connectionId": connection_id,
                "domainName": f"{self.host}:{self.port}", "stage": STAGE, "apiId": API_ID,
                "requestId": str(uuid.uuid4()), "connectedAt": connected_at_ms,
                "requestTimeEpoch": int(time.time() * 1000), "messageDirection": "IN",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "isBase64Encoded": False,
        }
        if body is not None:
            event["body"] = body
        return event

    async def _call(self, route: str, connection_id: str, connected_at_ms: int, body: str | None = None) -> Any:
        assert self.loop is not None
        event = self._event(route, connection_id, connected_at_ms, body)
        handler = self.handlers[route]
        try:
            return await self.loop.run_in_executor(self.pool, handler, event, self.context_factory(route))
        except Exception:  # noqa: BLE001 - as Lambda: the error is logged, the connection lives on
            log.exception("ws.handler_failed", extra=fields(route=route, connection=connection_id))
            return {"statusCode": 500}

    async def _serve(self, websocket: Any) -> None:
        connection_id = base64.b64encode(os.urandom(9)).decode()  # API Gateway's ids look like this
        connected_at = int(time.time() * 1000)
        answer = await self._call("$connect", connection_id, connected_at)
        if not isinstance(answer, dict) or answer.get("statusCode", 200) != 200:
            await websocket.close(1011, "connect refused")
            return
        client = _Client(websocket, asyncio.Queue(), connected_at)
        self.clients[connection_id] = client
        writer = asyncio.ensure_future(self._write(client))
        log.info("ws.connected", extra=fields(connection=connection_id))
        try:
            async for message in websocket:
                body = message if isinstance(message, str) else message.decode("utf-8", "replace")
                await self._call("$default", connection_id, connected_at, body)
        except Exception:  # noqa: BLE001 - a broken connection ends like a closed one
            log.info("ws.connection_error", exc_info=True, extra=fields(connection=connection_id))
        finally:
            self.clients.pop(connection_id, None)
            writer.cancel()
            await self._call("$disconnect", connection_id, connected_at)
            log.info("ws.disconnected", extra=fields(connection=connection_id))

    async def _write(self, client: _Client) -> None:
        while True:
            data = await client.queue.get()
            try:
                await client.websocket.send(data.decode() if isinstance(data, bytes) else data)
            except Exception:  # noqa: BLE001 - the reader side sees the close and cleans up
                return
