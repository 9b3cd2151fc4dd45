"""The local HTTP front of the Chalice app: what API Gateway does in AWS, over HTTP/1.1.

Chalice's own local server (``chalice.local``) answers HTTP/1.1 but reads only
``Content-Length`` bodies, so a chunked body is left on the socket and read as the next
request, and clients that reuse connections (Node >= 19's default keep-alive agent,
``requests.Session``) then lose requests. This server keeps its routing, event shape,
CORS preflights and authorizers (``chalice.local.LocalGateway``) and replaces the HTTP
layer:

- persistent connections: every response says ``Connection: keep-alive`` with
  ``Keep-Alive: timeout=N`` (the idle time after which this server closes; Node's agent
  retires a socket before that), or ``Connection: close`` on every response after which
  it closes (the client asked, HTTP/1.0 without keep-alive, or a request it could not frame);
- request bodies framed by ``Content-Length`` or ``Transfer-Encoding: chunked``
  (``Expect: 100-continue`` is answered by ``http.server``);
- one thread per connection (``ThreadingHTTPServer``), so requests run concurrently;
- no access log of its own for requests the app answered: the app's middleware writes
  the one line per request; this server logs only the requests the app never saw.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from chalice.local import CustomLocalChalice, LocalChalice, LocalGateway, LocalGatewayException

from chalicelib.local.jsonlog import fields

log = logging.getLogger("lambdex_local.http")

KEEP_ALIVE_SECONDS = 30
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class BadFraming(ValueError):
    """The request's body cannot be delimited: the connection cannot be reused."""


class _Gateway(LocalGateway):
    """Chalice's local gateway, with the request id and stage API Gateway puts in the event."""

    def _generate_lambda_event(self, method: str, path: str, headers: Any, body: bytes | None) -> dict:
        event = super()._generate_lambda_event(method, path, headers, body)
        event["requestContext"].update(requestId=str(uuid.uuid4()), stage="local")
        return event

    def _autogen_options_headers(self, lambda_event: dict) -> dict:
        # a CORS preflight: with several allowed origins, name the caller's (API Gateway's
        # mock preflight can only name the first)
        from chalicelib.api import cors

        headers = super()._autogen_options_headers(lambda_event)
        cors.vary_origin(lambda_event["headers"], headers)
        return headers


class ApiRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = KEEP_ALIVE_SECONDS + 5  # idle keep-alive connections are closed after this
    server: LocalHttpServer

    def handle_one_request(self) -> None:
        # http.server dispatches to do_<METHOD> and answers 501 when there is none: send every
        # method to the gateway, which answers 405 for a method no route has (as API Gateway).
        try:
            self.raw_requestline = self.rfile.readline(65537)
            if len(self.raw_requestline) > 65536:
                self.requestline, self.request_version, self.command = "", "", ""
                self.send_error(414)
                return
            if not self.raw_requestline:
                self.close_connection = True
                return
            if not self.parse_request():
                return
            self._handle()
            self.wfile.flush()
        except TimeoutError:
            self.close_connection = True
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def _handle(self) -> None:
        started = time.perf_counter()
        try:
            body = self._read_body()
        except BadFraming as error:
            self.close_connection = True
            self._respond(400, {"Content-Type": "application/json"},
                          b'{"message": "%s"}' % str(error).encode(), started, reached_app=False)
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("transfer-encoding", "connection",
                                                                               "keep-alive", "expect")}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        try:
            response = self.server.gateway.handle_request(method=self.command, path=self.path,
                                                          headers=headers, body=body)
        except LocalGatewayException as error:
            self._respond(error.CODE, dict(error.headers), error.body, started, reached_app=False)
            return
        except Exception:  # the app raised past Chalice's own handling: answer 502 as API Gateway
            log.exception("http.app_failed", extra=fields(method=self.command, path=self.path))
            self._respond(502, {"Content-Type": "application/json"}, b'{"message": "Internal server error"}',
                          started, reached_app=False)
            return
        out: dict[str, Any] = dict(response.get("headers") or {})
        out.update(response.get("multiValueHeaders") or {})
        payload = response.get("body")
        if response.get("isBase64Encoded") and payload is not None:
            payload = base64.b64decode(payload)
        # a preflight Chalice answers itself (as API Gateway does, without calling the Lambda)
        self._respond(response["statusCode"], out, payload, started,
                      reached_app=not (self.command == "OPTIONS" and payload is None))

    def _read_body(self) -> bytes | None:
        encoding = self.headers.get("Transfer-Encoding", "").lower()
        if encoding:
            if [part.strip() for part in encoding.split(",")][-1] != "chunked":
                raise BadFraming(f"unsupported Transfer-Encoding {encoding!r}")
            return self._read_chunked()
        length = self.headers.get("Content-Length")
        if length is None:
            return None
        if not length.strip().isdigit():
            raise BadFraming(f"invalid Content-Length {length!r}")
        size = int(length)
        if size > MAX_BODY_BYTES:
            raise BadFraming(f"body of {size} bytes is over the {MAX_BODY_BYTES}-byte limit")
        body = self.rfile.read(size)
        if len(body) != size:
            raise BadFraming("connection closed in the middle of the body")
        return body if size else None

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1026)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise BadFraming(f"invalid chunk size {size_text[:20]!r}") from None
            if size == 0:
                break
            total += size
            if total > MAX_BODY_BYTES:
                raise BadFraming(f"chunked body over the {MAX_BODY_BYTES}-byte limit")
            chunk = self.rfile.read(size)
            if len(chunk) != size or self.rfile.read(2) != b"\r\n":
                raise BadFraming("malformed chunk")
            parts.append(chunk)
        while True:  # trailer fields, up to the empty line
            line = self.rfile.readline(65537)
            if line in (b"\r\n", b"\n", b""):
                break
        return b"".join(parts)

    def _respond(self, status: int, headers: dict[str, Any], body: bytes | str | None, started: float,
                 reached_app: bool) -> None:
        data = body.encode() if isinstance(body, str) else (body or b"")
        headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "connection",
                                                                          "transfer-encoding", "keep-alive")}
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        if body is not None and not any(k.lower() == "content-type" for k in headers):
            self.send_header("Content-Type", "application/json")
        for name, value in headers.items():
            for item in value if isinstance(value, list) else [value]:
                self.send_header(name, str(item))
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        else:
            self.send_header("Connection", "keep-alive")
            self.send_header("Keep-Alive", f"timeout={KEEP_ALIVE_SECONDS}")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        if not reached_app:
            log.info("http.request", extra=fields(
                method=self.command, path=self.path, status=status, answered_by="gateway",
                ms=round((time.perf_counter() - started) * 1000, 2)))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        self.close_connection = True  # http.server's own errors: bad request line or headers
        super().send_error(code, message, explain)

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        pass  # the app's middleware logs each request it answers; _respond logs the others

    def log_message(self, format: str, *args: Any) -> None:
        log.warning("http.message", extra=fields(message=format % args, client=self.client_address[0]))


class LocalHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], gateway: LocalGateway) -> None:
        self.gateway = gateway
        super().__init__(address, ApiRequestHandler)


def serve(app_obj: Any, config: Any, host: str, port: int) -> LocalHttpServer:
    """A bound (not yet serving) server for ``app_obj``; call ``serve_forever`` in a thread."""
    if not isinstance(app_obj, LocalChalice):
        # as chalice.local.create_local_server does: `app.current_request` becomes thread-local,
        # as concurrent requests need
        CustomLocalChalice.__bases__ = (LocalChalice, app_obj.__class__)
        app_obj.__class__ = CustomLocalChalice
    return LocalHttpServer((host, port), _Gateway(app_obj, config))
