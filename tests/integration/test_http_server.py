"""The local HTTP server on raw sockets: keep-alive, body framing, honest `Connection: close`,
concurrency, one log line per request. A small Chalice app, no database."""

from __future__ import annotations

import hashlib
import json
import logging
import socket
import threading
from collections.abc import Iterator

import pytest
from chalice import Chalice
from chalice.config import Config

from chalicelib.local import http_server
from tests.support import free_port


def make_app() -> Chalice:
    app = Chalice(app_name="http-test")
    both = threading.Barrier(2, timeout=60)

    @app.route("/ping")
    def ping() -> dict:
        return {"ok": True}

    @app.route("/echo", methods=["POST", "PUT"])
    def echo() -> dict:
        raw = app.current_request.raw_body or b""
        return {"bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
                "request_id": app.current_request.context.get("requestId")}

    @app.route("/together")
    def together() -> dict:  # answers only if two requests are being served at the same time
        both.wait()
        return {"together": True}

    @app.route("/boom")
    def boom() -> dict:
        raise RuntimeError("a bug")

    return app


@pytest.fixture
def server() -> Iterator[tuple[str, int]]:
    app = make_app()
    config = Config(chalice_stage="local", user_provided_params={"chalice_app": app})
    running = http_server.serve(app, config, "127.0.0.1", free_port())
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield running.server_address
    finally:
        running.shutdown()
        running.server_close()
        thread.join(30)


class Connection:
    """A raw HTTP/1.1 connection that reads responses one by one."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=60)
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> bool:
        chunk = self.sock.recv(65536)
        self.buffer += chunk
        return bool(chunk)

    def response(self) -> tuple[int, dict[str, str], bytes]:
        while b"\r\n\r\n" not in self.buffer:
            assert self._fill(), f"connection closed before a response: {self.buffer!r}"
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers["content-length"])
        while len(self.buffer) < length:
            assert self._fill(), "connection closed in the middle of a body"
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def closed(self) -> bool:
        try:
            return not self.buffer and not self._fill()
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def request(method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
            version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {path} {version}", "Host: localhost"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None and "Transfer-Encoding" not in (headers or {}):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def chunked(*parts: bytes) -> bytes:
    return b"".join(b"%x;ext=1\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\nX-Trailer: t\r\n\r\n"


def test_pipelined_requests_of_every_framing_on_one_connection(server) -> None:
    conn = Connection(server)
    payload = b'{"a": "' + b"x" * 70_000 + b'"}'
    conn.send(request("GET", "/ping")
              + request("POST", "/echo", payload)
              + request("POST", "/echo", chunked(payload[:10], payload[10:]), {"Transfer-Encoding": "chunked"})
              + request("PUT", "/echo", b"")
              + request("HEAD", "/ping")
              + request("GET", "/ping"))
    replies = [conn.response() for _ in range(4)]
    assert [r[0] for r in replies] == [200, 200, 200, 200]
    digest = hashlib.sha256(payload).hexdigest()
    assert json.loads(replies[1][2])["sha256"] == json.loads(replies[2][2])["sha256"] == digest
    assert json.loads(replies[1][2])["bytes"] == len(payload)
    assert json.loads(replies[3][2])["bytes"] == 0
    for _, headers, _ in replies:
        assert headers["connection"] == "keep-alive"
        assert headers["keep-alive"] == f"timeout={http_server.KEEP_ALIVE_SECONDS}"
    # HEAD (no route has it: 405, as API Gateway): a Content-Length but no body, and the
    # next response follows at once
    while b"\r\n\r\n" not in conn.buffer:
        conn._fill()
    head, conn.buffer = conn.buffer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 405") and b"Content-Length: " in head
    assert conn.response()[2] == b'{"ok":true}'
    conn.close()


def test_each_request_gets_its_own_request_id(server) -> None:
    conn = Connection(server)
    ids = []
    for _ in range(3):
        conn.send(request("POST", "/echo", b"{}"))
        ids.append(json.loads(conn.response()[2])["request_id"])
    assert len(set(ids)) == 3 and all(ids)
    conn.close()


def test_expect_100_continue_is_answered_before_the_body(server) -> None:
    conn = Connection(server)
    conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n")
    while b"\r\n\r\n" not in conn.buffer:
        conn._fill()
    interim, conn.buffer = conn.buffer.split(b"\r\n\r\n", 1)
    assert interim.startswith(b"HTTP/1.1 100")
    conn.send(b"abcd")
    assert json.loads(conn.response()[2])["bytes"] == 4
    conn.close()


@pytest.mark.parametrize("raw, why", [
    (request("GET", "/ping", headers={"Connection": "close"}), "the client asked"),
    (request("GET", "/ping", version="HTTP/1.0"), "HTTP/1.0 without keep-alive"),
])
def test_connection_close_is_said_before_closing(server, raw: bytes, why: str) -> None:
    conn = Connection(server)
    conn.send(raw)
    status, headers, body = conn.response()
    assert status == 200 and headers["connection"] == "close", why
    assert conn.closed()
    conn.close()


def test_http_1_0_keep_alive_is_honoured(server) -> None:
    conn = Connection(server)
    for _ in range(2):
        conn.send(request("GET", "/ping", headers={"Connection": "keep-alive"}, version="HTTP/1.0"))
        assert conn.response()[1]["connection"] == "keep-alive"
    conn.close()


@pytest.mark.parametrize("raw", [
    request("POST", "/echo", b"zz\r\nabc\r\n0\r\n\r\n", {"Transfer-Encoding": "chunked"}),
    request("POST", "/echo", b"abc", {"Transfer-Encoding": "gzip"}),
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -3\r\n\r\nabc",
    b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n",
])
def test_a_body_that_cannot_be_framed_is_a_400_and_the_connection_closes(server, raw: bytes) -> None:
    conn = Connection(server)
    conn.send(raw + request("GET", "/ping"))
    status, headers, _ = conn.response()
    assert status == 400 and headers["connection"] == "close"
    assert conn.closed()  # the pipelined GET is not read out of a body the server could not delimit
    conn.close()


def test_a_request_http_server_refuses_gets_connection_close(server) -> None:
    conn = Connection(server)
    conn.send(request("GET", "/ping", headers={f"X-{i}": "1" for i in range(101)}))
    status, headers, _ = conn.response()
    assert status == 431 and headers["connection"] == "close"
    assert conn.closed()
    conn.close()


def test_requests_on_two_connections_are_served_at_the_same_time(server) -> None:
    results: list[int] = []

    def call() -> None:
        conn = Connection(server)
        conn.send(request("GET", "/together"))
        results.append(conn.response()[0])
        conn.close()

    threads = [threading.Thread(target=call) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    assert results == [200, 200]


def test_any_method_reaches_the_gateway(server) -> None:
    conn = Connection(server)
    conn.send(request("TRACE", "/ping"))
    assert conn.response()[0] == 405  # not http.server's 501: the route has no TRACE
    conn.close()


def test_one_log_line_per_request_only_for_what_the_app_did_not_answer(server, caplog) -> None:
    caplog.set_level(logging.INFO, logger="lambdex_local.http")
    conn = Connection(server)
    conn.send(request("GET", "/ping") + request("GET", "/nowhere") + request("GET", "/boom"))
    statuses = [conn.response()[0] for _ in range(3)]
    conn.close()
    assert statuses[:2] == [200, 403] and statuses[2] == 500
    lines = [r for r in caplog.records if r.getMessage() == "http.request"]
    # /ping and /boom were answered by the app (its middleware logs them in the real app)
    assert [(r.fields["path"], r.fields["status"]) for r in lines] == [("/nowhere", 403)]
