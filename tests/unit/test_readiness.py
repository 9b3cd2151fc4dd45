"""Issue 10, item 11: readiness probes tolerate a loaded machine. A server whose first
answer takes longer than a second, or that resets the first connections, is waited for
(bounded); one that never answers fails with a clear message."""

from __future__ import annotations

import http.server
import threading
import time

import pytest

from tests.support import free_port, wait_until_answering


class SlowFirst(http.server.BaseHTTPRequestHandler):
    calls = 0

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).calls += 1
        if type(self).calls == 1:
            time.sleep(2.5)  # a first request on a loaded machine (the old probe gave up after 1 s)
        if type(self).calls == 2:
            self.connection.close()  # reset without an answer
            return
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_a_slow_then_reset_server_is_waited_for():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), SlowFirst)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        took = wait_until_answering(url, probe_timeout=1.0, deadline=60)
        assert took >= 1.0 and SlowFirst.calls >= 3
    finally:
        server.shutdown()
        server.server_close()


def test_nothing_listening_fails_clearly_and_a_dead_process_at_once():
    url = f"http://127.0.0.1:{free_port()}/"
    with pytest.raises(AssertionError, match="did not answer within 1 s"):
        wait_until_answering(url, deadline=1.0)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="exited"):
        wait_until_answering(url, alive=lambda: False)
    assert time.monotonic() - started < 5
